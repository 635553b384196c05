"""The signed payload of an e-cert's 2D code: COSE_Sign1 (RFC 9052 §4.2) with SM2/SM3, as text.

The QR code printed on a face holds ``HTTPS://<VERIFY HOST>/R/<BASE32>``, where the base32 is a
tagged COSE_Sign1 over a small CBOR claim set (integer keys, deterministic encoding). An offline
verifier needs nothing but this text, the signed trust list (to find the signer's public key by
``kid``) and, for the status, a status list. ``docs/payload.md`` is the byte-level specification;
this module is its reference implementation.

Reading a code goes ``from_text`` → ``open_envelope`` (structure only) → ``verify`` (signature) →
``decode_claims``. Claims are never read before their signature has been checked: the
verification service enforces that order, and ``open_envelope`` deliberately returns the payload
as opaque bytes so that nothing else is possible.

Every refusal is a :class:`PayloadError` with its own code, so truncated, oversized, non-base32,
wrong-prefix and malformed codes each get a clear answer; nothing else escapes the decoders.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import IntEnum
from types import MappingProxyType
from typing import Any, Final

from roadcert.catalog import codes
from roadcert.catalog.types import MOT_USCC
from roadcert.certificates.models import Ecert
from roadcert.crypto import cbor, sm
from roadcert.errors import BadInput
from roadcert.kit import ecert_id

__all__ = [
    "ALG_SM2_SM3",
    "COSE_SIGN1_TAG",
    "KID_LENGTH",
    "MAX_COSE_BYTES",
    "MAX_TEXT_CHARS",
    "Claim",
    "Claims",
    "Envelope",
    "PayloadError",
    "claims_for",
    "decode_claims",
    "from_text",
    "open_envelope",
    "sign",
    "to_text",
    "verify",
]

ALG_SM2_SM3: Final = -10197501
"""COSE ``alg`` for SM2 signature with SM3 and the default user ID ``1234567812345678``.

COSE registers no SM2 algorithm, so this is a roadcert-specific value from the private-use range
(below −65536, RFC 9053 §10 / IANA "COSE Algorithms"); the digits recall the OID of SM2-with-SM3,
1.2.156.10197.1.501. It is the only algorithm accepted.
"""

KID_LENGTH: Final = 8
"""``kid``: the first 8 bytes of the SM3 digest of the signer certificate's DER."""

MAX_TEXT_CHARS: Final = 2000
"""Longest QR text accepted, checked before any decoding."""

MAX_COSE_BYTES: Final = 1200
"""Largest COSE_Sign1 accepted (after base32 decoding; nothing is compressed)."""

COSE_SIGN1_TAG: Final = 18
# Tag 18 has a one-byte head (major type 6, argument 18 < 24): 0xC0 | 18.
_TAG_BYTE: Final = bytes([0xC0 | COSE_SIGN1_TAG])
_HEADER_ALG: Final = 1
_HEADER_KID: Final = 4
_SIGNATURE_LENGTH: Final = 64
_SIG_CONTEXT: Final = "Signature1"

_BASE32_ALPHABET: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
# Unpadded base32 ends after 0, 2, 4, 5 or 7 characters of a last 8-character group.
_BASE32_PARTIAL_LENGTHS: Final = frozenset({0, 2, 4, 5, 7})
_MAX_BASE32_CHARS: Final = (MAX_COSE_BYTES * 8 + 4) // 5
_HOST_PATTERN: Final = re.compile(r"[A-Z0-9](?:[A-Z0-9.-]*[A-Z0-9])?(?::[0-9]{1,5})?")
_URL_PATTERN: Final = re.compile(
    r"(?P<scheme>https?)://(?P<host>[A-Z0-9.:-]+)/R/(?P<data>.*)", re.IGNORECASE | re.DOTALL
)


