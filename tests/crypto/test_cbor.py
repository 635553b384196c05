"""Deterministic CBOR: RFC 8949 known encodings, key order, rejections and round trips."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roadcert.crypto.cbor import canonical, decode

# RFC 8949 Appendix A, restricted to the types roadcert signs.
RFC_8949_APPENDIX_A: list[tuple[Any, str]] = [
    (0, "00"),
    (1, "01"),
    (10, "0a"),
    (23, "17"),
    (24, "1818"),
    (25, "1819"),
    (100, "1864"),
    (1000, "1903e8"),
    (1000000, "1a000f4240"),
    (1000000000000, "1b000000e8d4a51000"),
    (18446744073709551615, "1bffffffffffffffff"),
    (18446744073709551616, "c249010000000000000000"),
    (-18446744073709551616, "3bffffffffffffffff"),
    (-18446744073709551617, "c349010000000000000000"),
    (-1, "20"),
    (-10, "29"),
    (-100, "3863"),
    (-1000, "3903e7"),
    (False, "f4"),
    (True, "f5"),
    (None, "f6"),
    (b"", "40"),
    (b"\x01\x02\x03\x04", "4401020304"),
    ("", "60"),
    ("a", "6161"),
    ("IETF", "6449455446"),
    ('"\\', "62225c"),
    ("\u00fc", "62c3bc"),
    ("\u6c34", "63e6b0b4"),
    ("\U00010151", "64f0908591"),
    ([], "80"),
    ([1, 2, 3], "83010203"),
    ([1, [2, 3], [4, 5]], "8301820203820405"),
    (list(range(1, 26)), "98190102030405060708090a0b0c0d0e0f101112131415161718181819"),
    ({}, "a0"),
    ({1: 2, 3: 4}, "a201020304"),
    ({"a": 1, "b": [2, 3]}, "a26161016162820203"),
    (["a", {"b": "c"}], "826161a161626163"),
    (
        {"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"},
        "a56161614161626142616361436164614461656145",
    ),
]


@pytest.mark.parametrize(("value", "expected"), RFC_8949_APPENDIX_A, ids=lambda v: repr(v)[:30])
def test_rfc_8949_appendix_a(value: Any, expected: str) -> None:
    assert canonical(value).hex() == expected
    assert decode(bytes.fromhex(expected), require_canonical=True) == value


def test_keys_sorted_whatever_the_insertion_order() -> None:
    assert canonical({"b": 1, "a": 2}).hex() == "a2616102616201"


def test_rfc_8949_key_order_is_bytewise_not_length_first() -> None:
    # RFC 8949 §4.2.1 sorts 10, 100, -1, "z" by their encodings 0a < 1864 < 20 < 617a; the
    # RFC 7049 length-first rule would have put -1 before 100.
    assert canonical({10: 1, -1: 2, "z": 3, 100: 4}).hex() == "a40a011864042002617a03"
    # An integer key with a longer encoding still sorts before any text key.
    assert canonical({"a": 1, 1000: 2}).hex() == "a21903e802616101"
    assert canonical({"aa": 1, "b": 2, -25: 3}).hex() == "a338180361620262616101"


def test_tuples_encode_as_arrays_and_enums_as_their_values() -> None:
    class Color(StrEnum):
        YELLOW = "2"

    assert canonical((1, 2)) == canonical([1, 2])
    assert canonical({"color": Color.YELLOW}) == canonical({"color": "2"})
    assert canonical(bytearray(b"\x01")) == canonical(b"\x01")


@pytest.mark.parametrize(
    ("value", "path"),
    [
        (1.5, "$"),
        ({"issued": date(2025, 1, 1)}, "$.issued"),
        ({"face": [1, {"at": datetime(2025, 1, 1, tzinfo=UTC)}]}, "$.face[1].at"),
        ({"set": {1, 2}}, "$.set"),
        ([frozenset()], "$[0]"),
        ({7: 0.0}, "$[7]"),
        ({"x": object()}, "$.x"),
    ],
)
def test_rejects_other_types_naming_the_path(value: Any, path: str) -> None:
    with pytest.raises(TypeError) as caught:
        canonical(value)
    assert f" at {path}:" in str(caught.value)


@pytest.mark.parametrize("key", [True, 1.0, (1, 2), b"k", None])
def test_rejects_map_keys_other_than_str_and_int(key: Any) -> None:
    with pytest.raises(TypeError):
        canonical({key: 1})


def test_rejects_lone_surrogates() -> None:
    with pytest.raises(ValueError):
        canonical("\ud800")


@pytest.mark.parametrize(
    "data",
    [
        "",  # nothing
        "0102",  # trailing byte
        "9f01ff",  # indefinite array
        "7f6161ff",  # indefinite text
        "f93c00",  # half float 1.0
        "fb3ff0000000000000",  # double 1.0
        "f7",  # undefined
        "f818",  # simple value in two bytes
        "c074323031332d30332d32315432303a30343a30305a",  # tag 0 date string
        "a2616101616102",  # duplicate key "a"
        "a1f401",  # boolean key
        "a18101f6",  # array key
        "62c328",  # invalid UTF-8
        "1c",  # reserved additional information
        "5a0000000a00",  # byte string longer than the data
        "c26161",  # bignum tag on text
    ],
)
def test_decode_rejects(data: str) -> None:
    with pytest.raises(ValueError):
        decode(bytes.fromhex(data))


@pytest.mark.parametrize(
    "data",
    [
        "1800",  # 0 in two bytes
        "190017",  # 23 in three bytes
        "a2616201616102",  # keys out of order
        "c24101",  # bignum for a value that fits in 64 bits
        "c2420001",  # bignum with a leading zero
    ],
)
def test_require_canonical_rejects_non_deterministic_forms(data: str) -> None:
    raw = bytes.fromhex(data)
    decode(raw)  # well-formed, so the lenient reading accepts it
    with pytest.raises(ValueError):
        decode(raw, require_canonical=True)


def test_deep_nesting_is_refused() -> None:
    value: Any = 0
    for _ in range(100):
        value = [value]
    with pytest.raises(ValueError):
        canonical(value)
    with pytest.raises(ValueError):
        decode(b"\x81" * 100 + b"\x00")


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.text(max_size=30)
    | st.binary(max_size=30)
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.tuples(children, children)
        | st.dictionaries(
            st.integers(min_value=-(2**70), max_value=2**70) | st.text(max_size=10),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


def normalized(value: Any) -> Any:
    """What a value decodes back to: tuples become lists."""
    if isinstance(value, list | tuple):
        return [normalized(item) for item in value]
    if isinstance(value, dict):
        return {key: normalized(item) for key, item in value.items()}
    return value


def map_keys_in_order(data: Any) -> list[list[Any]]:
    """Every map's keys, in the order an independent decoder (cbor2) read them."""
    found: list[list[Any]] = []
    if isinstance(data, dict):
        found.append(list(data))
        for item in data.values():
            found.extend(map_keys_in_order(item))
    elif isinstance(data, list):
        for item in data:
            found.extend(map_keys_in_order(item))
    return found


@settings(max_examples=300)
@given(values)
def test_round_trip(value: Any) -> None:
    encoded = canonical(value)
    assert decode(encoded, require_canonical=True) == normalized(value)
    assert canonical(decode(encoded)) == encoded


@settings(max_examples=300)
@given(values)
def test_agrees_with_cbor2(value: Any) -> None:
    encoded = canonical(value)
    decoded = cbor2.loads(encoded)
    assert decoded == normalized(value)
    for keys in map_keys_in_order(decoded):
        encoded_keys = [cbor2.dumps(key) for key in keys]
        assert encoded_keys == sorted(encoded_keys)
