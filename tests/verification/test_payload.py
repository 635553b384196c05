"""The 2D-code payload: COSE_Sign1 with SM2/SM3, its text form, and every way a code can be bad.

The round trip goes through a real QR image and a real SM2 key; the layout is checked a second
time with independent implementations (cbor2 for CBOR, gmssl for SM2), as an outside verifier
would read it; each PayloadError code has a crafted input; the decoders are fuzzed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import random
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest
from gmssl import sm2 as gmssl_sm2
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from roadcert.catalog import codes
from roadcert.catalog.types import CATALOGUE
from roadcert.crypto import cbor, sm, x509
from roadcert.crypto.keystore import FileKeyStore
from roadcert.crypto.sm4 import ScryptParams
from roadcert.errors import BadInput
from roadcert.kit import ecert_id, uscc
from roadcert.render import qr
from roadcert.verification import payload
from roadcert.verification.payload import ALG_SM2_SM3, Claims, PayloadError

HOST = "ZZ.JTT.JL.GOV.CN"
QR_ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "payload.md"
_rng = random.Random(20261122)
AUTHORITY_USCC = uscc.generate(_rng, "220100", "1", "1")


class Signer:
    """A signing key with a certificate, as an authority's signing key is kept."""

    def __init__(self, key: sm.PrivateKey) -> None:
        self.key = key
        now = datetime.now(UTC)
        self.certificate = x509.make_root(
            key, x509.Name("测试签名密钥"), now - timedelta(days=1), now + timedelta(days=30)
        )
        self.kid = x509.load(self.certificate).key_id
        self.public_key = key.public_key()

    def sign(self, data: bytes) -> bytes:
        return sm.sign(self.key, data)


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer(sm.generate_private_key())


@pytest.fixture(scope="module")
def other_signer() -> Signer:
    return Signer(sm.generate_private_key())


def identifier(suffix: str, serial: str = "7Q2KX9DMA4B6C8E0F1G3", version: int = 1) -> str:
    return str(ecert_id.build(f"11100000000019713D{suffix}", AUTHORITY_USCC, serial, version))


def qualification_claims(**changes: Any) -> Claims:
    """A 从业资格证 (071) with categories and a driving class."""
    fields: dict[str, Any] = {
        "identifier": identifier("071"),
        "number": "220102198003140018",
        "holder_name": "阿依古丽·买买提艾力",
        "holder_code": "220102198003140018",
        "valid_from": date(2024, 5, 1),
        "valid_until": date(2030, 4, 30),
        "status_index": 1_048_575,
        "issued_at": datetime(2026, 11, 22, 8, 30, 15, tzinfo=UTC),
        "items": {"categories": ["01001", "02001", "03001"], "driving_class": "A1"},
    }
    fields.update(changes)
    return Claims(**fields)


def licence_claims() -> Claims:
    """A 道路危险货物运输许可证 (016) whose scope text is carried as codes."""
    scope = "，".join(codes.BusinessScope.from_code(c).label for c in ("03121", "03131", "03181"))
    return qualification_claims(
        identifier=identifier("016"),
        number="吉交运管许可长字220102000123号",
        holder_name="长春市吉化危险货物运输有限责任公司",
        holder_code=uscc.generate(_rng, "220102"),
        items={"business_scope": scope},
    )


def encode(*items: Any) -> bytes:
    return cbor.canonical(list(items))


def forge(
    signer: Signer,
    claims_map: Any,
    *,
    protected: Any = None,
    unprotected: Any = None,
) -> bytes:
    """A COSE_Sign1 with a genuine signature over whatever payload and headers are given."""
    protected_bytes = cbor.canonical({1: ALG_SM2_SM3}) if protected is None else protected
    payload_bytes = claims_map if isinstance(claims_map, bytes) else cbor.canonical(claims_map)
    to_sign = encode("Signature1", protected_bytes, b"", payload_bytes)
    signature = sm.der_to_raw(signer.sign(to_sign))
    headers = {4: signer.kid} if unprotected is None else unprotected
    return b"\xd2" + encode(protected_bytes, headers, payload_bytes, signature)


