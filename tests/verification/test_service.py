"""Each verification result, proved with real parts: e-certs issued through the services, codes
signed by the authorities' SM2 keys, QR pictures encoded and decoded back with zxing-cpp, faces
rendered by ``render/service.py``, on SQLite and PostgreSQL.

Online the trust and the status come from the database (``OnlineSource``); offline from the
exported trust list, root and status lists only (``load_offline``), and the offline step is
watched to send no SQL at all.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text as sql

from roadcert.certificates.status import (
    ListStatus,
    parse_status_list,
    sign_status_list,
    status_list_uri,
)
from roadcert.crypto import cbor, sm, x509
from roadcert.crypto.trustlist import TrustListError
from roadcert.errors import BadInput, RoadcertError
from roadcert.kit import ecert_id, uscc
from roadcert.registry.schemas import LicenceChange, OperatorChange
from roadcert.render import qr
from roadcert.render.faces import extract_attachment
from roadcert.render.service import render
from roadcert.runtime import Runtime, Services
from roadcert.verification import inputs, payload
from roadcert.verification.service import (
    SignerInfo,
    StatusResult,
    Verification,
    verify_cose,
)
from roadcert.verification.sources import OfflineSource, load_offline
from tests import factories as f
from tests.verification.conftest import (
    KINDS,
    Bundle,
    Issued,
    assert_all_ok,
    bundle,
    code,
    issue,
    no_database,
    now,
    offline,
    online,
    pdf_without_ecert,
    photo_of,
    results,
    text,
)

# -- helpers ---------------------------------------------------------------------------------------


def _tampered(cose: bytes, change: Callable[[Any], Any]) -> bytes:
    """The code with its claims changed and re-encoded, keeping the original signature."""
    envelope = payload.open_envelope(cose)
    claims = cbor.decode(envelope.payload)
    new_payload = change(claims)
    body = new_payload if isinstance(new_payload, bytes) else cbor.canonical(claims)
    message = [envelope.protected, {4: envelope.kid}, body, envelope.signature]
    return b"\xd2" + cbor.canonical(message)


class _Outsider:
    """An SM2 key with a self-signed certificate, outside the province's key hierarchy."""

    def __init__(self) -> None:
        self.key = sm.generate_private_key()
        moment = now()
        self.certificate = x509.make_root(
            self.key,
            x509.Name(common_name="伪造的签名密钥", organization="别处"),
            moment - timedelta(days=1),
            moment + timedelta(days=30),
        )
        self.kid = x509.load(self.certificate).key_id

    def sign(self, data: bytes) -> bytes:
        return sm.sign(self.key, data)


def _resign(cose: bytes, signer: Callable[[bytes], bytes], kid: bytes) -> bytes:
    """The same claims signed again by ``signer`` under ``kid``."""
    envelope = payload.open_envelope(cose)
    to_sign = cbor.canonical(["Signature1", envelope.protected, b"", envelope.payload])
    signature = sm.der_to_raw(signer(to_sign))
    return b"\xd2" + cbor.canonical([envelope.protected, {4: kid}, envelope.payload, signature])


def _claims_must_not_be_read(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_: object) -> None:
        raise AssertionError("claims were read before the signature was accepted")

    monkeypatch.setattr(payload, "decode_claims", refuse)


def _not_read(verification: Verification) -> None:
    assert verification.claims is None
    assert "face" not in verification.to_dict()
    assert not verification.ok
    for name in ("status", "validity", "identifier"):
        assert not getattr(verification, name).ok


def load_offline_from(data: Bundle, **changes: Any) -> OfflineSource:
    """``load_offline`` on the bundle with some of its parts replaced."""
    merged = dataclasses.replace(data, **changes)
    return load_offline(merged.trust, merged.root_pem, merged.status, merged.at)


def _at_noon(day: Any) -> datetime:
    """Noon in China on ``day``, as an aware UTC time."""
    return datetime.combine(day, time(4, 0), tzinfo=UTC)


