"""Passphrase sealing of data at rest: scrypt → SM4-GCM in a versioned, self-describing envelope.

Envelope, version 1 (all integers unsigned, big-endian)::

    magic      6  b"RCSEAL"
    version    1  0x01
    kdf        1  0x01 = scrypt
    log2_n     1  scrypt cost N = 2**log2_n
    r          1  scrypt block size
    p          1  scrypt parallelism
    salt      16  random
    cipher     1  0x01 = SM4-GCM
    nonce     12  random
    check     16  SM3 of the second half of the scrypt output, truncated: tells a wrong
                  passphrase apart from damaged ciphertext
    body       *  SM4-GCM ciphertext followed by its 16-byte tag

The whole header (everything before ``body``) is GCM associated data, so no field of it can be
changed without detection.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from dataclasses import dataclass

from tongsuopy.crypto.ciphers.aead import SM4GCM

from roadcert.crypto.errors import KeyStoreError
from roadcert.crypto.sm import sm3

MAGIC = b"RCSEAL"
VERSION = 1
_KDF_SCRYPT = 1
_CIPHER_SM4_GCM = 1
_SALT_BYTES = 16
_NONCE_BYTES = 12
_CHECK_BYTES = 16
_TAG_BYTES = 16
_HEADER = struct.Struct(f">{len(MAGIC)}sBBBBB{_SALT_BYTES}sB{_NONCE_BYTES}s{_CHECK_BYTES}s")

# Upper bounds on parameters read from a blob, so a crafted file cannot make open_sealed
# allocate gigabytes or spin for minutes.
_MAX_LOG2_N = 20
_MAX_R = 32
_MAX_P = 16


@dataclass(frozen=True)
class ScryptParams:
    """scrypt cost parameters; memory use is about 128 · 2**log2_n · r bytes."""

    log2_n: int = 15
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        if not (
            1 <= self.log2_n <= _MAX_LOG2_N and 1 <= self.r <= _MAX_R and 1 <= self.p <= _MAX_P
        ):
            raise ValueError(f"scrypt parameters out of range: {self}")


# 2**15 · 8 is 32 MiB and about 0.1 s per derivation here: slow for guessing, yet a key store
# holding one key per issuing authority still unlocks in seconds. Each blob records its own
# parameters, so they can be raised later without breaking existing files.
DEFAULT_SCRYPT = ScryptParams()


def seal(plaintext: bytes, passphrase: str, *, params: ScryptParams = DEFAULT_SCRYPT) -> bytes:
    """Encrypt ``plaintext`` under ``passphrase``; return the self-describing envelope."""
    salt = os.urandom(_SALT_BYTES)
    nonce = os.urandom(_NONCE_BYTES)
    key, check = _derive(passphrase, salt, params)
    header = _HEADER.pack(
        MAGIC,
        VERSION,
        _KDF_SCRYPT,
        params.log2_n,
        params.r,
        params.p,
        salt,
        _CIPHER_SM4_GCM,
        nonce,
        check,
    )
    body: bytes = SM4GCM(key).encrypt(nonce, bytes(plaintext), header)
    return header + body


def open_sealed(blob: bytes, passphrase: str) -> bytes:
    """Decrypt an envelope made by ``seal``.

    Raises ``KeyStoreError`` with code ``keystore.passphrase`` for a wrong passphrase and
    ``keystore.corrupt`` for a blob that is not an envelope or whose ciphertext was altered. A
    changed salt or scrypt parameter changes the derived key, so it reads as a wrong passphrase.
    """
    blob = bytes(blob)
    if len(blob) < _HEADER.size + _TAG_BYTES or not blob.startswith(MAGIC):
        raise _corrupt("not a sealed roadcert blob")
    header = blob[: _HEADER.size]
    (_, version, kdf, log2_n, r, p, salt, cipher, nonce, check) = _HEADER.unpack(header)
    if version != VERSION or kdf != _KDF_SCRYPT or cipher != _CIPHER_SM4_GCM:
        raise _corrupt(f"unsupported envelope (version {version}, kdf {kdf}, cipher {cipher})")
    try:
        params = ScryptParams(log2_n, r, p)
    except ValueError as exc:
        raise _corrupt("scrypt parameters out of range") from exc
    key, expected_check = _derive(passphrase, salt, params)
    if not hmac.compare_digest(check, expected_check):
        raise KeyStoreError(
            "keystore.passphrase",
            "口令错误（或文件头已损坏），无法解密 / wrong passphrase (or a damaged header): "
            "the sealed data cannot be decrypted",
        )
    try:
        plaintext: bytes = SM4GCM(key).decrypt(nonce, blob[_HEADER.size :], header)
    except Exception as exc:  # tongsuopy's InvalidTag: the ciphertext or header was changed
        raise _corrupt("authentication failed: the data was altered or damaged") from exc
    return plaintext


def _derive(passphrase: str, salt: bytes, params: ScryptParams) -> tuple[bytes, bytes]:
    if not isinstance(passphrase, str) or not passphrase:
        raise KeyStoreError(
            "keystore.passphrase", "口令不能为空 / the passphrase must be a non-empty string"
        )
    n = 1 << params.log2_n
    material = hashlib.scrypt(
        passphrase.encode("utf-8"),
        salt=salt,
        n=n,
        r=params.r,
        p=params.p,
        dklen=32,
        # hashlib's default ceiling (32 MiB) is just below what the default parameters need.
        maxmem=256 * n * params.r + (1 << 20),
    )
    return material[:16], sm3(material[16:])[:_CHECK_BYTES]


def _corrupt(detail: str) -> KeyStoreError:
    return KeyStoreError(
        "keystore.corrupt", f"加密数据已损坏或被篡改 / sealed data is damaged or altered: {detail}"
    )
