"""Sharing rules on both databases: show codes made, checked once, refused; grants; ownership.

Real e-certs, real SM2 signatures by the authority's key, the real ``show_code_use`` table.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from roadcert.accounts.models import Role
from roadcert.accounts.service import digest
from roadcert.audit.service import ecert_subject
from roadcert.certificates.models import EcertStatus, SourceKind
from roadcert.certificates.service import Target
from roadcert.crypto import cose, sm
from roadcert.db import utcnow
from roadcert.errors import BadInput, Conflict, Forbidden
from roadcert.runtime import Services
from roadcert.sharing import showing
from roadcert.sharing.models import ShareGrant, ShowCodeUse
from roadcert.sharing.service import SharingService
from roadcert.sharing.showing import ShowCodeRefused
from roadcert.verification import codes
from tests.sharing.conftest import account, held


def _events(svc: Services, serial: str, tag: str) -> list[str]:
    return [e.actor for e in svc.audit.about([ecert_subject(serial)], [tag])]


# -- show codes --------------------------------------------------------------------------------


def test_a_show_code_verifies_once_then_is_refused_as_reused(services: Services) -> None:
    h = held(services)
    sharing = SharingService(services)
    code = sharing.make_show_code(h.principal, h.ecert.identifier)
    assert code.text.startswith(f"HTTPS://{services.keys.settings.verify_host.upper()}/S/")
    assert (code.expires_at - code.issued_at) == showing.TTL

    first = sharing.check_show_code(code.text, "李四（执法人员）")
    assert first.ok, first.to_dict()
    assert first.ecert is not None and first.ecert.id == h.ecert.id
    assert [p.result for _, _, p in first.parts] == [
        "VALID",
        "TRUSTED",
        "FRESH",
        "FIRST_USE",
        "VALID",
    ]
    assert services.session.scalar(select(func.count()).select_from(ShowCodeUse)) == 1

    again = sharing.check_show_code(code.text, "王五（执法人员）")
    assert not again.ok
    assert again.refusal is not None and again.refusal.code == "show_code.reused"
    assert again.headline == "该亮证码已被核验过，不能重复使用（可能是截图或翻拍）"
    assert again.signature.ok and again.freshness.ok and not again.single_use.ok
    # The first use is kept; the refused second one does not disturb the transaction.
    use = services.session.scalars(select(ShowCodeUse)).one()
    assert use.used_by == "李四（执法人员）"
    assert _events(services, h.ecert.serial, "sharing:show_code:verified") == ["李四（执法人员）"]
    assert _events(services, h.ecert.serial, "sharing:show_code:refused") == ["王五（执法人员）"]


def test_two_codes_of_one_showing_each_verify_once(services: Services) -> None:
    h = held(services)
    sharing = SharingService(services)
    first = sharing.make_show_code(h.principal, h.ecert.identifier)
    second = sharing.make_show_code(h.principal, h.ecert.identifier)
    assert first.text != second.text  # a fresh nonce every time
    assert sharing.check_show_code(first.text, "公众").ok
    assert sharing.check_show_code(second.text, "公众").ok


def test_an_expired_code_is_refused(services: Services) -> None:
    h = held(services)
    made_at = utcnow() - timedelta(seconds=51)  # 45 s life + 5 s skew, and a second more
    old = SharingService(services, clock=lambda: made_at).make_show_code(
        h.principal, h.ecert.identifier
    )
    result = SharingService(services).check_show_code(old.text, "公众")
    assert not result.ok
    assert result.refusal is not None and result.refusal.code == "show_code.expired"
    assert result.headline == "亮证码已过期，请持证人刷新后重新出示"
    assert result.signature.ok and not result.freshness.ok
    assert result.single_use.result == "NOT_CHECKED"
    # Within the skew it still passes.
    recent = utcnow() - timedelta(seconds=48)
    fresh = SharingService(services, clock=lambda: recent).make_show_code(
        h.principal, h.ecert.identifier
    )
    assert SharingService(services).check_show_code(fresh.text, "公众").ok


def _flip(message: bytes, at: int) -> bytes:
    changed = bytearray(message)
    changed[at] ^= 0x01
    return bytes(changed)


def test_a_tampered_code_is_refused_as_forged(services: Services) -> None:
    h = held(services)
    sharing = SharingService(services)
    host = services.keys.settings.verify_host
    message = showing.cose_of(sharing.make_show_code(h.principal, h.ecert.identifier).text)
    _, body = showing.open_code(message)
    nonce_at = message.index(body[showing.ShowClaim.NONCE])  # a signed claim, not the signature
    for tampered in (_flip(message, nonce_at), _flip(message, len(message) - 1)):
        result = sharing.check_show_code(showing.text_of(tampered, host), "公众")
        assert not result.ok
        assert result.refusal is not None and result.refusal.code == "show_code.forged"
        assert result.headline == "亮证码签名无效，可能是伪造或被篡改"
        assert result.signature.result == "INVALID"
        assert result.claims is None  # nothing of an unsigned code is believed
    assert services.session.scalar(select(func.count()).select_from(ShowCodeUse)) == 0


def test_a_code_signed_by_a_key_outside_the_trust_list_is_forged(services: Services) -> None:
    h = held(services)
    sharing = SharingService(services)
    genuine = showing.cose_of(sharing.make_show_code(h.principal, h.ecert.identifier).text)
    trusted_kid = cose.decode_sign1(genuine, max_size=1000).kid
    assert trusted_kid is not None
    outsider = sm.generate_private_key()
    now = utcnow().replace(microsecond=0)
    claims = showing.ShowClaims(
        h.ecert.identifier, h.ecert.version, now, now + showing.TTL, b"\x07" * 16
    )
    host = services.keys.settings.verify_host
    for kid, result_name in ((trusted_kid, "INVALID"), (b"outsider", "UNVERIFIED")):
        forged = showing.sign_show_code(claims, kid, lambda data: sm.sign(outsider, data))
        result = sharing.check_show_code(showing.text_of(forged, host), "公众")
        assert result.refusal is not None and result.refusal.code == "show_code.forged"
        assert result.signature.result == result_name
        assert not result.issuer.ok or result_name == "INVALID"


def test_a_withdrawn_key_is_refused(services: Services) -> None:
    h = held(services)
    sharing = SharingService(services)
    text = sharing.make_show_code(h.principal, h.ecert.identifier).text
    key = services.keys.repo.by_key_id(
        cose.decode_sign1(showing.cose_of(text), max_size=1000).kid.hex()  # type: ignore[union-attr]
    )
    assert key is not None
    services.keys.withdraw(key.id)
    result = sharing.check_show_code(text, "公众")
    assert result.refusal is not None and result.refusal.code == "show_code.withdrawn"
    assert result.signature.ok and result.issuer.result == "WITHDRAWN"


def test_an_ecert_code_is_not_a_show_code(services: Services) -> None:
    h = held(services)
    text = codes.text_for(services, h.ecert, services.keys.settings.verify_host)
    with pytest.raises(ShowCodeRefused) as refused:
        SharingService(services).check_show_code(text, "公众")
    assert refused.value.message == "不是本系统的亮证码"


def test_the_certificate_status_is_checked_last(services: Services) -> None:
    h = held(services)
    sharing = SharingService(services)
    text = sharing.make_show_code(h.principal, h.ecert.identifier).text
    services.issuance.revoke(
        Target(SourceKind.PRACTITIONER, h.person.id, h.ecert.type_code), "注销"
    )
    result = sharing.check_show_code(text, "公众")
    assert not result.ok and result.refusal is None
    assert result.single_use.ok
    assert result.status.result == "REVOKED"
    assert result.headline == "证照状态：无效（已注销）"
    # And no new code is made for a certificate that is no longer valid.
    with pytest.raises(Conflict):
        sharing.make_show_code(h.principal, h.ecert.identifier)


def test_only_the_holder_makes_show_codes(services: Services) -> None:
    h = held(services)
    other = held(services, name="李四")
    sharing = SharingService(services)
    for principal in (
        other.principal,
        account(services, Role.OFFICER),
        account(services, Role.ADMIN),
    ):
        with pytest.raises(Forbidden):
            sharing.make_show_code(principal, h.ecert.identifier)
    # An identifier that does not exist is refused with the same words. (Its last character
    # is changed to one it does not already have: the check character is sometimes "0".)
    last = "1" if h.ecert.identifier.endswith("0") else "0"
    with pytest.raises(Forbidden) as refused:
        sharing.make_show_code(h.principal, h.ecert.identifier[:-1] + last)
    assert "不属于当前用户" in refused.value.message


# -- grants ------------------------------------------------------------------------------------


def test_a_grant_gives_access_until_withdrawn(services: Services) -> None:
    h = held(services)
    sharing = SharingService(services)
    grant, token = sharing.create_grant(
        h.principal, h.ecert.identifier, " 长春 某某物流 ", "招聘核实", 24, "10.1.2.3"
    )
    assert grant.grantee == "长春 某某物流"
    assert grant.token_sm3 == digest(token) and token not in grant.token_sm3
    assert grant.expires_at - grant.created_at == timedelta(hours=24)

    for _ in range(2):
        access = sharing.open_grant(token, "10.9.8.7")
        assert access.live and access.ecert is not None and access.ecert.id == h.ecert.id
    (row,) = sharing.grants(h.principal)
    assert (row["state_label"], row["accesses"], row["grantee"]) == ("有效", 2, "长春 某某物流")
    assert _events(services, h.ecert.serial, "sharing:grant:accessed") == ["长春 某某物流"] * 2

    sharing.withdraw(h.principal, grant.id)
    refused = sharing.open_grant(token)
    assert refused.state == "withdrawn" and not refused.live
    assert sharing.grants(h.principal)[0]["state_label"] == "已撤回"
    assert _events(services, h.ecert.serial, "sharing:grant:refused") == ["长春 某某物流"]
    with pytest.raises(Conflict):
        sharing.withdraw(h.principal, grant.id)


def test_a_grant_expires(services: Services) -> None:
    h = held(services)
    start = utcnow()
    _, token = SharingService(services, clock=lambda: start).create_grant(
        h.principal, h.ecert.identifier, "某某公司", "", 1
    )
    later = SharingService(services, clock=lambda: start + timedelta(hours=1, seconds=1))
    assert later.open_grant(token).state == "expired"
    assert later.grants(h.principal)[0]["state_label"] == "已过期"
    assert (
        SharingService(services, clock=lambda: start + timedelta(minutes=59)).open_grant(token).live
    )


def test_a_grant_follows_the_certificate_to_its_new_version(services: Services) -> None:
    h = held(services)
    sharing = SharingService(services)
    _, token = sharing.create_grant(h.principal, h.ecert.identifier, "某某公司", "", 24)
    (renewed,) = services.business.reissue_qualification(h.person.id, "02001").effect.issued
    access = sharing.open_grant(token)
    assert access.live and access.ecert is not None
    assert access.ecert.id == renewed.id and renewed.version == h.ecert.version + 1


def test_an_unknown_link_is_refused_and_recorded(services: Services) -> None:
    sharing = SharingService(services)
    assert sharing.open_grant("no-such-token").state == "unknown"
    assert sharing.open_grant("x" * 500).state == "unknown"
    refused = services.audit.repo.latest("sharing:grant:refused", limit=5)
    assert [e.details.get("reason") for e in refused][:2] == ["unknown", "unknown"]


@pytest.mark.parametrize(
    ("grantee", "purpose", "hours", "field"),
    [
        ("  ", "", 24, "grantee"),
        ("某" * 101, "", 24, "grantee"),
        ("某某公司", "用" * 201, 24, "purpose"),
        ("某某公司", "", 0, "hours"),
        ("某某公司", "", 721, "hours"),
    ],
)
def test_grant_input_is_checked(
    services: Services, grantee: str, purpose: str, hours: int, field: str
) -> None:
    h = held(services)
    with pytest.raises(BadInput) as refused:
        SharingService(services).create_grant(
            h.principal, h.ecert.identifier, grantee, purpose, hours
        )
    assert refused.value.field == field
    assert services.session.scalar(select(func.count()).select_from(ShareGrant)) == 0


def test_only_the_holder_shares_and_withdraws(services: Services) -> None:
    h = held(services)
    other = held(services, name="李四")
    sharing = SharingService(services)
    with pytest.raises(Forbidden):
        sharing.create_grant(other.principal, h.ecert.identifier, "某某公司", "", 24)
    grant, _ = sharing.create_grant(h.principal, h.ecert.identifier, "某某公司", "", 24)
    for principal in (other.principal, account(services, Role.OFFICER)):
        with pytest.raises(Forbidden):
            sharing.withdraw(principal, grant.id)
    assert sharing.grants(other.principal) == []
    assert sharing.state_of(grant) == "live"
    assert h.ecert.status == EcertStatus.VALID