class Claim(IntEnum):
    """Integer keys of the claim map (documented in ``docs/payload.md``)."""

    IDENTIFIER = 1  # 证照标识, GB/T 36904, text
    NUMBER = 2  # 证照编号 (证号), text
    HOLDER_NAME = 3  # 持证主体, text
    HOLDER_CODE = 4  # 持证主体代码 (USCC or ID number), text
    VALID_FROM = 5  # 有效期起始日期, uint YYYYMMDD
    VALID_UNTIL = 6  # 有效期截止日期, uint YYYYMMDD
    STATUS_INDEX = 7  # index in the authority's status list, uint
    ISSUED_AT = 8  # signing time of this version, uint epoch seconds
    PLATE = 9  # 车牌号码: [plate text, colour uint], or the printed text
    BUSINESS_SCOPE = 10  # 经营范围: [uint] of 5-digit codes, or text
    CATEGORIES = 11  # 从业资格类别: [uint] of 5-digit codes
    DRIVING_CLASS = 12  # 准驾车型, text
    # 证照标识 of a type the Ministry of Transport defines, without the constant
    # "1.2.156.3005.2.11100000000019713D" (33 bytes the QR budget cannot spare): "013.<issuer>…".
    MOT_IDENTIFIER = 13


# Every road-transport identifier starts with this; key 13 carries the rest.
MOT_IDENTIFIER_PREFIX: Final = f"{ecert_id.ROOT}.{MOT_USCC}"


# Exactly one of IDENTIFIER and MOT_IDENTIFIER is present as well.
_IDENTIFIER_CLAIMS: Final = (Claim.IDENTIFIER, Claim.MOT_IDENTIFIER)
_REQUIRED_CLAIMS: Final = (
    Claim.NUMBER,
    Claim.HOLDER_NAME,
    Claim.HOLDER_CODE,
    Claim.VALID_FROM,
    Claim.VALID_UNTIL,
    Claim.STATUS_INDEX,
    Claim.ISSUED_AT,
)

# Face items a code carries, by certificate type suffix, keyed by their face-item key.
_ITEM_CLAIMS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "plate": Claim.PLATE,
        "business_scope": Claim.BUSINESS_SCOPE,
        "categories": Claim.CATEGORIES,
        "driving_class": Claim.DRIVING_CLASS,
    }
)
_LICENCE_ITEMS: Final = ("business_scope",)
_VEHICLE_ITEMS: Final = ("plate",)
_ITEMS_BY_SUFFIX: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "008": _LICENCE_ITEMS,
        "016": _LICENCE_ITEMS,
        "074": _LICENCE_ITEMS,
        "079": _LICENCE_ITEMS,
        "013": _VEHICLE_ITEMS,
        "073": _VEHICLE_ITEMS,
        "071": ("categories", "driving_class"),
        "072": ("driving_class",),
        "075": ("driving_class",),
    }
)

_CODE_DIGITS: Final = 5  # business scope and qualification category codes
_MAX_CODE: Final = 10**_CODE_DIGITS - 1
_MAX_STATUS_INDEX: Final = 2**32 - 1
_MAX_EPOCH_SECONDS: Final = 253_402_300_799  # 9999-12-31T23:59:59Z
_SCOPE_SEPARATOR: Final = "，"  # how faces.scope_text joins scope labels
_PRINTED_PLATE: Final = re.compile(
    r"(?P<plate>[^（）]+)（(?P<colour>[^（）]+)）"
)  # faces.plate_text

_MESSAGES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "payload.prefix": "二维码内容不是本系统的电子证照核验地址（应为 HTTPS://<主机>/R/<数据>）",
        "payload.base32": "二维码数据含有非 BASE32 字符或编码不规范",
        "payload.too_large": "二维码数据超出长度上限",
        "payload.truncated": "二维码数据不完整（被截断）",
        "payload.cbor": "二维码数据不是合规的 CBOR 编码",
        "payload.structure": "二维码数据不是 COSE_Sign1 签名结构",
        "payload.alg": "二维码签名算法不受支持（仅支持 SM2/SM3）",
        "payload.kid": "二维码缺少签名密钥标识（kid）或其长度不对",
        "payload.claims": "二维码证照数据缺项或类型不对",
    }
)


