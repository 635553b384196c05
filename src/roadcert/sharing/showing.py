"""The 亮证 code: a short-lived COSE_Sign1 the server signs for one moment of showing.

A holder's phone shows ``HTTPS://<VERIFY HOST>/S/<BASE32>``: the same text form as the e-cert's
own code (``verification/payload.py``), under the path ``/S/`` instead of ``/R/``, and a
COSE_Sign1 made with :func:`roadcert.crypto.cose.sign1` whose protected header carries the
content type :data:`SHOW_CODE_TYP`. The e-cert code's protected header holds ``alg`` and nothing
else, so neither reader accepts the other's message: a show code can never pass as an e-cert
code, nor the reverse.

The claims name the e-cert version and the moment: identifier, version, issued-at, expires-at
(at most :data:`MAX_TTL` later) and a 16-byte random nonce that makes every code unique and lets
the verifier refuse a second use. ``docs/portal/practitioner-showing-sharing.md`` specifies the
format; this module is its reference implementation. Pure functions: the database work (trust,
single use, status) is in :mod:`roadcert.sharing.service`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any, Final

from roadcert.crypto import cbor, cose
from roadcert.errors import RoadcertError
from roadcert.kit import ecert_id
from roadcert.verification import payload

__all__ = [
    "CLOCK_SKEW",
    "MAX_SHOW_COSE_BYTES",
    "MAX_TTL",
    "MESSAGES",
    "NONCE_BYTES",
    "REFRESH_SECONDS",
    "SHOW_CODE_TYP",
    "TTL",
    "ShowClaim",
    "ShowClaims",
    "ShowCodeRefused",
    "cose_of",
    "freshness",
    "open_code",
    "read_claims",
    "sign_show_code",
    "text_of",
]

SHOW_CODE_TYP: Final = "application/vnd.roadcert.show+cbor"
"""COSE ``typ`` (RFC 9596, protected header 16) of a show code."""

TTL: Final = timedelta(seconds=45)
"""How long a show code is good for after it was made."""

MAX_TTL: Final = timedelta(seconds=60)
"""The longest life a verifier accepts in a code, whatever the signer wrote."""

REFRESH_SECONDS: Final = 20
"""How often the showing page fetches a new code (well inside :data:`TTL`)."""

CLOCK_SKEW: Final = timedelta(seconds=5)
"""Tolerance for the clocks of the signing and the checking server."""

NONCE_BYTES: Final = 16
MAX_SHOW_COSE_BYTES: Final = 600
"""Largest show-code message read (a real one is about 200 bytes)."""

_KID_LENGTH: Final = payload.KID_LENGTH
_MAX_EPOCH_SECONDS: Final = 253_402_300_799
_URL_PATTERN: Final = re.compile(
    r"(?P<scheme>https?)://(?P<host>[A-Z0-9.:-]+)/S/(?P<data>.*)", re.IGNORECASE | re.DOTALL
)
_PATH_SEGMENT: Final = "/R/"


class ShowClaim(IntEnum):
    """Integer keys of the show code's claim map (numbered as the e-cert payload's where shared)."""

    IDENTIFIER = 1  # 证照标识 in full, for an identifier outside the MOT's types
    VERSION = 2  # the e-cert version shown, uint
    ISSUED_AT = 3  # when the code was made, uint epoch seconds
    EXPIRES_AT = 4  # when it stops being good, uint epoch seconds
    NONCE = 5  # 16 random bytes: the code's single-use identity
    MOT_IDENTIFIER = 13  # 证照标识 without "1.2.156.3005.2.11100000000019713D", as payload claim 13


#: Refusal codes and their words (what the checking page says to the person holding the phone).
MESSAGES: Final = {
    "show_code.not_ours": "不是本系统的亮证码",
    "show_code.forged": "亮证码签名无效，可能是伪造或被篡改",
    "show_code.withdrawn": "亮证码的签名密钥已撤回，不能信任",
    "show_code.expired": "亮证码已过期，请持证人刷新后重新出示",
    "show_code.not_yet": "亮证码的签发时间晚于当前时间，不能信任",
    "show_code.reused": "该亮证码已被核验过，不能重复使用（可能是截图或翻拍）",
    "show_code.unknown_ecert": "电子证照库中没有亮证码所指的证照",
}


class ShowCodeRefused(RoadcertError):
    """A show code that is refused; ``code`` is one of :data:`MESSAGES`.

    Only ``show_code.not_ours`` (text that is not a show code at all) is an input error (422);
    the others are answers about a real code, which the checking page shows with its results.
    """

    status = 422
    code = "show_code.not_ours"

    def __init__(self, code: str, detail: str | None = None) -> None:
        message = MESSAGES[code]
        super().__init__(
            message, code=code, details={"detail": detail} if detail else None, status=422
        )


@dataclass(frozen=True)
class ShowClaims:
    """What a show code asserts: this e-cert version was shown between the two times."""

    identifier: str
    version: int
    issued_at: datetime
    expires_at: datetime
    nonce: bytes

    @property
    def serial(self) -> str:
        """The certificate serial the identifier names."""
        return ecert_id.parse(self.identifier).serial

    @property
    def issuer_code(self) -> str:
        """The USCC of the issuing authority named in the identifier."""
        return ecert_id.parse(self.identifier).issuer_code


# -- making ------------------------------------------------------------------------------------


def sign_show_code(claims: ShowClaims, kid: bytes, signer: Callable[[bytes], bytes]) -> bytes:
    """The COSE_Sign1 of ``claims`` signed by ``signer`` (a key store signer) under ``kid``."""
    if len(kid) != _KID_LENGTH:
        raise ValueError(f"kid must be {_KID_LENGTH} bytes, got {len(kid)}")
    if len(claims.nonce) != NONCE_BYTES:
        raise ValueError(f"nonce must be {NONCE_BYTES} bytes")
    if claims.issued_at.tzinfo is None or claims.expires_at.tzinfo is None:
        raise ValueError("show code times must be timezone-aware")
    if not claims.issued_at < claims.expires_at <= claims.issued_at + MAX_TTL:
        raise ValueError(f"a show code lives more than 0 and at most {MAX_TTL} seconds")
    parsed = ecert_id.parse(claims.identifier)
    if parsed.version != claims.version:
        raise ValueError("version differs from the identifier's")
    body: dict[int, Any] = {
        ShowClaim.VERSION: claims.version,
        ShowClaim.ISSUED_AT: int(claims.issued_at.timestamp()),
        ShowClaim.EXPIRES_AT: int(claims.expires_at.timestamp()),
        ShowClaim.NONCE: bytes(claims.nonce),
    }
    if claims.identifier.startswith(payload.MOT_IDENTIFIER_PREFIX):
        body[ShowClaim.MOT_IDENTIFIER] = claims.identifier[len(payload.MOT_IDENTIFIER_PREFIX) :]
    else:
        body[ShowClaim.IDENTIFIER] = claims.identifier
    return cose.sign1(cbor.canonical(body), signer, kid=kid, typ=SHOW_CODE_TYP)


def text_of(message: bytes, host: str) -> str:
    """The QR text ``HTTPS://<HOST>/S/<BASE32>`` (QR alphanumeric characters only)."""
    # The e-cert code's writer checks the host and writes the base32; only the path differs.
    ecert_form = payload.to_text(message, host)
    prefix, _, data = ecert_form.rpartition(_PATH_SEGMENT)
    return f"{prefix}/S/{data}"


