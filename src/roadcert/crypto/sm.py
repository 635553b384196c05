"""SM2 signatures and SM3 hashing (GB/T 32918, GB/T 32905) on top of Tongsuo (tongsuopy).

Signatures use SM3 and the default user ID ``1234567812345678`` (GB/T 35276), which is what
tongsuopy applies when an SM2 key signs with ``ECDSA(SM3())``. Signatures leave this module as DER
``SEQUENCE {r, s}``; ``verify`` also accepts the raw 64-byte ``r‖s`` form that other systems emit.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from tongsuopy.crypto import hashes, serialization
from tongsuopy.crypto.asymciphers import ec

SIGNATURE_ALG = "SM2-SM3"
OID_SM2_WITH_SM3 = "1.2.156.10197.1.501"
OID_SM2_CURVE = "1.2.156.10197.1.301"
DEFAULT_USER_ID = b"1234567812345678"

# tongsuopy ships no type information, so these resolve to Any for mypy; they still document
# which object a function expects and are the classes to use with isinstance at run time.
PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey
PublicKey: TypeAlias = ec.EllipticCurvePublicKey

# Order of the SM2 base point (GB/T 32918.5 recommended curve).
CURVE_ORDER = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123

_SCALAR_BYTES = 32
_SIGN_ALGORITHM: Any = ec.ECDSA(hashes.SM3())


def generate_private_key() -> PrivateKey:
    """Generate a new SM2 private key on the recommended curve."""
    return ec.generate_private_key(ec.SM2())


def private_key_from_scalar(d: int) -> PrivateKey:
    """Build the SM2 private key whose secret scalar is ``d`` (1 ≤ d ≤ n − 2)."""
    # SM2 signing inverts (1 + d), so d = n − 1 is not a usable key even though it is below n.
    if not isinstance(d, int) or isinstance(d, bool) or not 1 <= d <= CURVE_ORDER - 2:
        raise ValueError("SM2 private scalar must be an integer in [1, n-2]")
    return ec.derive_private_key(d, ec.SM2())


def public_key_from_xy(x: int, y: int) -> PublicKey:
    """Build an SM2 public key from its affine coordinates; ``ValueError`` if not on the curve."""
    return ec.EllipticCurvePublicNumbers(x, y, ec.SM2()).public_key()


def public_key_xy(public_key: PublicKey) -> tuple[int, int]:
    """Return the affine coordinates ``(x, y)`` of an SM2 public key."""
    numbers = public_key.public_numbers()
    return numbers.x, numbers.y


def public_key_der(public_key: PublicKey) -> bytes:
    """Encode an SM2 public key as DER SubjectPublicKeyInfo."""
    der: bytes = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der


def load_public_key_der(der: bytes) -> PublicKey:
    """Load a DER SubjectPublicKeyInfo holding an SM2 key; ``ValueError`` for anything else."""
    try:
        key = serialization.load_der_public_key(der)
    except Exception as exc:  # tongsuopy reports bad input with several exception types
        raise ValueError("not a DER SubjectPublicKeyInfo") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SM2):
        raise ValueError("public key is not on the SM2 curve")
    return key


def sm3(data: bytes) -> bytes:
    """Return the 32-byte SM3 digest of ``data``."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(bytes(data))
    result: bytes = digest.finalize()
    return result


def sign(private_key: PrivateKey, data: bytes) -> bytes:
    """Sign ``data`` with SM2/SM3 and the default user ID; return DER ``SEQUENCE {r, s}``."""
    signature: bytes = private_key.sign(bytes(data), _SIGN_ALGORITHM)
    return signature


def verify(public_key: PublicKey, data: bytes, signature: bytes) -> bool:
    """Check an SM2/SM3 signature (DER, or raw 64-byte ``r‖s``) made with the default user ID.

    Returns ``False`` for a wrong or malformed signature; it never raises on bad signature bytes.
    """
    candidates: list[bytes] = []
    try:
        r, s = _parse_der(signature)
        candidates.append(_encode_der(r, s))
    except ValueError:
        pass
    # A 64-byte value is almost surely raw r‖s, but a DER signature can also be 64 bytes long
    # (short r and s), so both readings are tried; either needs the private key to produce.
    if len(signature) == 2 * _SCALAR_BYTES:
        r = int.from_bytes(signature[:_SCALAR_BYTES], "big")
        s = int.from_bytes(signature[_SCALAR_BYTES:], "big")
        if _in_range(r) and _in_range(s):
            candidates.append(_encode_der(r, s))
    for der in candidates:
        try:
            public_key.verify(der, bytes(data), _SIGN_ALGORITHM)
        except Exception:  # InvalidSignature, or an OpenSSL error on odd input: both mean "no"
            continue
        return True
    return False


def raw_to_der(sig64: bytes) -> bytes:
    """Convert a raw 64-byte ``r‖s`` signature to DER ``SEQUENCE {r, s}``."""
    if len(sig64) != 2 * _SCALAR_BYTES:
        raise ValueError("raw SM2 signature must be 64 bytes (r‖s)")
    r = int.from_bytes(sig64[:_SCALAR_BYTES], "big")
    s = int.from_bytes(sig64[_SCALAR_BYTES:], "big")
    if not (_in_range(r) and _in_range(s)):
        raise ValueError("SM2 signature values out of range")
    return _encode_der(r, s)


def der_to_raw(der: bytes) -> bytes:
    """Convert a DER ``SEQUENCE {r, s}`` signature to raw 64-byte ``r‖s``."""
    r, s = _parse_der(der)
    return r.to_bytes(_SCALAR_BYTES, "big") + s.to_bytes(_SCALAR_BYTES, "big")


def _in_range(value: int) -> bool:
    return 1 <= value < CURVE_ORDER


def _encode_der(r: int, s: int) -> bytes:
    body = _encode_der_integer(r) + _encode_der_integer(s)
    # r and s are below 2^256, so the body never exceeds 70 bytes and the short length form fits.
    return bytes([0x30, len(body)]) + body


def _encode_der_integer(value: int) -> bytes:
    # One extra bit keeps the sign bit clear, as DER INTEGER is two's complement.
    content = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return bytes([0x02, len(content)]) + content


def _parse_der(der: bytes) -> tuple[int, int]:
    """Strictly parse DER ``SEQUENCE {r, s}``; ``ValueError`` on any deviation from DER."""
    der = bytes(der)
    if len(der) < 8 or der[0] != 0x30 or der[1] != len(der) - 2:
        raise ValueError("not a DER SM2 signature")
    r, offset = _parse_der_integer(der, 2)
    s, offset = _parse_der_integer(der, offset)
    if offset != len(der):
        raise ValueError("trailing bytes after DER SM2 signature")
    if not (_in_range(r) and _in_range(s)):
        raise ValueError("SM2 signature values out of range")
    return r, s


def _parse_der_integer(der: bytes, offset: int) -> tuple[int, int]:
    if offset + 2 > len(der) or der[offset] != 0x02:
        raise ValueError("expected DER INTEGER")
    length = der[offset + 1]
    start = offset + 2
    end = start + length
    if not 1 <= length <= _SCALAR_BYTES + 1 or end > len(der):
        raise ValueError("bad DER INTEGER length")
    content = der[start:end]
    if content[0] & 0x80:
        raise ValueError("negative DER INTEGER")
    if length > 1 and content[0] == 0 and not content[1] & 0x80:
        raise ValueError("non-minimal DER INTEGER")
    return int.from_bytes(content, "big"), end