# A key for building inputs where whose key it is does not matter (and for parametrize ids).
SCRAP = Signer(sm.generate_private_key())


def claims_map(claims: Claims) -> dict[int, Any]:
    cose = payload.sign(claims, SCRAP.kid, SCRAP.sign)
    decoded = cbor.decode(payload.open_envelope(cose).payload)
    assert isinstance(decoded, dict)
    return decoded


def read(text: str, public_key: sm.PublicKey) -> Claims:
    envelope = payload.open_envelope(payload.from_text(text))
    assert payload.verify(envelope, public_key)
    return payload.decode_claims(envelope)


# -- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("make", [qualification_claims, licence_claims], ids=["071", "016"])
def test_round_trip_through_a_real_qr_image(signer: Signer, make: Callable[[], Claims]) -> None:
    claims = make()
    cose = payload.sign(claims, signer.kid, signer.sign)
    text = payload.to_text(cose, HOST.lower())

    png = qr.encode_png(text, ec_level="M")
    (found,) = qr.decode_image(png)
    assert found.text == text
    assert found.ec_level == "M"
    assert found.version == qr.version_of(text, "M")

    envelope = payload.open_envelope(payload.from_text(found.text))
    assert envelope.kid == signer.kid
    assert envelope.alg == ALG_SM2_SM3
    assert payload.verify(envelope, signer.public_key)
    decoded = payload.decode_claims(envelope)
    assert decoded == claims
    assert decoded.type_code == make().type_code


