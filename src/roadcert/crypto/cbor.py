"""Deterministic CBOR (RFC 8949 §4.2.1, core deterministic encoding) for the bytes that get signed.

cbor2's ``canonical=True`` sorts map keys length-first (the RFC 7049 §3.9 order), not by the
bytewise order of their encodings that RFC 8949 §4.2.1 requires, and it also accepts floats and
dates. Signed e-cert data must encode to the same bytes in every implementation, so this module
has its own small encoder for a closed set of types:

- ``None``, ``bool``, ``int`` (any size; beyond 64 bits as tag 2/3 bignums, RFC 8949 §3.4.3),
  ``str``, ``bytes``/``bytearray``, ``list``/``tuple``, and ``dict`` with ``str`` or ``int`` keys.
- Everything else (float, datetime, date, set, …) is refused with ``TypeError`` naming where it
  was found; callers carry dates as ISO 8601 strings.

``decode`` reads the same subset back and refuses anything outside it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import cbor2

_UINT = 0
_NINT = 1
_BYTES = 2
_TEXT = 3
_ARRAY = 4
_MAP = 5
_TAG = 6
_SIMPLE = 7

_FALSE = b"\xf4"
_TRUE = b"\xf5"
_NULL = b"\xf6"

_TAG_POS_BIGNUM = 2
_TAG_NEG_BIGNUM = 3
_UINT64_LIMIT = 1 << 64
_MAX_DEPTH = 64


def canonical(obj: object) -> bytes:
    """Encode ``obj`` as deterministic CBOR (RFC 8949 §4.2.1).

    Raises ``TypeError`` naming the path (e.g. ``$.face[2]``) of the first value of a type that
    is not allowed, and ``ValueError`` for strings that are not valid Unicode.
    """
    out = bytearray()
    _encode(obj, out, "$", 0)
    return bytes(out)


def key_order(keys: Iterable[str | int]) -> tuple[Any, ...]:
    """``keys`` in the order RFC 8949 §4.2.1 puts map keys: bytewise order of their encodings."""
    return tuple(sorted(keys, key=canonical))


def encode_ordered(obj: Any) -> bytes:
    """Deterministic CBOR of a value whose maps are already in ``key_order``, fast.

    For the hot path of issuance: cbor2's C encoder writes shortest-form heads and definite
    lengths, as §4.2.1 asks, and keeps each dict's insertion order, so a value built with its
    keys in ``key_order`` (faces.signed_document does) encodes to exactly ``canonical(obj)``,
    at a fraction of the cost. It does not check types or order: the tests compare it with
    ``canonical`` for every certificate type.
    """
    encoded: bytes = cbor2.dumps(obj)
    return encoded


def decode(data: bytes, *, require_canonical: bool = False) -> Any:
    """Decode CBOR restricted to the types ``canonical`` produces.

    Arrays come back as lists and maps as dicts. Raises ``ValueError`` for malformed input,
    indefinite lengths, floats, tags other than bignums, duplicate map keys or trailing bytes.
    With ``require_canonical`` the input must also be exactly the deterministic encoding of
    the value it holds.
    """
    data = bytes(data)
    value, offset = _Decoder(data).read(0, 0)
    if offset != len(data):
        raise ValueError(f"trailing bytes after CBOR item at offset {offset}")
    if require_canonical and canonical(value) != data:
        raise ValueError("CBOR is not in deterministic (RFC 8949 §4.2.1) form")
    return value


def _head(major: int, argument: int) -> bytes:
    """The initial byte and argument in the shortest form (RFC 8949 §4.2.1, first rule)."""
    if argument < 24:
        return bytes([(major << 5) | argument])
    if argument < 0x100:
        return bytes([(major << 5) | 24, argument])
    if argument < 0x10000:
        return bytes([(major << 5) | 25]) + argument.to_bytes(2, "big")
    if argument < 0x100000000:
        return bytes([(major << 5) | 26]) + argument.to_bytes(4, "big")
    return bytes([(major << 5) | 27]) + argument.to_bytes(8, "big")


def _encode(obj: object, out: bytearray, path: str, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise ValueError(f"nesting deeper than {_MAX_DEPTH} at {path}")
    # bool before int: bool is a subclass of int but has its own CBOR simple values.
    if obj is None:
        out += _NULL
    elif obj is True:
        out += _TRUE
    elif obj is False:
        out += _FALSE
    elif isinstance(obj, int):
        _encode_int(int(obj), out)
    elif isinstance(obj, str):
        try:
            encoded = obj.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"string at {path} is not valid Unicode") from exc
        out += _head(_TEXT, len(encoded))
        out += encoded
    elif isinstance(obj, bytes | bytearray):
        out += _head(_BYTES, len(obj))
        out += obj
    elif isinstance(obj, list | tuple):
        out += _head(_ARRAY, len(obj))
        for index, item in enumerate(obj):
            _encode(item, out, f"{path}[{index}]", depth + 1)
    elif isinstance(obj, dict):
        _encode_map(obj, out, path, depth)
    else:
        raise TypeError(
            f"cannot encode {type(obj).__name__} at {path}: deterministic CBOR here takes only "
            "None, bool, int, str, bytes, list, tuple and dict (dates go as ISO strings)"
        )


def _encode_int(value: int, out: bytearray) -> None:
    if 0 <= value < _UINT64_LIMIT:
        out += _head(_UINT, value)
    elif -_UINT64_LIMIT <= value < 0:
        out += _head(_NINT, -1 - value)
    else:
        # Outside 64 bits: bignum tag with the magnitude in the fewest bytes (RFC 8949 §3.4.3).
        tag, magnitude = (_TAG_POS_BIGNUM, value) if value > 0 else (_TAG_NEG_BIGNUM, -1 - value)
        content = magnitude.to_bytes((magnitude.bit_length() + 7) // 8, "big")
        out += _head(_TAG, tag)
        out += _head(_BYTES, len(content))
        out += content


def _encode_map(obj: dict[Any, Any], out: bytearray, path: str, depth: int) -> None:
    entries: list[tuple[bytes, object, str]] = []
    for key, value in obj.items():
        if isinstance(key, bool) or not isinstance(key, int | str):
            raise TypeError(
                f"map key {key!r} of type {type(key).__name__} at {path}: only str and int keys "
                "are allowed"
            )
        encoded_key = bytearray()
        _encode(key, encoded_key, path, depth + 1)
        label = f"{path}.{key}" if isinstance(key, str) else f"{path}[{key}]"
        entries.append((bytes(encoded_key), value, label))
    # RFC 8949 §4.2.1: keys sorted by the bytewise lexicographic order of their encodings.
    entries.sort(key=lambda entry: entry[0])
    for previous, current in itertools.pairwise(entries):
        if previous[0] == current[0]:
            raise ValueError(f"duplicate map key at {current[2]}")
    out += _head(_MAP, len(entries))
    for key_bytes, value, label in entries:
        out += key_bytes
        _encode(value, out, label, depth + 1)


class _Decoder:
    """Reads one CBOR item of the allowed subset from a byte string."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def _take(self, offset: int, count: int) -> bytes:
        end = offset + count
        if end > len(self.data):
            raise ValueError(f"CBOR truncated at offset {offset}")
        return self.data[offset:end]

    def _argument(self, offset: int) -> tuple[int, int, int]:
        """Return (major type, argument, next offset) for the head at ``offset``."""
        initial = self._take(offset, 1)[0]
        major, info = initial >> 5, initial & 0x1F
        offset += 1
        if info < 24:
            return major, info, offset
        if info == 24:
            return major, self._take(offset, 1)[0], offset + 1
        if info in (25, 26, 27):
            size = 1 << (info - 24)
            raw = self._take(offset, size)
            return major, int.from_bytes(raw, "big"), offset + size
        if info == 31:
            raise ValueError(f"indefinite-length CBOR item at offset {offset - 1}")
        raise ValueError(f"reserved CBOR additional information {info} at offset {offset - 1}")

    def read(self, offset: int, depth: int) -> tuple[Any, int]:
        if depth > _MAX_DEPTH:
            raise ValueError(f"CBOR nested deeper than {_MAX_DEPTH}")
        start = offset
        major, argument, offset = self._argument(offset)
        if major == _UINT:
            return argument, offset
        if major == _NINT:
            return -1 - argument, offset
        if major == _BYTES:
            return self._take(offset, argument), offset + argument
        if major == _TEXT:
            raw = self._take(offset, argument)
            try:
                return raw.decode("utf-8"), offset + argument
            except UnicodeDecodeError as exc:
                raise ValueError(f"invalid UTF-8 in CBOR text at offset {start}") from exc
        if major == _ARRAY:
            items = []
            for _ in range(argument):
                item, offset = self.read(offset, depth + 1)
                items.append(item)
            return items, offset
        if major == _MAP:
            result: dict[Any, Any] = {}
            for _ in range(argument):
                key_offset = offset
                key, offset = self.read(offset, depth + 1)
                if isinstance(key, bool) or not isinstance(key, int | str):
                    raise ValueError(f"CBOR map key at offset {key_offset} is not a str or int")
                if key in result:
                    raise ValueError(f"duplicate CBOR map key {key!r} at offset {key_offset}")
                result[key], offset = self.read(offset, depth + 1)
            return result, offset
        if major == _TAG and argument in (_TAG_POS_BIGNUM, _TAG_NEG_BIGNUM):
            content_major, length, offset = self._argument(offset)
            if content_major != _BYTES:
                raise ValueError(f"CBOR bignum at offset {start} does not hold a byte string")
            magnitude = int.from_bytes(self._take(offset, length), "big")
            value = magnitude if argument == _TAG_POS_BIGNUM else -1 - magnitude
            return value, offset + length
        # Floats share major type 7 with false/true/null; only the one-byte forms are accepted.
        if major == _SIMPLE and argument in (20, 21, 22) and self.data[start] & 0x1F < 24:
            return {20: False, 21: True, 22: None}[argument], offset
        raise ValueError(
            f"unsupported CBOR item (major type {major}, argument {argument}) at offset {start}"
        )
