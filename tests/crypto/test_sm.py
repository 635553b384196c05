"""SM2/SM3 against the GB/T known answers and against gmssl, an independent pure-Python SM2."""

from __future__ import annotations

import pytest
from gmssl import sm2 as gmssl_sm2
from hypothesis import given, settings
from hypothesis import strategies as st

from roadcert.crypto import sm
from tests.kit._vectors import section

SM2_VECTOR = section("sm2_signature")[0]


def vector_key() -> sm.PrivateKey:
    return sm.private_key_from_scalar(int(SM2_VECTOR["private_key_hex"], 16))


def vector_signature_raw() -> bytes:
    return bytes.fromhex(SM2_VECTOR["r_hex"]) + bytes.fromhex(SM2_VECTOR["s_hex"])


def gmssl_for(private_key: sm.PrivateKey) -> gmssl_sm2.CryptSM2:
    """A gmssl SM2 object for the same key (gmssl wants hex d and hex x‖y, no 04 prefix)."""
    x, y = sm.public_key_xy(private_key.public_key())
    public_hex = f"{x:064x}{y:064x}"
    # gmssl strips a leading "04" from the public key, even when it is the start of x.
    assert not public_hex.startswith("04")
    d = private_key.private_numbers().private_value
    return gmssl_sm2.CryptSM2(private_key=f"{d:064x}", public_key=public_hex)


@pytest.fixture(scope="module")
def interop_key() -> sm.PrivateKey:
    # A fixed scalar keeps clear of gmssl's "04" prefix quirk and makes failures reproducible.
    return sm.private_key_from_scalar(
        0x5A1B2C3D4E5F60718293A4B5C6D7E8F90123456789ABCDEF0FEDCBA987654321
    )


@pytest.mark.parametrize("vector", section("sm3"), ids=lambda v: v["message_ascii"])
def test_sm3_known_answer(vector: dict[str, str]) -> None:
    digest = sm.sm3(vector["message_ascii"].encode("ascii"))
    assert digest.hex() == vector["digest_hex"]


def test_sm2_vector_public_key_is_derived_from_private_key() -> None:
    x, y = sm.public_key_xy(vector_key().public_key())
    assert f"{x:064x}{y:064x}" == SM2_VECTOR["public_key_xy_hex"]


def test_sm2_vector_user_id_is_the_default() -> None:
    assert SM2_VECTOR["user_id_ascii"].encode("ascii") == sm.DEFAULT_USER_ID


def test_sm2_vector_signature_verifies_as_der_and_raw() -> None:
    xy = bytes.fromhex(SM2_VECTOR["public_key_xy_hex"])
    public = sm.public_key_from_xy(int.from_bytes(xy[:32], "big"), int.from_bytes(xy[32:], "big"))
    message = SM2_VECTOR["message_ascii"].encode("ascii")
    raw = vector_signature_raw()
    assert sm.verify(public, message, raw)
    assert sm.verify(public, message, sm.raw_to_der(raw))


def test_sm2_vector_fails_when_r_or_message_changes() -> None:
    public = vector_key().public_key()
    message = SM2_VECTOR["message_ascii"].encode("ascii")
    raw = bytearray(vector_signature_raw())
    raw[31] ^= 0x01  # lowest bit of r
    assert not sm.verify(public, message, bytes(raw))
    assert not sm.verify(public, message, sm.raw_to_der(bytes(raw)))
    assert not sm.verify(public, b"message digesT", vector_signature_raw())


def test_sign_produces_der_that_verifies() -> None:
    key = sm.generate_private_key()
    signature = sm.sign(key, b"road transport")
    assert signature[0] == 0x30
    assert sm.verify(key.public_key(), b"road transport", signature)
    assert sm.verify(key.public_key(), b"road transport", sm.der_to_raw(signature))
    assert not sm.verify(key.public_key(), b"road transport!", signature)
    assert not sm.verify(sm.generate_private_key().public_key(), b"road transport", signature)