# -- online: every result --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_fresh_code_all_parts_ok_with_its_face_data(services: Services, kind: str) -> None:
    issued = issue(services, kind)
    result = online(services, code(services, issued.ecert))
    assert_all_ok(result, issued.ecert)
    data = result.to_dict()
    assert data["mode"] == "online"
    assert data["issuer"]["authority"] == issued.authority.name
    assert data["issuer"]["authority_uscc"] == issued.authority.uscc
    assert data["identifier"]["value"] == issued.ecert.identifier
    items = data["face"]["items"]
    if kind == "008":
        assert items == {"business_scope": issued.ecert.face["business_scope"]}
    elif kind == "013":
        assert items["plate"] == issued.ecert.face["plate"]
        assert "（黄色）" in items["plate"]
    else:
        assert items == {"categories": ["02001"], "driving_class": "A2"}


def _superseded(svc: Services) -> tuple[Issued, bytes, bytes]:
    issued = issue(svc)
    old_code = code(svc, issued.ecert)
    change = svc.business.change_licence(
        issued.record_id, LicenceChange(business_scopes=["02101", "02201"])
    )
    (new,) = change.effect.issued
    assert new.version == issued.ecert.version + 1
    return issued, old_code, code(svc, new)


def test_replayed_old_version_is_superseded_and_the_new_one_valid(services: Services) -> None:
    _, old_code, new_code = _superseded(services)
    replayed = online(services, old_code)
    assert results(replayed) == {
        "signature": "VALID",
        "issuer": "TRUSTED",
        "status": "SUPERSEDED",
        "validity": "VALID",
        "identifier": "VALID",
    }
    assert not replayed.ok
    assert "已换发" in replayed.status.message
    new = online(services, new_code)
    assert_all_ok(new)
    assert new.claims is not None and replayed.claims is not None
    assert new.claims.identifier != replayed.claims.identifier
    assert new.claims.status_index != replayed.claims.status_index


def test_cancelled_is_revoked(services: Services) -> None:
    issued = issue(services)
    cose = code(services, issued.ecert)
    services.business.cancel_licence(issued.record_id)
    result = online(services, cose)
    assert result.status.result == StatusResult.REVOKED
    assert "已注销" in result.status.message
    assert results(result)["signature"] == "VALID" and not result.ok


@pytest.mark.parametrize("kind", ["008", "013"])
def test_operator_stopping_business_suspends(services: Services, kind: str) -> None:
    issued = issue(services, kind)
    cose = code(services, issued.ecert)
    assert issued.operator is not None
    change = services.business.change_operator(issued.operator.id, OperatorChange(status="2"))
    assert issued.ecert in change.effect.suspended
    result = online(services, cose)
    assert result.status.result == StatusResult.SUSPENDED
    assert not result.status.ok and result.signature.ok and result.identifier.ok


def test_a_clock_past_valid_until_expires(services: Services, runtime: Runtime) -> None:
    today = services.issuance.today()
    issued = issue(services, valid_until=today + timedelta(days=2))
    cose = code(services, issued.ecert)
    assert_all_ok(online(services, cose))

    later = _at_noon(issued.ecert.valid_until + timedelta(days=1))
    runtime.clock = lambda: later
    result = online(runtime.services(services.session), cose, later)
    assert result.validity.result == "EXPIRED"
    assert result.validity.code == "validity.expired"
    assert result.status.result == StatusResult.EXPIRED  # the database agrees, as of that day
    assert result.signature.ok and result.issuer.ok and not result.ok

    # The last day is still valid (China days), and before valid_from is not yet valid.
    last_day = online(services, cose, _at_noon(issued.ecert.valid_until))
    assert last_day.validity.result == "VALID"
    early = online(services, cose, _at_noon(issued.ecert.valid_from - timedelta(days=1)))
    assert early.validity.result == "NOT_YET_VALID"
    assert early.validity.code == "validity.not_yet"


