"""COSE_Sign1 (RFC 9052 §4.2) with SM2/SM3, for the signed lists roadcert publishes.

The structure is standard COSE; only the algorithm is not registered with IANA, so it takes a
value from the private-use range (below -65536, IANA "COSE Algorithms"):
``ALG_SM2_SM3 = -10197501`` (the digits recall the OID of SM2-with-SM3, 1.2.156.10197.1.501),
SM2 with SM3 and the default user ID ``1234567812345678`` (GB/T 32918, GB/T 35276); the QR
payload (``verification/payload.py``) uses the same value. As for ECDSA in COSE (RFC 9053 §2.1)
the signature is the raw 64-byte ``r‖s``, not DER.

Messages written here carry ``alg`` (1) and, when given, ``typ`` (16, RFC 9596) in the protected
header and ``kid`` (4: the 8-byte key id of the signer certificate) in the unprotected one, as the
QR payload and the Status List draft's example do. A changed ``kid`` only makes verification
fail, since the key it names is the one checked. Reading accepts ``kid`` from either header.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from roadcert.crypto import cbor, sm
from roadcert.crypto.errors import CryptoError
from roadcert.crypto.sm import PublicKey

__all__ = [
    "ALG_SM2_SM3",
    "COSE_SIGN1_TAG",
    "HEADER_ALG",
    "HEADER_KID",
    "HEADER_TYP",
    "CoseError",
    "Sign1",
    "decode_sign1",
    "sign1",
]

#: COSE algorithm value of SM2 with SM3 (private use: unregistered with IANA).
ALG_SM2_SM3 = -10197501
#: CBOR tag of a COSE_Sign1 message (RFC 9052 §2).
COSE_SIGN1_TAG = 18
HEADER_ALG = 1
HEADER_KID = 4
HEADER_TYP = 16

_TAG_BYTE = 0xC0 | COSE_SIGN1_TAG  # tag 18 fits in the initial byte: 0xD2
_RAW_SIGNATURE_BYTES = 64


class CoseError(CryptoError):
    """A COSE_Sign1 message could not be read.

    Codes: ``cose.malformed`` (not a COSE_Sign1 structure), ``cose.too_large`` (over the size
    the caller allows), ``cose.alg`` (not SM2/SM3).
    """


@dataclass(frozen=True)
class Sign1:
    """A decoded COSE_Sign1 message; its signature is not checked until :meth:`verify`."""

    protected_bytes: bytes
    protected: dict[int, Any]
    unprotected: dict[int, Any]
    payload: bytes
    signature: bytes

    @property
    def alg(self) -> int | None:
        """The ``alg`` header (protected only, as RFC 9052 §3.1 advises)."""
        value = self.protected.get(HEADER_ALG)
        return value if isinstance(value, int) else None

    @property
    def kid(self) -> bytes | None:
        """The ``kid`` header, from the protected header if there, else the unprotected one."""
        for header in (self.protected, self.unprotected):
            value = header.get(HEADER_KID)
            if isinstance(value, bytes):
                return value
        return None

    @property
    def typ(self) -> str | None:
        """The ``typ`` header (RFC 9596), protected only."""
        value = self.protected.get(HEADER_TYP)
        return value if isinstance(value, str) else None

    def to_be_signed(self) -> bytes:
        """The ``Sig_structure`` bytes the signature covers (RFC 9052 §4.4), no external AAD."""
        return _sig_structure(self.protected_bytes, self.payload)

    def verify(self, public_key: PublicKey) -> bool:
        """Whether the signature is a valid SM2/SM3 signature by ``public_key``."""
        if self.alg != ALG_SM2_SM3 or len(self.signature) != _RAW_SIGNATURE_BYTES:
            return False
        return sm.verify(public_key, self.to_be_signed(), self.signature)


def sign1(
    payload: bytes,
    signer: Callable[[bytes], bytes],
    *,
    kid: bytes,
    typ: str | None = None,
) -> bytes:
    """Sign ``payload`` as a tagged COSE_Sign1 message with SM2/SM3.

    ``signer`` is a key store signing function (``KeyStore.signer``), which returns a DER
    signature; the message carries it as raw ``r‖s``.
    """
    protected: dict[int, Any] = {HEADER_ALG: ALG_SM2_SM3}
    if typ is not None:
        protected[HEADER_TYP] = typ
    protected_bytes = cbor.canonical(protected)
    signature = sm.der_to_raw(signer(_sig_structure(protected_bytes, payload)))
    unprotected = {HEADER_KID: bytes(kid)}
    return bytes([_TAG_BYTE]) + cbor.canonical(
        [protected_bytes, unprotected, bytes(payload), signature]
    )


def decode_sign1(data: bytes, *, max_size: int) -> Sign1:
    """Read a COSE_Sign1 message (tagged or not); refuse one longer than ``max_size`` bytes.

    Only the structure is checked here, and that the algorithm is SM2/SM3; the signature is
    checked by :meth:`Sign1.verify`.
    """
    data = bytes(data)
    if len(data) > max_size:
        raise CoseError("cose.too_large", f"COSE message of {len(data)} bytes exceeds {max_size}")
    body = data[1:] if data[:1] == bytes([_TAG_BYTE]) else data
    try:
        message = cbor.decode(body)
    except ValueError as exc:
        raise CoseError("cose.malformed", f"not CBOR: {exc}") from exc
    if not (isinstance(message, list) and len(message) == 4):
        raise CoseError("cose.malformed", "a COSE_Sign1 message is an array of four items")
    protected_bytes, unprotected, payload, signature = message
    if not (
        isinstance(protected_bytes, bytes)
        and isinstance(unprotected, dict)
        and isinstance(payload, bytes)
        and isinstance(signature, bytes)
    ):
        raise CoseError("cose.malformed", "COSE_Sign1 items have the wrong types")
    try:
        protected = cbor.decode(protected_bytes) if protected_bytes else {}
    except ValueError as exc:
        raise CoseError("cose.malformed", f"protected header is not CBOR: {exc}") from exc
    if not isinstance(protected, dict):
        raise CoseError("cose.malformed", "protected header is not a map")
    message_out = Sign1(protected_bytes, protected, unprotected, payload, signature)
    if message_out.alg != ALG_SM2_SM3:
        raise CoseError(
            "cose.alg", f"algorithm {protected.get(HEADER_ALG)!r} is not SM2/SM3 ({ALG_SM2_SM3})"
        )
    return message_out


def open_typed(data: bytes, *, typ: str, max_size: int) -> tuple[Sign1, dict[Any, Any]]:
    """Decode a COSE_Sign1 of content type ``typ`` whose payload is a CBOR map.

    The signature is not checked. Raises :class:`CoseError` with ``cose.too_large``,
    ``cose.alg``, ``cose.malformed``, ``cose.type`` (another content type) or ``cose.payload``
    (the payload is not a CBOR map).
    """
    message = decode_sign1(data, max_size=max_size)
    if message.typ != typ:
        raise CoseError("cose.type", f"content type is {message.typ!r}, not {typ!r}")
    try:
        body = cbor.decode(message.payload)
    except ValueError as exc:
        raise CoseError("cose.payload", f"payload is not CBOR: {exc}") from exc
    if not isinstance(body, dict):
        raise CoseError("cose.payload", "payload is not a CBOR map")
    return message, body


def list_code(cose_code: str, prefix: str) -> str:
    """A signed list's error code for a :class:`CoseError` code: ``too_large``, ``alg`` and
    ``type`` keep their name under ``prefix``; everything else is ``<prefix>.malformed``."""
    name = cose_code.removeprefix("cose.")
    return f"{prefix}.{name}" if name in ("too_large", "alg", "type") else f"{prefix}.malformed"


def _sig_structure(protected_bytes: bytes, payload: bytes) -> bytes:
    return cbor.canonical(["Signature1", protected_bytes, b"", bytes(payload)])
