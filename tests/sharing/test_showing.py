"""The 亮证 code format on its own: encode → decode, the content type, the size, refusals."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest

from roadcert.crypto import cbor, sm
from roadcert.kit import ecert_id
from roadcert.render import qr
from roadcert.sharing import showing
from roadcert.sharing.showing import ShowClaims, ShowCodeRefused
from roadcert.verification import payload

KEY = sm.generate_private_key()
KID = bytes(range(8))
NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
# A real-looking 从业资格证 identifier: MOT type 071, a Changchun authority, version 003.
IDENTIFIER = str(
    ecert_id.build("11100000000019713D071", "11220100733639274M", "88DHSA9VINDA8V80VIQ5", 3)
)


def signer(data: bytes) -> bytes:
    return sm.sign(KEY, data)


def claims(**changes: object) -> ShowClaims:
    values: dict[str, object] = {
        "identifier": IDENTIFIER,
        "version": 3,
        "issued_at": NOW,
        "expires_at": NOW + showing.TTL,
        "nonce": secrets.token_bytes(16),
    }
    values.update(changes)
    return ShowClaims(**values)  # type: ignore[arg-type]


def test_round_trip_through_text() -> None:
    made = claims()
    text = showing.text_of(showing.sign_show_code(made, KID, signer), "zz.jtt.jl.gov.cn")
    assert text.startswith("HTTPS://ZZ.JTT.JL.GOV.CN/S/")
    message, body = showing.open_code(showing.cose_of(text))
    assert message.kid == KID
    assert message.typ == showing.SHOW_CODE_TYP
    assert message.verify(KEY.public_key())
    assert showing.read_claims(body) == made
    # The MOT prefix is left out of the code, as the e-cert payload's claim 13 does.
    assert showing.ShowClaim.MOT_IDENTIFIER in body
    assert payload.MOT_IDENTIFIER_PREFIX not in body[showing.ShowClaim.MOT_IDENTIFIER]


def test_bare_base32_and_lower_case_url_are_read() -> None:
    text = showing.text_of(showing.sign_show_code(claims(), KID, signer), "127.0.0.1:8000")
    data = text.rsplit("/", 1)[1]
    assert showing.cose_of(data) == showing.cose_of(text) == showing.cose_of(text.lower())


def test_only_qr_alphanumeric_characters_and_version_at_most_15() -> None:
    alphanumeric = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    # The longest host a province is likely to configure, with a port.
    text = showing.text_of(
        showing.sign_show_code(claims(), KID, signer), "dzzz.jtyst.jilin.gov.cn:8443"
    )
    assert set(text) <= alphanumeric
    version = qr.version_of(text, "M")
    assert version <= 15, version
    (decoded,) = qr.decode_image(qr.encode_png(text))
    assert decoded.text == text
    assert decoded.ec_level == "M"


def test_an_ecert_code_is_not_a_show_code_and_the_reverse() -> None:
    ecert_claims = payload.Claims(
        identifier=IDENTIFIER,
        number="220182197804127553",
        holder_name="徐秀",
        holder_code="220182197804127553",
        valid_from=NOW.date(),
        valid_until=NOW.date() + timedelta(days=365),
        status_index=7,
        issued_at=NOW,
        items={},
    )
    ecert_code = payload.sign(ecert_claims, KID, signer)
    # The e-cert's text with its /R/ path, and even its bytes under /S/, are refused.
    with pytest.raises(ShowCodeRefused) as refused:
        showing.cose_of(payload.to_text(ecert_code, "rc.test"))
    assert refused.value.code == "show_code.not_ours"
    with pytest.raises(ShowCodeRefused) as refused:
        showing.open_code(ecert_code)
    assert refused.value.message == "不是本系统的亮证码"
    # And an e-cert reader refuses a show code: its protected header holds more than alg.
    show_code = showing.sign_show_code(claims(), KID, signer)
    with pytest.raises(payload.PayloadError) as structure:
        payload.open_envelope(show_code)
    assert structure.value.code == "payload.structure"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "https://example.com/S/",
        "HTTPS://RC.TEST/S/ABC1",  # not base32
        "HTTPS://RC.TEST/X/AAAA",
        "A" * 3000,
    ],
)
def test_text_that_is_no_show_code_is_not_ours(text: str) -> None:
    with pytest.raises(ShowCodeRefused) as refused:
        showing.open_code(showing.cose_of(text))
    assert refused.value.code == "show_code.not_ours"
    assert refused.value.status == 422


def test_claims_that_break_the_format_are_refused() -> None:
    good = cbor.decode(showing.open_code(showing.sign_show_code(claims(), KID, signer))[0].payload)
    for change in (
        {showing.ShowClaim.VERSION: 4},  # differs from the identifier's version
        {showing.ShowClaim.NONCE: b"short"},
        {showing.ShowClaim.ISSUED_AT: "yesterday"},
        {showing.ShowClaim.IDENTIFIER: IDENTIFIER},  # two identifiers
    ):
        with pytest.raises(ShowCodeRefused):
            showing.read_claims(good | change)


def test_signing_refuses_a_life_over_a_minute() -> None:
    with pytest.raises(ValueError):
        showing.sign_show_code(claims(expires_at=NOW + timedelta(seconds=61)), KID, signer)


def test_freshness_allows_five_seconds_of_skew() -> None:
    made = claims()
    assert showing.freshness(made, NOW) is None
    assert showing.freshness(made, made.expires_at + timedelta(seconds=5)) is None
    assert showing.freshness(made, made.expires_at + timedelta(seconds=6)) == "show_code.expired"
    assert showing.freshness(made, NOW - timedelta(seconds=5)) is None
    assert showing.freshness(made, NOW - timedelta(seconds=6)) == "show_code.not_yet"
    too_long = claims(expires_at=NOW + timedelta(minutes=5))
    assert showing.freshness(too_long, NOW) == "show_code.not_ours"