def test_signing_through_the_key_store(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys", "test-passphrase", kdf=ScryptParams(log2_n=10))
    public = store.generate("qr-signing")
    claims = qualification_claims()
    cose = payload.sign(claims, b"\x01" * 8, store.signer("qr-signing"))
    assert read(payload.to_text(cose, HOST), public) == claims


def test_text_uses_only_qr_alphanumeric_characters(signer: Signer) -> None:
    text = payload.to_text(
        payload.sign(licence_claims(), signer.kid, signer.sign), "127.0.0.1:8000"
    )
    assert text.startswith("HTTPS://127.0.0.1:8000/R/")
    assert set(text) <= QR_ALPHANUMERIC
    assert "=" not in text


@pytest.mark.parametrize(
    "shape",
    ["https://zz.jtt.jl.gov.cn/R/{d}", "http://ZZ.JTT.JL.GOV.CN/r/{d}", "{d}", "  {d}\n", "{l}"],
)
def test_from_text_accepts_the_url_in_any_case_and_bare_base32(signer: Signer, shape: str) -> None:
    cose = payload.sign(qualification_claims(), signer.kid, signer.sign)
    data = payload.to_text(cose, HOST).rsplit("/", 1)[1]
    assert payload.from_text(shape.format(d=data, l=data.lower())) == cose


def test_layout_read_by_independent_cbor_and_sm2_implementations(signer: Signer) -> None:
    """What docs/payload.md promises, checked with cbor2 and gmssl instead of roadcert's code."""
    claims = qualification_claims()
    cose = payload.sign(claims, signer.kid, signer.sign)
    message = cbor2.loads(cose)
    assert isinstance(message, cbor2.CBORTag) and message.tag == 18
    assert cose[0] == 0xD2
    protected, unprotected, body, signature = message.value
    assert cbor2.loads(protected) == {1: -10197501}
    assert protected == bytes.fromhex("a1013a009b99fc")
    assert unprotected == {4: signer.kid}
    assert signer.kid == sm.sm3(signer.certificate)[:8]
    assert len(signature) == 64

    prefix = "1.2.156.3005.2.11100000000019713D"
    assert claims.identifier.startswith(prefix)
    assert cbor2.loads(body) == {
        13: claims.identifier.removeprefix(prefix),
        2: "220102198003140018",
        3: "阿依古丽·买买提艾力",
        4: "220102198003140018",
        5: 20240501,
        6: 20300430,
        7: 1_048_575,
        8: int(datetime(2026, 11, 22, 8, 30, 15, tzinfo=UTC).timestamp()),
        11: [1001, 2001, 3001],
        12: "A1",
    }
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", body])
    x, y = sm.public_key_xy(signer.public_key)
    gmssl = gmssl_sm2.CryptSM2(private_key=None, public_key="")
    gmssl.public_key = f"{x:064x}{y:064x}"  # set after construction: see tests/test_api.py
    assert gmssl.verify_with_sm3(signature.hex(), to_be_signed)
    assert not gmssl.verify_with_sm3(signature.hex(), to_be_signed + b"\0")


def test_business_scope_travels_as_codes_when_the_table_gives_the_text_back() -> None:
    claims = licence_claims()
    assert claims_map(claims)[10] == [3121, 3131, 3181]
    free_text = qualification_claims(identifier=identifier("008"), items={"business_scope": "客运"})
    assert claims_map(free_text)[10] == "客运"
    unknown_code = qualification_claims(
        identifier=identifier("008"), items={"business_scope": "道路普通货物运输，09999"}
    )
    assert claims_map(unknown_code)[10] == [2101, 9999]


@pytest.mark.parametrize(
    ("plate", "claim"),
    [
        ("吉A12345（黄色）", ["吉A12345", 2]),
        ("吉AD12345（渐变绿）", ["吉AD12345", 94]),
        ("吉A12345（7）", ["吉A12345", 7]),  # a colour code missing from the table prints as is
        ("吉A12345（紫色）", "吉A12345（紫色）"),
        ("吉A12345", "吉A12345"),
        ("吉A12345（02）", "吉A12345（02）"),
    ],
)
def test_plate_travels_as_plate_and_colour_code_when_that_gives_the_text_back(
    plate: str, claim: Any
) -> None:
    claims = qualification_claims(identifier=identifier("013"), items={"plate": plate})
    assert claims_map(claims)[9] == claim
    assert (
        read(payload.to_text(payload.sign(claims, SCRAP.kid, SCRAP.sign), HOST), SCRAP.public_key)
        == claims
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_claims_round_trip(signer: Signer, data: st.DataObject) -> None:
    suffix = data.draw(st.sampled_from(sorted(cert.suffix for cert in CATALOGUE.values())))
    text = st.text(st.characters(exclude_categories=("Cs",)), max_size=24)
    items: dict[str, Any] = {}
    if suffix in {"013", "073"}:
        colour = st.sampled_from([c.label for c in codes.PlateColor] + ["7", "12"])
        printed = st.builds(lambda p, c: f"{p}（{c}）", text.filter(bool), colour)
        items["plate"] = data.draw(st.one_of(printed, text.filter(bool)))
    if suffix in {"008", "016", "074", "079"}:
        scopes = data.draw(st.lists(st.sampled_from(list(codes.BusinessScope)), max_size=6))
        items["business_scope"] = (
            data.draw(st.one_of(st.just("，".join(s.label for s in scopes)), text))
            or "道路旅客运输"
        )
    if suffix == "071":
        items["categories"] = data.draw(
            st.lists(st.integers(0, 99999).map(lambda n: f"{n:05d}"), min_size=1, max_size=5)
        )
    if suffix in {"071", "072", "075"} and data.draw(st.booleans()):
        items["driving_class"] = data.draw(text.filter(bool))
    claims = Claims(
        identifier=identifier(
            suffix,
            data.draw(st.text(ecert_id.ALPHABET, min_size=1, max_size=20)),
            data.draw(st.integers(1, 999)),
        ),
        number=data.draw(text),
        holder_name=data.draw(text),
        holder_code=data.draw(text),
        valid_from=data.draw(st.dates()),
        valid_until=data.draw(st.dates()),
        status_index=data.draw(st.integers(0, 2**32 - 1)),
        issued_at=data.draw(
            st.datetimes(min_value=datetime(1970, 1, 1), timezones=st.just(UTC))
        ).replace(microsecond=0),
        items=items,
    )
    cose = payload.sign(claims, signer.kid, signer.sign)
    assert read(payload.to_text(cose, HOST), signer.public_key) == claims


# -- signatures that must fail -----------------------------------------------------------------


def test_field_tampered_payload_fails_verification(signer: Signer) -> None:
    cose = payload.sign(licence_claims(), signer.kid, signer.sign)
    protected, unprotected, body, signature = cbor.decode(cose[1:])
    claims = cbor.decode(body)
    claims[6] = 20991231  # a forger extends the validity
    tampered = b"\xd2" + encode(protected, unprotected, cbor.canonical(claims), signature)

    envelope = payload.open_envelope(payload.from_text(payload.to_text(tampered, HOST)))
    assert not payload.verify(envelope, signer.public_key)
    # The same envelope with its original payload verifies: only the claim change broke it.
    assert payload.verify(payload.open_envelope(cose), signer.public_key)


def test_resigned_with_an_unknown_key_fails_with_the_right_key(
    signer: Signer, other_signer: Signer
) -> None:
    # The forger copies the genuine kid but can only sign with a key of their own.
    forged = payload.sign(licence_claims(), signer.kid, other_signer.sign)
    envelope = payload.open_envelope(forged)
    assert envelope.kid == signer.kid
    assert not payload.verify(envelope, signer.public_key)
    assert payload.verify(envelope, other_signer.public_key)


def test_verify_never_raises(signer: Signer) -> None:
    envelope = payload.open_envelope(payload.sign(licence_claims(), signer.kid, signer.sign))
    assert not payload.verify(envelope, None)
    assert not payload.verify(envelope, "not a key")
    odd = payload.Envelope(b"\0" * 8, -7, b"", b"", b"\0" * 64)
    assert not payload.verify(odd, signer.public_key)


# -- every PayloadError code -------------------------------------------------------------------


def valid_text(signer: Signer) -> str:
    return payload.to_text(payload.sign(licence_claims(), signer.kid, signer.sign), HOST)


def b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


TEXT_CASES: dict[str, tuple[str, Callable[[str], str]]] = {
    "ftp_scheme": ("payload.prefix", lambda t: t.replace("HTTPS://", "FTP://")),
    "wrong_path": ("payload.prefix", lambda t: t.replace("/R/", "/Q/")),
    "no_path": ("payload.prefix", lambda t: t.split("/R/")[0]),
    "one_slash": ("payload.prefix", lambda t: t.replace("HTTPS://", "HTTPS:/")),
    "digit_one": ("payload.base32", lambda t: t[:-3] + "1" + t[-2:]),
    "padding": ("payload.base32", lambda t: t + "======"),
    "space_inside": ("payload.base32", lambda t: t[:40] + " " + t[40:]),
    "chinese": ("payload.base32", lambda t: t + "证"),
    "stray_low_bits": ("payload.truncated", lambda t: "HTTPS://H/R/AB"),
    "text_too_long": ("payload.too_large", lambda t: t + "A" * 2000),
    "decoded_too_long": ("payload.too_large", lambda t: "HTTPS://H/R/" + b32(b"\xd2" * 1201)),
    "cut_in_cbor": ("payload.truncated", lambda t: t[: len(t) - len(t.split("/R/")[1]) % 8 - 8]),
    "cut_anywhere": ("payload.truncated", lambda t: t[:-13]),
    "cut_in_symbol": (
        "payload.truncated",
        lambda t: t[: len(t) - (len(t.split("/R/")[1]) % 8) - 7],
    ),
    "no_data": ("payload.truncated", lambda t: "HTTPS://ZZ.JTT.JL.GOV.CN/R/"),
}


@pytest.mark.parametrize("case", list(TEXT_CASES))
def test_bad_text_gets_its_own_code(signer: Signer, case: str) -> None:
    code, spoil = TEXT_CASES[case]
    with pytest.raises(PayloadError) as caught:
        payload.open_envelope(payload.from_text(spoil(valid_text(signer))))
    assert caught.value.code == code
    assert caught.value.message.startswith(payload._MESSAGES[code])


def test_every_cut_of_the_text_is_reported_as_truncated(signer: Signer) -> None:
    text = valid_text(signer)
    start = text.index("/R/") + 3
    for end in range(start, len(text)):
        with pytest.raises(PayloadError) as caught:
            payload.open_envelope(payload.from_text(text[:end]))
        assert caught.value.code == "payload.truncated", end


def _cose_cases(signer: Signer) -> dict[str, tuple[str, bytes]]:
    good = payload.sign(licence_claims(), signer.kid, signer.sign)
    protected, unprotected, body, signature = cbor.decode(good[1:])
    return {
        "cut_signature": ("payload.truncated", good[:-5]),
        "only_tag": ("payload.truncated", b"\xd2"),
        "empty": ("payload.truncated", b""),
        "oversized": ("payload.too_large", good + b"\0" * 1200),
        "indefinite_array": ("payload.cbor", b"\xd2\x9f" + good[2:]),
        "float": ("payload.cbor", b"\xd2\xfa\x00\x00\x00\x00"),
        "trailing_bytes": ("payload.cbor", good + b"\x00"),
        "non_minimal_head": ("payload.cbor", b"\xd2\x98\x04" + good[2:]),
        "invalid_utf8": ("payload.cbor", b"\xd2\x62\xff\xfe"),
        "untagged": ("payload.structure", good[1:]),
        "mac0_tag": ("payload.structure", b"\xd1" + good[1:]),
        "long_form_tag": ("payload.structure", b"\xd8\x12" + good[1:]),
        "three_items": ("payload.structure", b"\xd2" + encode(protected, unprotected, body)),
        "map_not_array": ("payload.structure", b"\xd2" + cbor.canonical({1: 2})),
        "protected_text": (
            "payload.structure",
            b"\xd2" + encode("x", unprotected, body, signature),
        ),
        "detached_payload": (
            "payload.structure",
            b"\xd2" + encode(protected, unprotected, None, signature),
        ),
        "short_signature": (
            "payload.structure",
            b"\xd2" + encode(protected, unprotected, body, signature[:63]),
        ),
        "der_signature": (
            "payload.structure",
            b"\xd2" + encode(protected, unprotected, body, sm.raw_to_der(signature)),
        ),
        "extra_unprotected": (
            "payload.structure",
            b"\xd2" + encode(protected, {4: signer.kid, 5: b"iv"}, body, signature),
        ),
        "extra_protected": (
            "payload.structure",
            forge(signer, {}, protected=cbor.canonical({1: ALG_SM2_SM3, 3: 0})),
        ),
        "protected_array": ("payload.structure", forge(signer, {}, protected=encode(1))),
        "es256": ("payload.alg", forge(signer, {}, protected=cbor.canonical({1: -7}))),
        "alg_as_text": ("payload.alg", forge(signer, {}, protected=cbor.canonical({1: "SM2"}))),
        "empty_protected": ("payload.alg", forge(signer, {}, protected=b"")),
        "no_alg": ("payload.alg", forge(signer, {}, protected=cbor.canonical({3: 0}))),
        "no_kid": ("payload.kid", forge(signer, {}, unprotected={})),
        "seven_byte_kid": ("payload.kid", forge(signer, {}, unprotected={4: b"1234567"})),
        "text_kid": ("payload.kid", forge(signer, {}, unprotected={4: "12345678"})),
        "non_canonical_protected": (
            "payload.cbor",
            forge(signer, {}, protected=b"\xa1\x01\x3b" + (10197500).to_bytes(8, "big")),
        ),
    }


@pytest.mark.parametrize("case", list(_cose_cases(SCRAP)))
def test_bad_structure_gets_its_own_code(signer: Signer, case: str) -> None:
    code, cose = _cose_cases(signer)[case]
    with pytest.raises(PayloadError) as caught:
        payload.open_envelope(cose)
    assert caught.value.code == code


def _claims_cases() -> dict[str, Any]:
    good = claims_map(licence_claims())
    without_identifier = {k: v for k, v in good.items() if k not in (1, 13)}
    vehicle = {k: v for k, v in without_identifier.items() if k != 10} | {1: identifier("013")}
    return {
        "not_a_map": [1, 2, 3],
        "empty_map": {},
        "no_identifier": without_identifier,
        "both_identifier_forms": good | {1: identifier("008")},
        "name_as_int": good | {3: 42},
        "bad_identifier": without_identifier | {1: "1.2.156.3005.2.X"},
        "unknown_type": without_identifier | {1: identifier("999")},
        "unknown_claim": good | {99: "x"},
        "plate_on_a_licence": good | {9: "吉A12345（黄色）"},
        "plate_as_three_items": vehicle | {9: ["吉A12345", 2, 0]},
        "plate_colour_as_text": vehicle | {9: ["吉A12345", "2"]},
        "february_30": good | {5: 20240230},
        "negative_index": good | {7: -1},
        "huge_index": good | {7: 2**40},
        "bool_time": good | {8: True},
        "scope_codes_as_text": good | {10: ["03121"]},
        "scope_code_too_big": good | {10: [100000]},
    }


@pytest.mark.parametrize("case", list(_claims_cases()))
def test_bad_claims_get_payload_claims(signer: Signer, case: str) -> None:
    cose = forge(signer, _claims_cases()[case])
    envelope = payload.open_envelope(cose)
    assert payload.verify(envelope, signer.public_key)  # genuinely signed, yet unusable
    with pytest.raises(PayloadError) as caught:
        payload.decode_claims(envelope)
    assert caught.value.code == "payload.claims"


def test_malformed_claims_bytes_get_payload_cbor(signer: Signer) -> None:
    for body, code in ((b"\xa1\x01", "payload.truncated"), (b"\xa1\x01\xff", "payload.cbor")):
        envelope = payload.open_envelope(forge(signer, body))
        with pytest.raises(PayloadError) as caught:
            payload.decode_claims(envelope)
        assert caught.value.code == code


def test_payload_error_is_bad_input_for_the_api() -> None:
    error = PayloadError("payload.base32", "字符 '!'")
    assert isinstance(error, BadInput)
    assert error.status == 422
    assert error.to_dict() == {
        "code": "payload.base32",
        "message": "二维码数据含有非 BASE32 字符或编码不规范：字符 '!'",
    }


def test_sign_and_to_text_refuse_what_could_not_be_read_back(signer: Signer) -> None:
    with pytest.raises(ValueError, match="kid"):
        payload.sign(licence_claims(), b"1234567", signer.sign)
    with pytest.raises(ValueError):
        payload.sign(qualification_claims(items={"plate": "吉A12345"}), signer.kid, signer.sign)
    with pytest.raises(ValueError):
        payload.sign(qualification_claims(issued_at=datetime(2026, 1, 1)), signer.kid, signer.sign)
    with pytest.raises(PayloadError) as caught:
        payload.sign(qualification_claims(holder_name="长" * 400), signer.kid, signer.sign)
    assert caught.value.code == "payload.too_large"
    cose = payload.sign(licence_claims(), signer.kid, signer.sign)
    for host in ("", "evil.example/R", "a b", "https://x"):
        with pytest.raises(ValueError):
            payload.to_text(cose, host)


# -- fuzzing ---------------------------------------------------------------------------------


def _open_and_read(cose: bytes) -> None:
    envelope = payload.open_envelope(cose)
    envelope.to_be_signed()
    payload.decode_claims(envelope)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=2100))