def test_changed_claims_without_resigning_are_invalid_and_not_read(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = issue(services)
    cose = code(services, issued.ecert)
    name_changed = _tampered(cose, lambda claims: claims.update({3: "冒名顶替物流有限公司"}))
    date_changed = _tampered(cose, lambda claims: claims.update({6: 20991231}))
    # Not even a claim map: it would be payload.claims, were it read.
    not_a_map = _tampered(cose, lambda _: cbor.canonical(["垃圾"]))
    _claims_must_not_be_read(monkeypatch)
    for forged in (name_changed, date_changed, not_a_map):
        result = online(services, forged)
        assert result.signature.result == "INVALID"
        assert result.signature.code == "signature.invalid"
        # The key is known and trusted; it simply did not sign this.
        assert result.issuer.result == "TRUSTED"
        assert result.status.result == StatusResult.UNKNOWN
        _not_read(result)


def test_resigned_with_a_key_outside_the_hierarchy_is_untrusted(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = issue(services)
    cose = code(services, issued.ecert)
    outsider = _Outsider()
    own_kid = _resign(cose, outsider.sign, outsider.kid)
    # The forger keeps the genuine kid: the genuine key does not verify the signature.
    genuine_kid = _resign(cose, outsider.sign, payload.open_envelope(cose).kid)
    _claims_must_not_be_read(monkeypatch)

    result = online(services, own_kid)
    assert results(result)["signature"] == "UNVERIFIED"
    assert result.signature.code == "signature.unknown_key"
    assert result.issuer.result == "UNTRUSTED"
    assert result.issuer.code == "issuer.unknown"
    assert result.issuer.details == {"kid": outsider.kid.hex()}
    _not_read(result)

    result = online(services, genuine_kid)
    assert result.signature.result == "INVALID"
    _not_read(result)


def test_a_key_withdrawn_after_signing_is_withdrawn(services: Services) -> None:
    issued = issue(services)
    cose = code(services, issued.ecert)
    key = services.keys.signing_key(issued.authority)
    services.keys.withdraw(key.id)
    result = online(services, cose)
    assert result.signature.result == "VALID"
    assert result.issuer.result == "WITHDRAWN"
    assert result.issuer.code == "issuer.withdrawn"
    assert result.issuer.details["kid"] == key.key_id
    assert not result.ok
    # The next code is signed by a new key and verifies.
    assert_all_ok(online(services, code(services, issued.ecert)))


def test_a_key_retired_by_rotation_still_verifies(services: Services) -> None:
    issued = issue(services)
    old_key = services.keys.signing_key(issued.authority)
    cose = code(services, issued.ecert)
    new_key = services.keys.rotate(issued.authority)
    result = online(services, cose)
    assert_all_ok(result, issued.ecert)
    assert result.issuer.details["kid"] == old_key.key_id
    new_code = code(services, issued.ecert)
    assert payload.open_envelope(new_code).kid.hex() == new_key.key_id != old_key.key_id
    assert_all_ok(online(services, new_code), issued.ecert)


def test_a_genuine_key_signing_another_authoritys_ecert_is_a_mismatch(services: Services) -> None:
    ours, theirs = issue(services), issue(services)
    key = services.keys.signing_key(ours.authority)
    claims = payload.claims_for(theirs.ecert, theirs.ecert.status_index)
    cose = payload.sign(claims, bytes.fromhex(key.key_id), services.keys.signer(key))
    result = online(services, cose)
    assert result.signature.ok and result.issuer.ok
    assert result.identifier.result == "MISMATCH"
    assert result.identifier.code == "identifier.issuer_mismatch"
    assert not result.ok


def test_a_genuinely_signed_code_of_no_known_ecert_has_unknown_status(services: Services) -> None:
    issued = issue(services)
    key = services.keys.signing_key(issued.authority)
    claims = payload.claims_for(issued.ecert, issued.ecert.status_index)
    unknown = str(ecert_id.parse(issued.ecert.identifier).with_version(issued.ecert.version + 5))
    cose = payload.sign(
        dataclasses.replace(claims, identifier=unknown),
        bytes.fromhex(key.key_id),
        services.keys.signer(key),
    )
    result = online(services, cose)
    assert result.signature.ok and result.issuer.ok and result.identifier.ok
    assert result.status.result == StatusResult.UNKNOWN
    assert "没有此证照" in result.status.message


# -- offline: the same results from the exported lists -------------------------------------------


def _valid(svc: Services) -> tuple[Issued, bytes]:
    issued = issue(svc, "013")
    return issued, code(svc, issued.ecert)


def _old_version(svc: Services) -> tuple[Issued, bytes]:
    issued, old_code, _ = _superseded(svc)
    return issued, old_code


def _revoked(svc: Services) -> tuple[Issued, bytes]:
    issued = issue(svc)
    cose = code(svc, issued.ecert)
    svc.business.cancel_licence(issued.record_id)
    return issued, cose


def _suspended(svc: Services) -> tuple[Issued, bytes]:
    issued = issue(svc)
    cose = code(svc, issued.ecert)
    assert issued.operator is not None
    svc.business.change_operator(issued.operator.id, OperatorChange(status="2"))
    return issued, cose


LIFECYCLE: dict[str, tuple[Callable[[Services], tuple[Issued, bytes]], StatusResult, int]] = {
    "valid": (_valid, StatusResult.VALID, ListStatus.VALID),
    "superseded": (_old_version, StatusResult.SUPERSEDED, ListStatus.SUPERSEDED),
    "revoked": (_revoked, StatusResult.REVOKED, ListStatus.INVALID),
    "suspended": (_suspended, StatusResult.SUSPENDED, ListStatus.SUSPENDED),
}


@pytest.mark.parametrize("case", LIFECYCLE)
def test_offline_status_comes_from_the_signed_list(services: Services, case: str) -> None:
    make, expected, list_value = LIFECYCLE[case]
    issued, cose = make(services)
    data = bundle(services, issued.authority)
    (token,) = data.status
    assert parse_status_list(token).status_at(issued.ecert.status_index) == list_value

    result, source = offline(services, data, cose)
    assert result.status.result == expected
    assert "据北京时间" in result.status.message
    assert results(result) == {
        "signature": "VALID",
        "issuer": "TRUSTED",
        "status": str(expected),
        "validity": "VALID",
        "identifier": "VALID",
    }
    assert result.ok is (expected is StatusResult.VALID)
    assert source.status_lists.keys() == {issued.authority.uscc}
    # Online says the same.
    assert online(services, cose).status.result == expected


def test_the_guard_sees_sql(services: Services) -> None:
    with no_database(services) as statements:
        services.session.execute(sql("SELECT 1"))
    assert statements, "the no-database guard must record statements on the test connection"


def test_offline_stale_list_is_unknown_never_revoked(services: Services) -> None:
    issued, cose = _revoked(services)
    data = bundle(services, issued.authority)
    ttl = services.keys.settings.status_list_ttl
    fresh, _ = offline(services, data, cose, data.at + timedelta(seconds=ttl - 1))
    assert fresh.status.result == StatusResult.REVOKED

    stale, _ = offline(services, data, cose, data.at + timedelta(seconds=ttl + 1))
    assert stale.status.result == StatusResult.UNKNOWN
    assert "状态列表已过期" in stale.status.message
    assert not stale.status.ok
    # Nothing else changes: the signature and issuer are still checked.
    assert stale.signature.ok and stale.issuer.ok and stale.identifier.ok


def test_offline_without_the_authoritys_list_is_unknown(services: Services) -> None:
    _, cose = _revoked(services)
    other = f.authority(services)
    for lists in ([], [other]):
        data = bundle(services, *lists)
        result, _ = offline(services, data, cose)
        assert result.status.result == StatusResult.UNKNOWN
        assert "无该签发机关的状态列表" in result.status.message
        assert result.signature.ok and result.issuer.ok


def test_offline_ignores_status_lists_not_signed_by_the_authority(services: Services) -> None:
    issued, cose = _revoked(services)
    other = f.authority(services)
    data = bundle(services, issued.authority)
    genuine = data.status[0]
    moment, ttl = data.at, services.keys.settings.status_list_ttl
    uri = status_list_uri(services.keys.settings.verify_host, issued.authority.uscc)
    all_valid = bytearray(parse_status_list(genuine).size)  # claims every entry is valid

    other_key = services.keys.signing_key(other)
    by_other = sign_status_list(
        all_valid,
        uri=uri,
        issued_at=moment,
        ttl=ttl,
        signer=services.keys.signer(other_key),
        kid=bytes.fromhex(other_key.key_id),
    )
    outsider = _Outsider()
    own_key = services.keys.signing_key(issued.authority)
    forged_kid = sign_status_list(
        all_valid,
        uri=uri,
        issued_at=moment,
        ttl=ttl,
        signer=outsider.sign,
        kid=bytes.fromhex(own_key.key_id),
    )
    unknown_kid = sign_status_list(
        all_valid, uri=uri, issued_at=moment, ttl=ttl, signer=outsider.sign, kid=outsider.kid
    )
    for forged in (by_other, forged_kid, unknown_kid):
        alone = dataclasses.replace(data, status=[forged])
        result, source = offline(services, alone, cose)
        assert source.status_lists == {}
        assert result.status.result == StatusResult.UNKNOWN  # never the forged VALID
        # Given after the genuine list, a forged one does not replace it.
        both = dataclasses.replace(data, status=[genuine, forged])
        result, _ = offline(services, both, cose)
        assert result.status.result == StatusResult.REVOKED


def test_offline_trust_list_checked_against_another_root_is_refused(services: Services) -> None:
    issued, _ = _valid(services)
    data = bundle(services, issued.authority)
    other_root = x509.to_pem(_Outsider().certificate).encode()
    with no_database(services) as statements:
        with pytest.raises(TrustListError) as refused:
            load_offline_from(data, root_pem=other_root)
        assert refused.value.code == "trust_list.chain"
        assert refused.value.message

        signing_only = x509.to_pem(services.keys.signing_key(issued.authority).certificate)
        with pytest.raises(BadInput) as no_root:
            load_offline_from(data, root_pem=signing_only.encode())
        assert no_root.value.code == "verify.root"

        with pytest.raises(TrustListError) as garbage:
            load_offline_from(data, trust=b"\xd2\x84garbage")
        assert garbage.value.code == "trust_list.malformed"
    assert statements == []


@pytest.mark.parametrize(
    "root",
    [
        b"not a certificate, nor PEM",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ],
    ids=["not-pem", "pem-of-junk"],
)
def test_offline_unreadable_root_file_is_a_clear_error(services: Services, root: bytes) -> None:
    issued, _ = _valid(services)
    data = bundle(services, issued.authority)
    with pytest.raises(RoadcertError) as refused:
        load_offline_from(data, root_pem=root)
    assert refused.value.code == "verify.root"


def test_offline_withdrawn_key_is_absent_from_the_next_trust_list(services: Services) -> None:
    issued, cose = _valid(services)
    before = bundle(services, issued.authority)
    key = services.keys.signing_key(issued.authority)
    services.keys.withdraw(key.id)
    after = bundle(services, issued.authority)

    result, source = offline(services, after, cose)
    assert source.trust.by_kid(bytes.fromhex(key.key_id)) is None
    assert result.signature.result == "UNVERIFIED"
    assert result.issuer.result == "UNTRUSTED"
    assert result.issuer.code == "issuer.unknown"
    assert result.claims is None and not result.ok
    # The list from before the withdrawal still trusted it.
    earlier, _ = offline(services, before, cose)
    assert earlier.issuer.result == "TRUSTED"


def test_offline_retired_key_still_verifies(services: Services) -> None:
    issued, cose = _valid(services)
    list_before = bundle(services, issued.authority).status  # signed by the key about to retire
    old_key = services.keys.signing_key(issued.authority)
    services.keys.rotate(issued.authority)
    data = bundle(services, issued.authority)
    result, source = offline(services, data, cose)
    assert_all_ok(result, issued.ecert)
    entry = source.trust.by_kid(bytes.fromhex(old_key.key_id))
    assert entry is not None and entry.state == "retired"
    # A list cached from before the rotation is signed by the retired key and still counts.
    cached, source = offline(services, dataclasses.replace(data, status=list_before), cose)
    assert parse_status_list(list_before[0]).kid == bytes.fromhex(old_key.key_id)
    assert source.status_lists.keys() == {issued.authority.uscc}
    assert_all_ok(cached)


def test_offline_expired_is_judged_from_the_dates(services: Services) -> None:
    today = services.issuance.today()
    issued = issue(services, valid_until=today + timedelta(days=2))
    cose = code(services, issued.ecert)
    later = _at_noon(issued.ecert.valid_until + timedelta(days=3))
    data = bundle(services, issued.authority, at=later)
    result, _ = offline(services, data, cose)
    assert result.validity.result == "EXPIRED"
    assert result.status.result == StatusResult.VALID  # the list carries no expiry
    assert not result.ok


def test_offline_the_newest_status_list_of_an_authority_decides(services: Services) -> None:
    issued = issue(services)
    cose = code(services, issued.ecert)
    older = bundle(services, issued.authority, at=now() - timedelta(minutes=10))
    services.business.cancel_licence(issued.record_id)
    newer = bundle(services, issued.authority)
    data = dataclasses.replace(newer, status=newer.status + older.status)
    result, _ = offline(services, data, cose)
    assert result.status.result == StatusResult.REVOKED


def test_offline_stale_trust_list_is_reported(services: Services) -> None:
    issued, cose = _valid(services)
    data = bundle(services, issued.authority)
    ttl = services.keys.settings.trust_list_ttl
    later = data.at + timedelta(seconds=ttl + 60)
    fresh_status = bundle(services, issued.authority, at=later).status
    stale_trust = dataclasses.replace(data, status=fresh_status, at=later)
    try:
        result, _ = offline(services, stale_trust, cose)
    except RoadcertError as refused:
        assert "stale" in refused.code
        return
    assert "信任列表" in str(result.to_dict())


# -- inputs ----------------------------------------------------------------------------------------


def test_qr_text_as_url_or_bare_base32(services: Services) -> None:
    issued = issue(services, "071")
    cose = code(services, issued.ecert)
    url = payload.to_text(cose, services.keys.settings.verify_host)
    data = url.split("/R/", 1)[1]
    assert url.startswith("HTTPS://127.0.0.1:8000/R/")
    for scanned in (
        url,
        url.lower(),
        f"  http://zz.jtt.jl.gov.cn/r/{data}\n",
        data,
        data.lower(),
        f"\t{data} ",
    ):
        assert inputs.cose_from_text(scanned) == cose, scanned
        # Raw bytes of the text (a file holding it) read the same way.
        assert inputs.cose_from_bytes(scanned.encode()) == cose
    assert_all_ok(online(services, inputs.cose_from_text(url)), issued.ecert)


def test_png_of_the_code_and_a_photo_of_it(services: Services) -> None:
    issued = issue(services, "013")
    scanned = text(services, issued.ecert)
    png = qr.encode_png(scanned)
    (decoded,) = qr.decode_image(png)
    assert decoded.text == scanned and decoded.ec_level == "M"
    assert_all_ok(online(services, inputs.cose_from_bytes(png)), issued.ecert)

    photo = photo_of(png)
    assert photo.startswith(inputs.JPEG_MAGIC)
    assert_all_ok(online(services, inputs.cose_from_bytes(photo)), issued.ecert)
    smaller = photo_of(qr.encode_png(scanned, scale=6), scale=0.71, angle=-2.0, quality=60)
    assert_all_ok(online(services, inputs.cose_from_bytes(smaller)), issued.ecert)


@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_rendered_face(services: Services, fmt: str) -> None:
    issued = issue(services, "013")
    face = render(services, issued.ecert, fmt)
    if fmt == "png":
        assert face.startswith(inputs.PNG_MAGIC)
        # The whole face is read: the seal, the photo and the text are around the code.
        (found,) = qr.decode_image(face)
        assert inputs.cose_from_text(found.text) == inputs.cose_from_bytes(face)
    else:
        assert face.startswith(inputs.PDF_MAGIC)
        assert inputs.cose_from_bytes(face) == extract_attachment(face)
    assert_all_ok(online(services, inputs.cose_from_bytes(face)), issued.ecert)


# Bad inputs need no database: a code signed by a key that is not in any hierarchy.
_SCRAP = _Outsider()
_SCRAP_ISSUER = uscc.generate(random.Random(5), "220100", "1", "1")


def _scrap_text() -> str:
    moment = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    identifier = ecert_id.build("11100000000019713D008", _SCRAP_ISSUER, "7Q2KX9DMA4B6C8E0F1G3", 1)
    claims = payload.Claims(
        identifier=str(identifier),
        number="吉交运管许可长字220102000318号",
        holder_name="长春市测试物流有限公司",
        holder_code=uscc.generate(random.Random(6), "220102"),
        valid_from=moment.date(),
        valid_until=moment.date() + timedelta(days=1000),
        status_index=4242,
        issued_at=moment,
        items={},
    )
    return payload.to_text(payload.sign(claims, _SCRAP.kid, _SCRAP.sign), "127.0.0.1:8000")


_SCRAP_TEXT = _scrap_text()


def _cut_inside_a_group(url: str) -> str:
    # An unpadded base32 text cannot end after 1, 3 or 6 characters of a group of 8.
    data = url.split("/R/", 1)[1]
    keep = next(n for n in range(len(data) - 1, 0, -1) if n % 8 in (1, 3, 6))
    return url[: len(url) - len(data) + keep]


def _bad_texts() -> dict[str, tuple[str, str]]:
    url = _SCRAP_TEXT
    data = url.split("/R/", 1)[1]
    return {
        "truncated": (_cut_inside_a_group(url), "payload.truncated"),
        "truncated_last_bits": (url[:-1] + "7", "payload.truncated"),
        "empty": ("HTTPS://127.0.0.1:8000/R/", "payload.truncated"),
        "oversized_text": ("A" * 2001, "payload.too_large"),
        "oversized_decoded": ("HTTPS://H/R/" + "A" * 1928, "payload.too_large"),
        "non_base32": (url[:-12] + "0189" + url[-8:], "payload.base32"),
        "padding": (url + "=", "payload.base32"),
        "chinese": ("电子证照" + data, "payload.base32"),
        "wrong_path": ("HTTPS://X/Q/" + data, "payload.prefix"),
        "wrong_scheme": ("FTP://127.0.0.1:8000/R/" + data, "payload.prefix"),
        "no_path": ("HTTPS://127.0.0.1:8000/" + data, "payload.prefix"),
    }


@pytest.mark.parametrize("case", _bad_texts())
def test_bad_text_gets_its_own_code(case: str) -> None:
    scanned, expected = _bad_texts()[case]
    for attempt in (
        lambda: inputs.cose_from_text(scanned),
        lambda: inputs.cose_from_bytes(scanned.encode()),
    ):
        with pytest.raises(RoadcertError) as refused:
            attempt()
        assert isinstance(refused.value, BadInput)
        assert refused.value.code == expected, (case, refused.value.message)
        assert refused.value.message and refused.value.status == 422


_RNG_BYTES = random.Random(3).randbytes(300)
# Built when the test runs (some are megabytes), not when the tests are collected.
BAD_UPLOADS: dict[str, tuple[Callable[[], bytes], str]] = {
    "random_bytes": (lambda: b"\xff" + _RNG_BYTES, "verify.input"),
    "random_after_png_magic": (lambda: inputs.PNG_MAGIC + _RNG_BYTES, "qr.image"),
    "random_after_jpeg_magic": (lambda: inputs.JPEG_MAGIC + _RNG_BYTES, "qr.image"),
    "png_without_code": (lambda: f.png(320, 240), "verify.no_code"),
    "jpeg_without_code": (lambda: photo_of(f.png(120, 120)), "verify.no_code"),
    "pdf_without_ecert": (pdf_without_ecert, "verify.pdf_no_ecert"),
    "not_a_pdf_after_magic": (
        lambda: inputs.PDF_MAGIC + b"1.7\n" + _RNG_BYTES,
        "verify.pdf_no_ecert",
    ),
    "too_large": (lambda: inputs.PDF_MAGIC + bytes(inputs.MAX_UPLOAD_BYTES), "verify.too_large"),
    "too_large_text": (lambda: b"A" * (inputs.MAX_UPLOAD_BYTES + 1), "verify.too_large"),
}


@pytest.mark.parametrize("case", BAD_UPLOADS)
def test_bad_upload_gets_its_own_code(case: str) -> None:
    make, expected = BAD_UPLOADS[case]
    with pytest.raises(RoadcertError) as refused:
        inputs.cose_from_bytes(make())
    assert refused.value.code == expected, (case, refused.value.message)
    assert refused.value.message and 400 <= refused.value.status < 500


def test_malformed_bytes_are_a_result_not_a_crash() -> None:
    # Bytes that are no COSE_Sign1 (all zeros, a cut message): verify_cose answers MALFORMED.
    source = _FixedSource()
    cut = inputs.cose_from_text(_SCRAP_TEXT)[:100]
    for cose, expected in ((bytes(5), "payload.structure"), (cut, "payload.truncated")):
        result = verify_cose(cose, source, now())
        assert result.signature.result == "MALFORMED"
        assert result.signature.code == expected
        _not_read(result)


class _FixedSource:
    """A trust source that trusts one outside key and answers VALID: no database."""

    mode = "offline"

    def signer(self, kid: bytes) -> SignerInfo | None:
        if kid != _SCRAP.kid:
            return None
        return SignerInfo(kid, _SCRAP.certificate, "测试机关", "")

    def status(self, claims: payload.Claims, at: datetime) -> tuple[StatusResult, str]:
        return StatusResult.VALID, "测试"


def test_the_fixed_source_accepts_the_scrap_code() -> None:
    result = verify_cose(inputs.cose_from_text(_SCRAP_TEXT), _FixedSource(), now())
    assert result.signature.ok and result.claims is not None


_PREFIXES = [b"", inputs.PNG_MAGIC, inputs.JPEG_MAGIC, inputs.PDF_MAGIC, b"HTTPS://H/R/"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from(_PREFIXES), body=st.binary(max_size=400))
def test_fuzz_inputs_raise_only_roadcert_errors(prefix: bytes, body: bytes) -> None:
    try:
        cose = inputs.cose_from_bytes(prefix + body)
    except RoadcertError:
        return
    result = verify_cose(cose, _FixedSource(), now())
    assert not result.signature.ok


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_fuzz_any_flipped_byte_of_a_code_fails_and_reads_no_claim(position: int, flip: int) -> None:
    cose = bytearray(inputs.cose_from_text(_SCRAP_TEXT))
    cose[position % len(cose)] ^= flip
    result = verify_cose(bytes(cose), _FixedSource(), now())
    assert not result.signature.ok
    _not_read(result)