def test_der_raw_conversion_round_trips() -> None:
    raw = vector_signature_raw()
    der = sm.raw_to_der(raw)
    assert sm.der_to_raw(der) == raw
    # Both values have the top bit set, so each INTEGER needs a leading zero octet.
    assert der[:4] == bytes([0x30, 0x46, 0x02, 0x21])


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"\x30\x00",
        b"\x30\x06\x02\x01\x01\x02\x01\x01\x00",  # trailing byte
        b"\x30\x07\x02\x02\x00\x01\x02\x01\x01",  # non-minimal r
        b"\x30\x06\x02\x01\x81\x02\x01\x01",  # negative r
        b"\x30\x06\x02\x01\x00\x02\x01\x01",  # r = 0
        b"\x31\x06\x02\x01\x01\x02\x01\x01",  # SET, not SEQUENCE
        b"\x00" * 64,  # raw zeros
        b"\xff" * 64,  # raw values ≥ n
        b"\x30" * 70,
    ],
)
def test_verify_returns_false_on_malformed_signatures(bad: bytes) -> None:
    assert sm.verify(vector_key().public_key(), b"message digest", bad) is False


@settings(max_examples=200)
@given(st.binary(max_size=80))
def test_verify_never_raises(junk: bytes) -> None:
    assert sm.verify(vector_key().public_key(), b"message digest", junk) is False


def test_conversions_reject_bad_input() -> None:
    with pytest.raises(ValueError):
        sm.raw_to_der(b"\x01" * 63)
    with pytest.raises(ValueError):
        sm.raw_to_der(b"\x00" * 64)
    with pytest.raises(ValueError):
        sm.der_to_raw(b"\x30\x06\x02\x01\x01\x02\x01\x01\x00")


def test_public_key_der_round_trip_and_rejection() -> None:
    public = vector_key().public_key()
    der = sm.public_key_der(public)
    assert sm.public_key_xy(sm.load_public_key_der(der)) == sm.public_key_xy(public)
    # The curve OID 1.2.156.10197.1.301 appears in the SubjectPublicKeyInfo.
    assert bytes.fromhex("06082a811ccf5501822d") in der
    ed25519_spki = bytes.fromhex("302a300506032b6570032100") + bytes(32)
    with pytest.raises(ValueError):
        sm.load_public_key_der(ed25519_spki)
    with pytest.raises(ValueError):
        sm.load_public_key_der(b"not der")


def test_key_construction_rejects_bad_values() -> None:
    with pytest.raises(ValueError):
        sm.private_key_from_scalar(0)
    with pytest.raises(ValueError):
        sm.private_key_from_scalar(sm.CURVE_ORDER - 1)
    with pytest.raises(ValueError):
        sm.public_key_from_xy(1, 2)


def test_roadcert_signature_verifies_in_gmssl(interop_key: sm.PrivateKey) -> None:
    message = "道路运输证 湘A12345".encode()
    signature = sm.sign(interop_key, message)
    assert gmssl_for(interop_key).verify_with_sm3(sm.der_to_raw(signature).hex(), message)


def test_gmssl_signature_verifies_in_roadcert(interop_key: sm.PrivateKey) -> None:
    message = "从业资格证 430102199001011234".encode()
    raw_hex = gmssl_for(interop_key).sign_with_sm3(message)
    raw = bytes.fromhex(raw_hex)
    public = interop_key.public_key()
    assert sm.verify(public, message, raw)
    assert sm.verify(public, message, sm.raw_to_der(raw))
    assert not sm.verify(public, message + b".", raw)


def test_gmssl_agrees_on_the_known_answer() -> None:
    message = SM2_VECTOR["message_ascii"].encode("ascii")
    assert gmssl_for(vector_key()).verify_with_sm3(vector_signature_raw().hex(), message)


# gmssl is pure Python (tens of milliseconds per operation), hence few examples and no deadline.
@settings(max_examples=8, deadline=None)
@given(message=st.binary(max_size=300))
def test_sign_verify_round_trip_with_gmssl(interop_key: sm.PrivateKey, message: bytes) -> None:
    signature = sm.sign(interop_key, message)
    assert sm.verify(interop_key.public_key(), message, signature)
    assert gmssl_for(interop_key).verify_with_sm3(sm.der_to_raw(signature).hex(), message)