@example("HTTPS://H/R/")
@example("HTTPS://H/R/" + "A" * 1921)
def test_fuzz_from_text_raises_only_payload_errors(text: str) -> None:
    with contextlib.suppress(PayloadError):
        _open_and_read(payload.from_text(text))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", max_size=400))
def test_fuzz_base32_reaches_the_cbor_decoder(data: str) -> None:
    for text in (f"HTTPS://RC.JT.GOV.CN/R/{data}", f"NR{data}"):
        with contextlib.suppress(PayloadError):
            _open_and_read(payload.from_text(text))


@settings(max_examples=600, deadline=None)
@given(st.binary(max_size=1400))
def test_fuzz_open_envelope_raises_only_payload_errors(data: bytes) -> None:
    for cose in (data, b"\xd2" + data, b"\xd2\x84" + data):
        with contextlib.suppress(PayloadError):
            _open_and_read(cose)


CBOR_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.integers(-2, 14) | st.text(max_size=3), inner, max_size=6)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(CBOR_VALUES, CBOR_VALUES)
def test_fuzz_well_formed_cbor_in_every_slot(body: Any, header: Any) -> None:
    cases = [
        b"\xd2" + encode(header, {4: SCRAP.kid}, b"", b"\0" * 64),
        b"\xd2" + encode(cbor.canonical({1: ALG_SM2_SM3}), header, b"", b"\0" * 64),
        b"\xd2" + cbor.canonical(body),
    ]
    # A value the deterministic encoder refuses (a lone surrogate) has nothing to sign.
    with contextlib.suppress(TypeError, ValueError):
        cases.append(forge(SCRAP, body))
    for cose in cases:
        with contextlib.suppress(PayloadError):
            _open_and_read(cose)