class PayloadError(BadInput):
    """A 2D-code payload that cannot be read; ``code`` says which rule it breaks.

    Codes: ``payload.prefix``, ``payload.base32``, ``payload.too_large``, ``payload.truncated``,
    ``payload.cbor``, ``payload.structure``, ``payload.alg``, ``payload.kid``, ``payload.claims``.
    """

    def __init__(self, code: str, detail: str | None = None) -> None:
        message = _MESSAGES[code]
        if detail:
            message = f"{message}：{detail}"
        super().__init__(message, code=code)


@dataclass(frozen=True)
class Claims:
    """What a 2D code asserts about one e-cert version.

    ``items`` holds the type's key face items under their face-item keys, as the face prints
    them: ``plate`` (``吉A12345（黄色）``), ``business_scope`` (the printed scope text),
    ``driving_class`` (``A2``); ``categories`` is the list of 5-digit qualification category
    codes. Empty items are left out.
    """

    identifier: str
    number: str
    holder_name: str
    holder_code: str
    valid_from: date
    valid_until: date
    status_index: int
    issued_at: datetime
    items: dict[str, Any]

    @property
    def type_code(self) -> str:
        """The 21-character 证照类型代码, read from the identifier."""
        return ecert_id.parse(self.identifier).type_code


@dataclass(frozen=True)
class Envelope:
    """A structurally sound COSE_Sign1 whose signature has not been checked yet.

    ``payload`` is the still-encoded claim map: read it only with :func:`decode_claims`, after
    :func:`verify` returned True.
    """

    kid: bytes
    alg: int
    protected: bytes
    payload: bytes
    signature: bytes

    def to_be_signed(self) -> bytes:
        """The RFC 9052 §4.4 Sig_structure ``["Signature1", protected, h'', payload]``."""
        return _sig_structure(self.protected, self.payload)


# -- building --------------------------------------------------------------------------------


def claims_for(ecert: Ecert, status_index: int) -> Claims:
    """The claims of an issued e-cert version, with its index in the status list."""
    type_suffix = ecert_id.parse(ecert.identifier).type_code[-3:]
    items: dict[str, Any] = {}
    for key in _ITEMS_BY_SUFFIX.get(type_suffix, ()):
        value = ecert.face.get(key)
        if key == "categories":
            value = [str(category["code"]) for category in value or ()]
        if value:
            items[key] = value
    if ecert.issued_at.tzinfo is None:
        raise ValueError("e-cert issued_at must be timezone-aware")
    return Claims(
        identifier=ecert.identifier,
        number=ecert.number,
        holder_name=ecert.holder_name,
        holder_code=ecert.holder_code,
        valid_from=ecert.valid_from,
        valid_until=ecert.valid_until,
        status_index=status_index,
        # The code carries whole seconds; dropping the fraction here keeps claims round-trips exact.
        issued_at=ecert.issued_at.astimezone(UTC).replace(microsecond=0),
        items=items,
    )


def sign(claims: Claims, kid: bytes, signer: Callable[[bytes], bytes]) -> bytes:
    """Sign ``claims`` as a tagged COSE_Sign1 under key ``kid`` (8 bytes).

    ``signer`` signs bytes with SM2/SM3 and returns a DER signature, as ``KeyStore.signer``
    does; the message stores it as raw 64-byte ``r‖s``. Raises ``ValueError`` for a bad ``kid``
    or claims that cannot be encoded, :class:`PayloadError` ``payload.too_large`` when the
    message would exceed :data:`MAX_COSE_BYTES`.
    """
    kid = bytes(kid)
    if len(kid) != KID_LENGTH:
        raise ValueError(f"kid must be {KID_LENGTH} bytes, got {len(kid)}")
    protected = cbor.canonical({_HEADER_ALG: ALG_SM2_SM3})
    payload = cbor.canonical(_encode_claims(claims))
    signature = _raw_signature(signer(_sig_structure(protected, payload)))
    message = _TAG_BYTE + cbor.canonical([protected, {_HEADER_KID: kid}, payload, signature])
    if len(message) > MAX_COSE_BYTES:
        raise PayloadError("payload.too_large", f"{len(message)} 字节，上限 {MAX_COSE_BYTES}")
    return message


