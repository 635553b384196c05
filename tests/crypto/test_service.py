"""The key hierarchy: root → provincial CA → authority signing keys, rotation and withdrawal."""

from __future__ import annotations

from roadcert.crypto import sm, x509
from roadcert.crypto.models import KeyRole, KeyState
from roadcert.runtime import Services
from tests import factories as f


def test_hierarchy_is_created_once(services: Services) -> None:
    root, province = services.keys.ensure_hierarchy()
    again = services.keys.ensure_hierarchy()
    assert again == (root, province)
    root_info, province_info = x509.load(root.certificate), x509.load(province.certificate)
    assert root_info.is_ca and province_info.is_ca
    assert root_info.subject.serial_number == "11100000000019713D"
    assert province_info.subject.organization == "吉林省交通运输厅"
    x509.verify_chain([province.certificate], [root.certificate], province_info.not_before)


def test_signing_key_per_authority_with_its_name(services: Services) -> None:
    first, second = f.authority(services), f.authority(services)
    key1, key2 = services.keys.signing_key(first), services.keys.signing_key(second)
    assert key1.id != key2.id
    assert services.keys.signing_key(first).id == key1.id
    info = x509.load(key1.certificate)
    assert info.subject.serial_number == first.uscc
    assert not info.is_ca
    assert key1.key_id == info.key_id.hex()


def test_rotation_keeps_old_ecerts_verifiable(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth)
    (old,) = f.licence(services, auth, op).effect.issued
    old_key = services.keys.repo.get(old.signing_key_id)
    assert old_key is not None

    new_key = services.keys.rotate(auth)
    (new,) = f.licence(services, auth, op).effect.issued
    assert new.signing_key_id == new_key.id != old_key.id
    assert old_key.state == KeyState.RETIRED
    trusted = {k.id for k in services.keys.trusted()}
    assert {old_key.id, new_key.id} <= trusted
    for ecert in (old, new):
        key = services.keys.repo.get(ecert.signing_key_id)
        assert key is not None
        chain = services.keys.chain(key)
        x509.verify_chain(chain[:-1], chain[-1:], ecert.issued_at)
        assert sm.verify(x509.load(key.certificate).public_key, ecert.signed_data, ecert.signature)

    services.keys.withdraw(old_key.id)
    assert old_key.id not in {k.id for k in services.keys.trusted()}
    assert {KeyRole(k.role) for k in services.keys.trusted()} == {
        KeyRole.ROOT,
        KeyRole.PROVINCE,
        KeyRole.SIGNING,
    }


def test_short_lived_keys_do_not_rotate_on_every_use(services: Services) -> None:
    services.keys.settings.signing_key_days = 1
    auth = f.authority(services)
    key = services.keys.signing_key(auth)
    assert services.keys.signing_key(auth).id == key.id
