"""Sealing data at rest: round trips, and every kind of damage reported as KeyStoreError."""

from __future__ import annotations

import pytest

from roadcert.crypto import sm4
from roadcert.crypto.errors import KeyStoreError

# Cheap scrypt parameters keep the suite fast; the defaults are exercised once below.
FAST = sm4.ScryptParams(log2_n=10, r=8, p=1)
PASSPHRASE = "正确的口令 correct horse"


def sealed(plaintext: bytes = b"PKCS#8 key bytes") -> bytes:
    return sm4.seal(plaintext, PASSPHRASE, params=FAST)


def test_round_trip_with_default_parameters() -> None:
    blob = sm4.seal(b"secret", PASSPHRASE)
    assert blob.startswith(sm4.MAGIC)
    assert blob[len(sm4.MAGIC) + 2] == sm4.DEFAULT_SCRYPT.log2_n
    assert sm4.open_sealed(blob, PASSPHRASE) == b"secret"


@pytest.mark.parametrize("plaintext", [b"", b"x", bytes(range(256)) * 40])
def test_round_trip(plaintext: bytes) -> None:
    assert sm4.open_sealed(sealed(plaintext), PASSPHRASE) == plaintext


def test_each_seal_uses_fresh_salt_and_nonce() -> None:
    assert sealed() != sealed()


def test_wrong_passphrase() -> None:
    with pytest.raises(KeyStoreError) as caught:
        sm4.open_sealed(sealed(), "wrong")
    assert caught.value.code == "keystore.passphrase"
    assert "口令" in caught.value.message
    assert "wrong passphrase" in caught.value.message


def test_empty_passphrase_is_refused() -> None:
    with pytest.raises(KeyStoreError):
        sm4.seal(b"x", "", params=FAST)


def test_every_flipped_byte_is_detected() -> None:
    blob = sealed(b"sixteen byte msg")
    for index in range(len(blob)):
        damaged = bytearray(blob)
        damaged[index] ^= 0x40
        with pytest.raises(KeyStoreError) as caught:
            sm4.open_sealed(bytes(damaged), PASSPHRASE)
        assert caught.value.code in {"keystore.corrupt", "keystore.passphrase"}


def test_flipped_ciphertext_or_tag_reads_as_corrupt() -> None:
    blob = sealed()
    for index in (-1, -20):
        damaged = bytearray(blob)
        damaged[index] ^= 0x01
        with pytest.raises(KeyStoreError) as caught:
            sm4.open_sealed(bytes(damaged), PASSPHRASE)
        assert caught.value.code == "keystore.corrupt"
        assert "篡改" in caught.value.message


@pytest.mark.parametrize("blob", [b"", b"RCSEAL", b"not a sealed blob at all" * 4])
def test_not_an_envelope(blob: bytes) -> None:
    with pytest.raises(KeyStoreError) as caught:
        sm4.open_sealed(blob, PASSPHRASE)
    assert caught.value.code == "keystore.corrupt"


def test_truncated_blob() -> None:
    blob = sealed()
    with pytest.raises(KeyStoreError):
        sm4.open_sealed(blob[:-1], PASSPHRASE)


def test_unknown_version_and_absurd_parameters_are_refused_before_scrypt() -> None:
    version_at = len(sm4.MAGIC)
    newer = bytearray(sealed())
    newer[version_at] = 2
    with pytest.raises(KeyStoreError) as caught:
        sm4.open_sealed(bytes(newer), PASSPHRASE)
    assert caught.value.code == "keystore.corrupt"
    costly = bytearray(sealed())
    costly[version_at + 2] = 40  # log2_n = 40 would need terabytes
    with pytest.raises(KeyStoreError) as caught:
        sm4.open_sealed(bytes(costly), PASSPHRASE)
    assert caught.value.code == "keystore.corrupt"


def test_parameters_are_validated() -> None:
    with pytest.raises(ValueError):
        sm4.ScryptParams(log2_n=0)