def to_text(cose: bytes, host: str) -> str:
    """The QR text ``HTTPS://<HOST>/R/<BASE32>``: only QR alphanumeric-mode characters.

    ``host`` (``zz.jtt.jl.gov.cn`` or ``127.0.0.1:8000``) is upper-cased; the base32 is RFC 4648
    without padding.
    """
    upper_host = host.strip().upper()
    if not _HOST_PATTERN.fullmatch(upper_host):
        raise ValueError(f"verify host {host!r} is not a host name with an optional port")
    if not 0 < len(cose) <= MAX_COSE_BYTES:
        raise ValueError(f"COSE message of {len(cose)} bytes is outside 1–{MAX_COSE_BYTES}")
    data = base64.b32encode(bytes(cose)).decode("ascii").rstrip("=")
    return f"HTTPS://{upper_host}/R/{data}"


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor.canonical([_SIG_CONTEXT, protected, b"", payload])


def _raw_signature(signature: bytes) -> bytes:
    try:
        return sm.der_to_raw(signature)
    except ValueError:
        # A signer that already answers in raw r‖s form is accepted as such.
        if len(signature) == _SIGNATURE_LENGTH:
            return bytes(signature)
        raise


def _encode_claims(claims: Claims) -> dict[int, Any]:
    ecert_id.parse(claims.identifier)  # ValueError with a Chinese message if malformed
    if claims.issued_at.tzinfo is None:
        raise ValueError("claims.issued_at must be timezone-aware")
    if not 0 <= claims.status_index <= _MAX_STATUS_INDEX:
        raise ValueError(f"status index {claims.status_index} outside 0–{_MAX_STATUS_INDEX}")
    encoded: dict[int, Any] = {
        Claim.NUMBER: claims.number,
        Claim.HOLDER_NAME: claims.holder_name,
        Claim.HOLDER_CODE: claims.holder_code,
        Claim.VALID_FROM: _date_to_int(claims.valid_from),
        Claim.VALID_UNTIL: _date_to_int(claims.valid_until),
        Claim.STATUS_INDEX: claims.status_index,
        Claim.ISSUED_AT: int(claims.issued_at.timestamp()),
    }
    if claims.identifier.startswith(MOT_IDENTIFIER_PREFIX):
        encoded[Claim.MOT_IDENTIFIER] = claims.identifier[len(MOT_IDENTIFIER_PREFIX) :]
    else:
        encoded[Claim.IDENTIFIER] = claims.identifier
    allowed = _ITEMS_BY_SUFFIX.get(claims.type_code[-3:], ())
    for key, value in claims.items.items():
        if key not in allowed:
            raise ValueError(f"face item {key!r} is not carried by type {claims.type_code}")
        if key == "business_scope":
            encoded[Claim.BUSINESS_SCOPE] = _scope_to_claim(str(value))
        elif key == "plate":
            encoded[Claim.PLATE] = _plate_to_claim(str(value))
        elif key == "categories":
            encoded[Claim.CATEGORIES] = [_code_to_int(str(code)) for code in value]
        else:
            encoded[_ITEM_CLAIMS[key]] = str(value)
    return encoded