# -- reading -----------------------------------------------------------------------------------


def cose_of(text: str) -> bytes:
    """The COSE bytes in a show code's text: the ``/S/`` URL or the bare base32 after it.

    Raises :class:`ShowCodeRefused` ``show_code.not_ours`` for anything else, an e-cert's own
    ``/R/`` code included.
    """
    if not isinstance(text, str):
        raise ShowCodeRefused("show_code.not_ours", "应为文本")
    text = text.strip()
    if len(text) > payload.MAX_TEXT_CHARS:
        raise ShowCodeRefused("show_code.not_ours", "内容过长")
    if "/" in text or ":" in text:
        match = _URL_PATTERN.fullmatch(text)
        if match is None:
            raise ShowCodeRefused("show_code.not_ours", "地址不是 …/S/<数据>")
        text = match.group("data")
    try:
        # The same base32 reader as the e-cert code: alphabet, length and truncation checks.
        return payload.from_text(text)
    except payload.PayloadError as exc:
        raise ShowCodeRefused("show_code.not_ours", exc.message) from exc


def open_code(message: bytes) -> tuple[cose.Sign1, dict[Any, Any]]:
    """The COSE_Sign1 of a show code and its still-unchecked claim map.

    Refuses (``show_code.not_ours``) anything that is not a COSE_Sign1 of :data:`SHOW_CODE_TYP`
    with an 8-byte ``kid``. The claims mean nothing until the signature has been checked; read
    them with :func:`read_claims` only then.
    """
    try:
        sign1, body = cose.open_typed(message, typ=SHOW_CODE_TYP, max_size=MAX_SHOW_COSE_BYTES)
    except cose.CoseError as exc:
        raise ShowCodeRefused("show_code.not_ours", exc.message) from exc
    if sign1.kid is None or len(sign1.kid) != _KID_LENGTH:
        raise ShowCodeRefused("show_code.not_ours", "缺少签名密钥标识（kid）")
    return sign1, body


