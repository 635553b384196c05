"""The signed trust list: contents, verification to the root, rotation, withdrawal, API, CLI."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest
from typer.testing import CliRunner

from roadcert.catalog.types import MOT_USCC
from roadcert.certificates import status
from roadcert.cli import app as cli_app
from roadcert.config import get_settings
from roadcert.crypto import cbor, cose, sm, x509
from roadcert.crypto.models import KeyRole, KeyState
from roadcert.crypto.trustlist import (
    TRUST_LIST_TYP,
    TrustList,
    TrustListError,
    build_trust_list,
    parse_trust_list,
    verify_trust_list,
)
from roadcert.errors import ConfigurationError
from roadcert.kit import uscc
from roadcert.runtime import Runtime, Services
from tests import factories as f
from tests.clients import Client, new_client


def _now() -> datetime:
    # The hierarchy is created at the real time, so the list is too.
    return datetime.now(UTC)


def _build(svc: Services, now: datetime | None = None) -> bytes:
    now = now or _now()
    return build_trust_list(svc.session, svc.keys, now, now + timedelta(days=1))


def _root(svc: Services) -> bytes:
    root, _ = svc.keys.ensure_hierarchy()
    return root.certificate


def _other_root() -> bytes:
    key = sm.generate_private_key()
    now = _now()
    name = x509.Name(common_name="另一个根CA", organization="别处")
    return x509.make_root(key, name, now - timedelta(days=1), now + timedelta(days=365))


def _resigned(svc: Services, token: bytes, change: Any) -> bytes:
    """The list with its payload changed by ``change`` and signed again by the provincial CA."""
    message = cose.decode_sign1(token, max_size=1 << 23)
    body = cbor.decode(message.payload)
    change(body)
    _, province = svc.keys.ensure_hierarchy()
    return cose.sign1(
        cbor.canonical(body),
        svc.keys.signer(province),
        kid=bytes.fromhex(province.key_id),
        typ=TRUST_LIST_TYP,
    )


def test_the_list_holds_root_ca_and_signing_keys(services: Services) -> None:
    authority = f.authority(services)
    signing = services.keys.signing_key(authority)
    root, province = services.keys.ensure_hierarchy()
    now = _now()
    token = _build(services, now)

    parsed = parse_trust_list(token)
    assert parsed.issued_at == now.replace(microsecond=0)
    assert parsed.next_update == (now + timedelta(days=1)).replace(microsecond=0)
    assert parsed.province_code == "220000"
    assert parsed.signer_kid == bytes.fromhex(province.key_id)
    assert [e.role for e in parsed.entries[:2]] == [KeyRole.ROOT, KeyRole.PROVINCE]
    entry = parsed.by_kid(bytes.fromhex(signing.key_id))
    assert entry is not None
    assert entry.role == KeyRole.SIGNING and entry.state == KeyState.ACTIVE
    assert (entry.authority_uscc, entry.authority_name) == (authority.uscc, authority.name)
    assert entry.certificate == signing.certificate
    assert entry.not_before == signing.not_before.replace(microsecond=0)
    assert entry.retired_at is None
    assert sm.public_key_xy(entry.public_key) == sm.public_key_xy(
        x509.load(signing.certificate).public_key
    )
    root_entry = parsed.by_kid(bytes.fromhex(root.key_id))
    assert root_entry is not None and root_entry.authority_uscc == MOT_USCC
    assert parsed.by_kid(b"\x00" * 8) is None
    assert verify_trust_list(token, root.certificate, now) == parsed


def test_the_format_reads_with_another_cbor_implementation(services: Services) -> None:
    services.keys.signing_key(f.authority(services))
    message = cbor2.loads(_build(services))
    assert message.tag == 18
    protected, unprotected, payload, signature = message.value
    assert cbor2.loads(protected) == {1: cose.ALG_SM2_SM3, 16: TRUST_LIST_TYP}
    assert set(unprotected) == {4} and len(unprotected[4]) == 8
    assert len(signature) == 64
    body = cbor2.loads(payload)
    assert set(body) == {"version", "province", "issued_at", "next_update", "entries"}
    assert body["version"] == 1
    for entry in body["entries"]:
        assert set(entry) == {
            "kid",
            "role",
            "state",
            "authority_uscc",
            "authority_name",
            "not_before",
            "not_after",
            "retired_at",
            "certificate",
        }
        assert entry["kid"] == sm.sm3(entry["certificate"])[:8]


def test_it_verifies_to_its_root_and_not_to_another(services: Services) -> None:
    services.keys.signing_key(f.authority(services))
    token = _build(services)
    now = _now()
    verify_trust_list(token, _root(services), now)
    with pytest.raises(TrustListError) as refused:
        verify_trust_list(token, _other_root(), now)
    assert refused.value.code == "trust_list.chain"
    assert refused.value.details["chain"] == "chain.untrusted"
    # The CA's certificate is checked at the given time.
    with pytest.raises(TrustListError) as late:
        verify_trust_list(token, _root(services), now + timedelta(days=365 * 30))
    assert late.value.code == "trust_list.chain"


def test_tampering_is_detected(services: Services) -> None:
    services.keys.signing_key(f.authority(services))
    token = _build(services)
    root, now = _root(services), _now()
    message = cose.decode_sign1(token, max_size=1 << 23)
    body = cbor.decode(message.payload)
    body["next_update"] += 86400 * 365
    tampered = b"\xd2" + cbor.canonical(
        [message.protected_bytes, message.unprotected, cbor.canonical(body), message.signature]
    )
    with pytest.raises(TrustListError) as refused:
        verify_trust_list(tampered, root, now)
    assert refused.value.code == "trust_list.signature"
    parse_trust_list(tampered)  # reads, but is not to be trusted


def test_a_list_signed_by_an_authority_key_is_refused(services: Services) -> None:
    authority = f.authority(services)
    signing = services.keys.signing_key(authority)
    body = cose.decode_sign1(_build(services), max_size=1 << 23).payload
    forged = cose.sign1(
        body, services.keys.signer(signing), kid=bytes.fromhex(signing.key_id), typ=TRUST_LIST_TYP
    )
    with pytest.raises(TrustListError) as refused:
        verify_trust_list(forged, _root(services), _now())
    assert refused.value.code == "trust_list.signer_unknown"


def test_a_signing_certificate_from_elsewhere_is_refused(services: Services) -> None:
    services.keys.signing_key(f.authority(services))
    stranger_key = sm.generate_private_key()
    now = _now()
    stranger_root = x509.make_root(
        stranger_key, x509.Name(common_name="别处CA"), now - timedelta(days=1), now
    )
    stranger = x509.make_signing(
        sm.generate_private_key().public_key(),
        x509.Name(common_name="冒充的签名密钥"),
        stranger_key,
        stranger_root,
        now - timedelta(hours=1),
        now + timedelta(days=30),
    )

    def smuggle(body: dict[str, Any]) -> None:
        body["entries"].append(
            body["entries"][-1] | {"kid": sm.sm3(stranger)[:8], "certificate": stranger}
        )

    with pytest.raises(TrustListError) as refused:
        verify_trust_list(_resigned(services, _build(services), smuggle), _root(services), now)
    assert refused.value.code == "trust_list.entry_chain"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda b: b.update(version=2), "trust_list.malformed"),
        (lambda b: b.pop("entries"), "trust_list.malformed"),
        (lambda b: b.update(issued_at="today"), "trust_list.malformed"),
        (lambda b: b["entries"][0].update(kid=b"\x00" * 8), "trust_list.malformed"),
        (lambda b: b["entries"][0].update(role="emperor"), "trust_list.malformed"),
        (lambda b: b["entries"][0].update(state="withdrawn"), "trust_list.malformed"),
        (lambda b: b["entries"][0].update(certificate=b"not DER"), "trust_list.malformed"),
        (lambda b: b["entries"][0].update(authority_name=7), "trust_list.malformed"),
    ],
)
def test_malformed_lists_are_refused(services: Services, change: Any, code: str) -> None:
    services.keys.signing_key(f.authority(services))
    with pytest.raises(TrustListError) as refused:
        parse_trust_list(_resigned(services, _build(services), change))
    assert refused.value.code == code


def test_other_tokens_are_not_trust_lists(services: Services) -> None:
    authority = f.authority(services)
    services.keys.ensure_hierarchy()
    token = status.build_status_list(services.session, authority, services.keys, _now(), 60)
    for data, code in [
        (token, "trust_list.type"),
        (b"", "trust_list.malformed"),
        (b"\xd2\x83\x40\xa0\x40", "trust_list.malformed"),
        (b"\xd2\x84\x41\xa0\xa0\x40\x40", "trust_list.alg"),
        (bytes((1 << 23) + 1), "trust_list.too_large"),
    ]:
        with pytest.raises(TrustListError) as refused:
            parse_trust_list(data)
        assert refused.value.code == code, data[:10]


def test_rotation_and_withdrawal_show_in_the_next_list(services: Services) -> None:
    authority = f.authority(services)
    old = services.keys.signing_key(authority)
    first = parse_trust_list(_build(services))
    assert first.by_kid(bytes.fromhex(old.key_id)) is not None

    new = services.keys.rotate(authority)
    second = verify_trust_list(_build(services), _root(services), _now())
    old_entry = second.by_kid(bytes.fromhex(old.key_id))
    new_entry = second.by_kid(bytes.fromhex(new.key_id))
    assert first.by_kid(bytes.fromhex(new.key_id)) is None
    assert new_entry is not None and new_entry.state == KeyState.ACTIVE
    # A retired key stays, so e-certs it signed keep verifying.
    assert old_entry is not None and old_entry.state == KeyState.RETIRED
    assert old_entry.retired_at is not None

    services.keys.withdraw(old.id)
    third = verify_trust_list(_build(services), _root(services), _now())
    assert third.by_kid(bytes.fromhex(old.key_id)) is None
    assert third.by_kid(bytes.fromhex(new.key_id)) is not None
    assert len(third.entries) == len(second.entries) - 1


def test_staleness(services: Services) -> None:
    services.keys.ensure_hierarchy()
    now = _now()
    parsed = parse_trust_list(_build(services, now))
    assert isinstance(parsed, TrustList)
    assert not parsed.is_stale(now + timedelta(hours=23))
    assert parsed.is_stale(now + timedelta(days=1, seconds=1))
    with pytest.raises(ValueError):
        build_trust_list(services.session, services.keys, now, now)


def test_no_list_without_a_key_hierarchy(services: Services) -> None:
    # Each test starts from the migrated, empty database: no keys yet, and none are made here.
    with pytest.raises(ConfigurationError) as refused:
        _build(services)
    assert refused.value.code == "keys.none"
    with pytest.raises(ConfigurationError):
        status.build_status_list(services.session, f.authority(services), services.keys, _now(), 9)
    assert services.keys.all() == []


# -- API and CLI ---------------------------------------------------------------------------------


@pytest.fixture
def client(runtime: Runtime) -> Client:
    return new_client(runtime)


def test_api_serves_the_trust_list_and_the_pem(client: Client, services: Services) -> None:
    authority = f.authority(services)
    signing = services.keys.signing_key(authority)
    services.session.commit()

    response = client.get("/api/trust-list")
    assert response.status_code == 200
    assert response.headers["content-type"] == 'application/cose; cose-type="cose-sign1"'
    pem = client.get("/api/keys/trusted.pem")
    assert pem.status_code == 200
    root_der = x509.from_pem(pem.text)[0]
    parsed = verify_trust_list(response.content, root_der, _now())
    assert parsed.by_kid(bytes.fromhex(signing.key_id)) is not None
    ttl = services.keys.settings.trust_list_ttl
    assert parsed.next_update - parsed.issued_at == timedelta(seconds=ttl)
    assert len(x509.from_pem(pem.text)) == len(parsed.entries)
    assert client.get("/api/keys").status_code == 200


def test_cli_exports_the_trust_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "ROADCERT_ENV": "test",
        "ROADCERT_DATA_DIR": str(tmp_path),
        "ROADCERT_DATABASE_URL": f"sqlite:///{tmp_path / 'roadcert.db'}",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        out = tmp_path / "trust.cose"
        refused = runner.invoke(cli_app, ["migrate"])
        assert refused.exit_code == 0
        refused = runner.invoke(cli_app, ["trust-list", "export", "-o", str(out)])
        assert refused.exit_code == 1 and "keys.none" in refused.stderr

        assert runner.invoke(cli_app, ["init"]).exit_code == 0
        authority = tmp_path / "authority.json"
        code = uscc.generate(random.Random(4), "220100", "1", "1")
        authority.write_text(
            json.dumps(
                {
                    "name": "长春市交通运输局",
                    "uscc": code,
                    "region_code": "220100",
                    "number_prefix": "长",
                    "ecert_enabled": True,
                },
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        assert runner.invoke(cli_app, ["ledger", "add", "authority", str(authority)]).exit_code == 0
        assert runner.invoke(cli_app, ["keys", "rotate", code]).exit_code == 0

        result = runner.invoke(cli_app, ["trust-list", "export", "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert len(result.stdout.strip().splitlines()) == 1
        assert "信任列表已写入" in result.stdout and "签名 1" in result.stdout
        pem = runner.invoke(cli_app, ["keys", "export"]).stdout
        parsed = verify_trust_list(out.read_bytes(), x509.from_pem(pem)[0], _now())
        assert [e.role for e in parsed.entries] == [
            KeyRole.ROOT,
            KeyRole.PROVINCE,
            KeyRole.SIGNING,
        ]
        assert parsed.entries[2].authority_uscc == code

        unwritable = runner.invoke(
            cli_app, ["trust-list", "export", "-o", str(tmp_path / "no" / "such" / "dir")]
        )
        assert unwritable.exit_code == 2 and "output.unwritable" in unwritable.stderr
    finally:
        get_settings.cache_clear()