def _date_to_int(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def _code_to_int(code: str) -> int:
    if len(code) != _CODE_DIGITS or not code.isascii() or not code.isdigit():
        raise ValueError(f"code {code!r} is not {_CODE_DIGITS} digits")
    return int(code)


def _code_text(value: int) -> str:
    return f"{value:0{_CODE_DIGITS}d}"


def _scope_to_claim(text: str) -> list[int] | str:
    """Scope text as its codes when the code table gives back exactly that text, else the text.

    Codes take 3 bytes where a label takes up to 45, which is what keeps a dangerous-goods
    licence within the QR budget.
    """
    parts = text.split(_SCOPE_SEPARATOR)
    by_label = {scope.label: scope.value for scope in codes.BusinessScope}
    found: list[int] = []
    for part in parts:
        code = by_label.get(part, part)
        if len(code) != _CODE_DIGITS or not code.isascii() or not code.isdigit():
            return text
        found.append(int(code))
    return found if _scope_from_codes(found) == text else text


def _plate_to_claim(text: str) -> list[Any] | str:
    """``吉A12345（黄色）`` as ``["吉A12345", 2]`` when the colour table gives back that text."""
    match = _PRINTED_PLATE.fullmatch(text)
    if match is None:
        return text
    by_label = {colour.label: colour.value for colour in codes.PlateColor}
    code = by_label.get(match.group("colour"), match.group("colour"))
    if not code.isascii() or not code.isdigit() or str(int(code)) != code:
        return text
    claim: list[Any] = [match.group("plate"), int(code)]
    return claim if _plate_from_claim(claim) == text else text


def _plate_from_claim(claim: list[Any]) -> str:
    plate, colour = claim
    code = str(colour)
    try:
        label = codes.PlateColor.from_code(code).label
    except ValueError:
        label = code  # as faces.label prints a code missing from the table
    return f"{plate}（{label}）"


def _scope_from_codes(values: list[int]) -> str:
    labels = []
    for value in values:
        code = _code_text(value)
        try:
            labels.append(codes.BusinessScope.from_code(code).label)
        except ValueError:
            labels.append(code)  # as faces.label prints a code missing from the table
    return _SCOPE_SEPARATOR.join(labels)


# -- reading ---------------------------------------------------------------------------------


def from_text(text: str) -> bytes:
    """The COSE bytes in a QR text: the ``HTTP(S)://<host>/R/<BASE32>`` URL or bare base32.

    Scheme, host and base32 are read in any case. Raises :class:`PayloadError` ``payload.prefix``,
    ``payload.base32``, ``payload.too_large`` or ``payload.truncated``.
    """
    if not isinstance(text, str):
        raise PayloadError("payload.prefix", "二维码内容应为文本")
    if len(text) > MAX_TEXT_CHARS:
        raise PayloadError("payload.too_large", f"{len(text)} 个字符，上限 {MAX_TEXT_CHARS}")
    text = text.strip()
    if "/" in text or ":" in text:
        match = _URL_PATTERN.fullmatch(text)
        if match is None:
            raise PayloadError("payload.prefix")
        data = match.group("data")
    else:
        data = text
    data = data.upper()
    if not data:
        raise PayloadError("payload.truncated", "没有数据")
    bad = next((ch for ch in data if ch not in _BASE32_ALPHABET), None)
    if bad is not None:
        raise PayloadError("payload.base32", f"字符 {bad!r}")
    if len(data) > _MAX_BASE32_CHARS:
        raise PayloadError("payload.too_large", f"解码后超过 {MAX_COSE_BYTES} 字节")
    if len(data) % 8 not in _BASE32_PARTIAL_LENGTHS:
        raise PayloadError("payload.truncated", "BASE32 长度不完整")
    try:
        decoded = base64.b32decode(data + "=" * (-len(data) % 8))
    except (binascii.Error, ValueError) as exc:  # unreachable after the checks above
        raise PayloadError("payload.base32") from exc
    # The unused low bits of the last character are zero in every text to_text writes (one text
    # per payload). Set bits mean the text was cut inside a group of 8 characters, since the bits
    # then belong to a byte that is missing.
    if base64.b32encode(decoded).decode("ascii").rstrip("=") != data:
        raise PayloadError("payload.truncated", "末字符不完整")
    return decoded


def open_envelope(cose: bytes) -> Envelope:
    """Parse a tagged COSE_Sign1 strictly, without reading its claims or checking its signature.

    Accepts only: tag 18 (one byte, ``0xD2``), then the deterministic CBOR of
    ``[protected bstr, {4: kid}, payload bstr, signature bstr(64)]`` whose protected header is
    ``{1: ALG_SM2_SM3}``. Raises :class:`PayloadError` (``payload.too_large``,
    ``payload.truncated``, ``payload.cbor``, ``payload.structure``, ``payload.alg``,
    ``payload.kid``).
    """
    if not isinstance(cose, bytes | bytearray | memoryview):
        raise PayloadError("payload.structure", "应为字节串")
    cose = bytes(cose)
    if len(cose) > MAX_COSE_BYTES:
        raise PayloadError("payload.too_large", f"{len(cose)} 字节，上限 {MAX_COSE_BYTES}")
    if not cose:
        raise PayloadError("payload.truncated", "没有数据")
    if cose[:1] != _TAG_BYTE:
        raise PayloadError("payload.structure", f"缺少 COSE_Sign1 标签 {COSE_SIGN1_TAG}")
    message = _decode_cbor(cose[1:])
    if not isinstance(message, list) or len(message) != 4:
        raise PayloadError("payload.structure", "应为 4 项数组")
    protected, unprotected, payload, signature = message
    if not isinstance(protected, bytes):
        raise PayloadError("payload.structure", "受保护头应为字节串")
    if not isinstance(unprotected, dict):
        raise PayloadError("payload.structure", "非保护头应为映射")
    if not isinstance(payload, bytes):
        raise PayloadError("payload.structure", "载荷应为字节串（不支持分离载荷）")
    if not isinstance(signature, bytes) or len(signature) != _SIGNATURE_LENGTH:
        raise PayloadError("payload.structure", f"签名应为 {_SIGNATURE_LENGTH} 字节 r‖s")
    alg = _read_protected(protected)
    kid = unprotected.get(_HEADER_KID)
    if not isinstance(kid, bytes) or len(kid) != KID_LENGTH:
        raise PayloadError("payload.kid", f"kid 应为 {KID_LENGTH} 字节")
    if set(unprotected) != {_HEADER_KID}:
        raise PayloadError("payload.structure", "非保护头只应含 kid")
    return Envelope(kid=kid, alg=alg, protected=protected, payload=payload, signature=signature)


def verify(envelope: Envelope, public_key: sm.PublicKey) -> bool:
    """Whether the envelope's SM2/SM3 signature is valid under ``public_key``; never raises."""
    try:
        if envelope.alg != ALG_SM2_SM3 or len(envelope.signature) != _SIGNATURE_LENGTH:
            return False
        return sm.verify(public_key, envelope.to_be_signed(), envelope.signature)
    except Exception:  # a wrong key object or odd input means "not verified", never a crash
        return False


def decode_claims(envelope: Envelope) -> Claims:
    """Read the claims of an envelope whose signature :func:`verify` has already accepted.

    Call it only after ``verify`` returned True: claims are worth nothing before, and the
    verification service enforces "verify the signature before reading any claim". Raises
    :class:`PayloadError` ``payload.cbor`` or ``payload.claims``.
    """
    raw = _decode_cbor(envelope.payload)
    if not isinstance(raw, dict):
        raise PayloadError("payload.claims", "证照数据应为映射")
    missing = [key for key in _REQUIRED_CLAIMS if key not in raw]
    if missing:
        raise PayloadError("payload.claims", f"缺少项 {', '.join(str(int(k)) for k in missing)}")
    present = [key for key in _IDENTIFIER_CLAIMS if key in raw]
    if len(present) != 1:
        raise PayloadError("payload.claims", "证照标识须恰有一项（1 或 13）")
    if present[0] == Claim.MOT_IDENTIFIER:
        identifier = MOT_IDENTIFIER_PREFIX + _text(raw, Claim.MOT_IDENTIFIER)
    else:
        identifier = _text(raw, Claim.IDENTIFIER)
    try:
        parsed = ecert_id.parse(identifier)
    except ValueError as exc:
        raise PayloadError("payload.claims", f"证照标识无效（{exc}）") from exc
    suffix = parsed.type_code[-3:]
    if suffix not in _ITEMS_BY_SUFFIX:
        raise PayloadError("payload.claims", f"未知的证照类型 {parsed.type_code}")
    allowed = {_ITEM_CLAIMS[key]: key for key in _ITEMS_BY_SUFFIX[suffix]}
    known = {*_REQUIRED_CLAIMS, *_IDENTIFIER_CLAIMS, *allowed}
    unknown = sorted(str(key) for key in raw if key not in known)
    if unknown:
        raise PayloadError("payload.claims", f"本类证照不应有项 {', '.join(unknown)}")
    items: dict[str, Any] = {}
    for key, name in allowed.items():
        if key in raw:
            items[name] = _item(raw, key)
    return Claims(
        identifier=identifier,
        number=_text(raw, Claim.NUMBER),
        holder_name=_text(raw, Claim.HOLDER_NAME),
        holder_code=_text(raw, Claim.HOLDER_CODE),
        valid_from=_date(raw, Claim.VALID_FROM),
        valid_until=_date(raw, Claim.VALID_UNTIL),
        status_index=_uint(raw, Claim.STATUS_INDEX, _MAX_STATUS_INDEX),
        issued_at=datetime.fromtimestamp(_uint(raw, Claim.ISSUED_AT, _MAX_EPOCH_SECONDS), UTC),
        items=items,
    )


def _decode_cbor(data: bytes) -> Any:
    try:
        return cbor.decode(data, require_canonical=True)
    except ValueError as exc:
        # roadcert.crypto.cbor reports every short read as "CBOR truncated at offset …".
        if "truncated" in str(exc):
            raise PayloadError("payload.truncated") from exc
        raise PayloadError("payload.cbor", str(exc)) from exc


def _read_protected(protected: bytes) -> int:
    if not protected:
        raise PayloadError("payload.alg", "受保护头为空")
    header = _decode_cbor(protected)
    if not isinstance(header, dict):
        raise PayloadError("payload.structure", "受保护头应为映射")
    alg = header.get(_HEADER_ALG)
    if alg != ALG_SM2_SM3:
        raise PayloadError("payload.alg", f"alg = {alg!r}")
    if set(header) != {_HEADER_ALG}:
        raise PayloadError("payload.structure", "受保护头只应含 alg")
    return alg


def _text(raw: dict[Any, Any], key: int) -> str:
    value = raw[key]
    if not isinstance(value, str):
        raise PayloadError("payload.claims", f"第 {key} 项应为文本")
    return value


def _uint(raw: dict[Any, Any], key: int, maximum: int) -> int:
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise PayloadError("payload.claims", f"第 {key} 项应为 0–{maximum} 的整数")
    return value


def _date(raw: dict[Any, Any], key: int) -> date:
    value = _uint(raw, key, 99991231)
    try:
        return date(value // 10000, value // 100 % 100, value % 100)
    except ValueError as exc:
        raise PayloadError("payload.claims", f"第 {key} 项应为 YYYYMMDD 日期") from exc


def _codes(raw: dict[Any, Any], key: int) -> list[int]:
    value = raw[key]
    if not isinstance(value, list) or not all(
        isinstance(code, int) and not isinstance(code, bool) and 0 <= code <= _MAX_CODE
        for code in value
    ):
        raise PayloadError("payload.claims", f"第 {key} 项应为 {_CODE_DIGITS} 位代码的数组")
    return value


def _item(raw: dict[Any, Any], key: int) -> Any:
    if key == Claim.PLATE and not isinstance(raw[key], str):
        value = raw[key]
        if not (
            isinstance(value, list)
            and len(value) == 2
            and isinstance(value[0], str)
            and isinstance(value[1], int)
            and not isinstance(value[1], bool)
            and 0 <= value[1] <= _MAX_CODE
        ):
            raise PayloadError("payload.claims", f"第 {key} 项应为 [号牌, 颜色代码] 或文本")
        return _plate_from_claim(value)
    if key == Claim.CATEGORIES:
        return [_code_text(code) for code in _codes(raw, key)]
    if key == Claim.BUSINESS_SCOPE and not isinstance(raw[key], str):
        return _scope_from_codes(_codes(raw, key))
    return _text(raw, key)