@settings(max_examples=200, deadline=None)
@given(position=st.integers(0, 10_000), flip=st.integers(1, 255), cut=st.booleans())
def test_fuzz_mutated_codes_never_verify(
    signer: Signer, position: int, flip: int, cut: bool
) -> None:
    cose = payload.sign(licence_claims(), signer.kid, signer.sign)
    position %= len(cose)
    mutated = cose[:position] if cut else _xor(cose, position, flip)
    try:
        envelope = payload.open_envelope(mutated)
    except PayloadError:
        return
    kid_at = cose.index(signer.kid)
    if kid_at <= position < kid_at + len(signer.kid):
        # The kid is unprotected (RFC 9052): changing it only sends the verifier to another key.
        assert envelope.kid != signer.kid
    else:
        assert not payload.verify(envelope, signer.public_key)


def _xor(data: bytes, position: int, flip: int) -> bytes:
    out = bytearray(data)
    out[position] ^= flip
    return bytes(out)


# -- the worked example in docs/payload.md ------------------------------------------------------


def _doc_block(name: str) -> str:
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {name} -->\s*```[a-z]*\n(.*?)```", text, re.DOTALL)
    assert match, f"docs/payload.md has no block marked {name}"
    return match.group(1).strip()


def test_worked_example_in_the_docs_verifies() -> None:
    certificate = x509.from_pem(_doc_block("example-certificate"))[0]
    cose = bytes.fromhex("".join(_doc_block("example-cose-hex").split()))
    url = _doc_block("example-url").replace("\n", "")

    assert payload.from_text(url) == cose
    envelope = payload.open_envelope(cose)
    assert envelope.kid == sm.sm3(certificate)[:8] == x509.load(certificate).key_id
    assert envelope.kid.hex() == _doc_block("example-kid")
    assert payload.verify(envelope, x509.load(certificate).public_key)
    claims = payload.decode_claims(envelope)
    assert claims.type_code.endswith("013")
    assert _squeeze(_doc_block("example-claims")) == _squeeze(
        diagnostic(cbor2.loads(envelope.payload))
    )


def diagnostic(value: Any) -> str:
    """CBOR diagnostic notation (RFC 8949 §8) of the value types a claim map holds."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{diagnostic(k)}: {diagnostic(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(diagnostic(item) for item in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        return f"h'{value.hex()}'"
    return str(value)


def _squeeze(text: str) -> str:
    """Diagnostic notation without its /comments/ and whitespace (the example has neither in
    its strings)."""
    return re.sub(r"\s+", "", re.sub(r"/[^/]*/", "", text))