def read_claims(body: dict[Any, Any]) -> ShowClaims:
    """The claims of a show code whose signature has been checked.

    A signed claim map that breaks the format can only come from a faulty signer; it is refused
    as ``show_code.not_ours`` all the same.
    """
    present = [key for key in (ShowClaim.IDENTIFIER, ShowClaim.MOT_IDENTIFIER) if key in body]
    if len(present) != 1:
        raise ShowCodeRefused("show_code.not_ours", "证照标识须恰有一项")
    raw_identifier = body[present[0]]
    if not isinstance(raw_identifier, str):
        raise ShowCodeRefused("show_code.not_ours", "证照标识应为文本")
    identifier = (
        payload.MOT_IDENTIFIER_PREFIX + raw_identifier
        if present[0] == ShowClaim.MOT_IDENTIFIER
        else raw_identifier
    )
    try:
        parsed = ecert_id.parse(identifier)
    except ValueError as exc:
        raise ShowCodeRefused("show_code.not_ours", f"证照标识无效（{exc}）") from exc
    version = _uint(body, ShowClaim.VERSION, 999)
    if version != parsed.version:
        raise ShowCodeRefused("show_code.not_ours", "版本号与证照标识不符")
    nonce = body.get(ShowClaim.NONCE)
    if not isinstance(nonce, bytes) or len(nonce) != NONCE_BYTES:
        raise ShowCodeRefused("show_code.not_ours", f"随机数应为 {NONCE_BYTES} 字节")
    issued_at = _time(body, ShowClaim.ISSUED_AT)
    expires_at = _time(body, ShowClaim.EXPIRES_AT)
    return ShowClaims(identifier, version, issued_at, expires_at, nonce)


def _uint(body: dict[Any, Any], key: int, maximum: int) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ShowCodeRefused("show_code.not_ours", f"第 {key} 项应为 0–{maximum} 的整数")
    return value


def _time(body: dict[Any, Any], key: int) -> datetime:
    return datetime.fromtimestamp(_uint(body, key, _MAX_EPOCH_SECONDS), UTC)


def freshness(claims: ShowClaims, now: datetime) -> str | None:
    """The refusal code if ``now`` is outside the code's life (with clock skew), else None."""
    if claims.expires_at - claims.issued_at > MAX_TTL or claims.expires_at <= claims.issued_at:
        return "show_code.not_ours"
    if now > claims.expires_at + CLOCK_SKEW:
        return "show_code.expired"
    if now + CLOCK_SKEW < claims.issued_at:
        return "show_code.not_yet"
    return None
