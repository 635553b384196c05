"""Status lists: one IETF Token Status List per issuing authority, signed, for offline checks.

Format (draft-ietf-oauth-status-list, CWT form, see docs/trust.md): a COSE_Sign1 message whose
protected header holds ``alg`` (SM2/SM3), ``kid`` (8-byte key id of the authority's signing
certificate) and ``typ`` ``application/statuslist+cwt``, over a CWT claims map: ``2`` sub (the
list's URI), ``6`` iat, ``4`` exp, ``65534`` ttl and ``65533`` status_list =
``{"bits": 2, "lst": zlib(DEFLATE) of the packed entries}``.

Each e-cert version holds an index into its authority's list, drawn at random at issuance. The
list carries the lifecycle status only: 0 valid, 1 invalid (revoked), 2 suspended, 3 已换发
(superseded, the application-specific value); expiry is judged from the dates the e-cert
carries, so an expired e-cert reads 0 unless it was revoked, suspended or superseded.
"""

from __future__ import annotations

import os
import random
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from itertools import repeat
from typing import Any

from sqlalchemy.orm import Session

from roadcert.certificates.models import EcertStatus
from roadcert.certificates.repository import EcertRepository
from roadcert.crypto import cbor, cose
from roadcert.crypto.models import KeyRole
from roadcert.crypto.service import KeyService
from roadcert.crypto.sm import PublicKey
from roadcert.errors import ConfigurationError, RoadcertError
from roadcert.registry.models import Authority

__all__ = [
    "BITS",
    "CLAIM_EXP",
    "CLAIM_IAT",
    "CLAIM_STATUS_LIST",
    "CLAIM_SUB",
    "CLAIM_TTL",
    "LIST_STATUS_OF",
    "MAX_LIST_BYTES",
    "MAX_TOKEN_BYTES",
    "MEDIA_TYPE",
    "MIN_LIST_SIZE",
    "STATUS_LIST_TYP",
    "ListStatus",
    "StatusIndexAllocator",
    "StatusList",
    "StatusListError",
    "UsedIndices",
    "build_status_list",
    "encode_status_list",
    "entries_from_indices",
    "list_size",
    "pack_entries",
    "parse_status_list",
    "sign_status_list",
    "size_for_index",
    "status_list_uri",
    "verify_status_list",
]

#: Bits per entry: four states.
BITS = 2
#: Entries of a new authority's list; the list doubles whenever it would be more than half full.
MIN_LIST_SIZE = 1 << 14
#: Largest decompressed list accepted (64 Mi entries at 2 bits), against zlib bombs.
MAX_LIST_BYTES = 1 << 24
#: Largest token accepted.
MAX_TOKEN_BYTES = 1 << 24

#: COSE ``typ`` of a Status List Token in CWT form (RFC 9596), also the HTTP media type.
STATUS_LIST_TYP = "application/statuslist+cwt"
MEDIA_TYPE = STATUS_LIST_TYP

# CWT claim keys (RFC 8392; ttl and status_list from the draft's IANA registrations).
CLAIM_SUB = 2
CLAIM_EXP = 4
CLAIM_IAT = 6
CLAIM_TTL = 65534
CLAIM_STATUS_LIST = 65533

_ALLOWED_BITS = (1, 2, 4, 8)


class ListStatus(IntEnum):
    """The value of an entry (draft §7.1; 0x03 is the application-specific value)."""

    VALID = 0
    INVALID = 1
    SUSPENDED = 2
    SUPERSEDED = 3  # 已换发: a newer version replaced this one


#: What each internal state publishes. EXPIRED publishes VALID: expiry is read from the dates.
LIST_STATUS_OF: Mapping[EcertStatus, ListStatus] = {
    EcertStatus.VALID: ListStatus.VALID,
    EcertStatus.EXPIRED: ListStatus.VALID,
    EcertStatus.REVOKED: ListStatus.INVALID,
    EcertStatus.SUSPENDED: ListStatus.SUSPENDED,
    EcertStatus.SUPERSEDED: ListStatus.SUPERSEDED,
}


class StatusListError(RoadcertError):
    """A status list token could not be read.

    Codes: ``status_list.malformed``, ``status_list.too_large``, ``status_list.type`` (not a
    status list token), ``status_list.alg`` (not SM2/SM3).
    """

    status = 422
    code = "status_list.malformed"


# -- sizes and indices ---------------------------------------------------------------------------


def list_size(count: int) -> int:
    """Entries in a list holding ``count`` used indices: 2^14, doubled while over half full.

    The size depends on the count alone, and the count never falls (every version keeps its
    index for good), so a list never shrinks below an index already drawn.
    """
    size = MIN_LIST_SIZE
    while count > size // 2:
        size *= 2
    return size


def size_for_index(highest: int | None) -> int:
    """The smallest list size (2^14 · 2^k) that holds index ``highest``."""
    size = MIN_LIST_SIZE
    while highest is not None and highest >= size:
        size *= 2
    return size


def status_list_uri(verify_host: str, authority_uscc: str) -> str:
    """The URI of an authority's list: its ``sub`` claim and where the API serves it."""
    return f"https://{verify_host}/api/status-lists/{authority_uscc}"


@dataclass
class _AuthorityIndices:
    size: int  # the list size draws are made over
    count: int | None = None  # used indices, once counted; then kept up to date
    drawn: set[int] = field(default_factory=set)  # handed out by this allocator
    pool: list[int] = field(default_factory=list)  # checked free, next one last
    pool_size: int = 0  # the list size the pool was drawn for
    batch: int = 0  # candidates to draw at the next refill


class StatusIndexAllocator:
    """Draws each new e-cert version's index at random among its authority's free indices.

    Candidates are drawn uniformly over the list's current size; those already used (in the
    database, or handed out by this allocator and not yet flushed) are dropped, and the rest
    form a pool handed out in the order drawn. The first free one of independent uniform draws
    is uniform over the free indices, so every allocation is. A pool is checked with one query
    (``status_index IN (…)``, without flushing pending INSERTs), and each refill draws twice as
    many candidates as the one before, from ``FIRST_BATCH`` up to ``MAX_BATCH``: a business
    operation costs one query, whatever the size of the list. (Bulk issuance draws from a
    bitmap instead, ``UsedIndices``.)

    The size comes from the highest used index (one index lookup, not a count): the smallest
    ``size_for_index`` above it. The list is meant to stay at most half full, so at least half
    the candidates of a refill should be free; when fewer are, the authority's indices are
    counted once (the only scan) and, if more than half of the list is used, draws go over the
    doubled size (``list_size``) from then on, and the count is kept up to date. The unique
    constraint on ``(authority_id, status_index)`` is the final guard against a concurrent
    transaction taking a candidate between the check and the INSERT.
    """

    FIRST_BATCH = 8  # candidates of the first refill
    MAX_BATCH = 1000  # also keeps the IN list under every backend's parameter limit

    def __init__(self, repo: EcertRepository, rng: random.Random | None = None) -> None:
        self.repo = repo
        # Indices need to be unpredictable in order, not secret: one seed from the OS.
        self._rng = rng or random.Random(os.urandom(32))
        self._authorities: dict[int, _AuthorityIndices] = {}

    def allocate(self, authority_id: int) -> int:
        """A free index in the authority's list, reserved for a new e-cert version."""
        state = self._authorities.get(authority_id)
        if state is None:
            state = _AuthorityIndices(size_for_index(self.repo.status_index_max(authority_id)))
            state.batch = self.FIRST_BATCH
            self._authorities[authority_id] = state
        if state.count is not None:
            state.size = max(state.size, list_size(state.count + 1))
        while not state.pool or state.pool_size != state.size:
            self._refill(authority_id, state)
        index = state.pool.pop()
        state.drawn.add(index)
        if state.count is not None:
            state.count += 1
        return index

    def _refill(self, authority_id: int, state: _AuthorityIndices) -> None:
        size = state.size
        draws = (self._rng.randrange(size) for _ in range(state.batch))
        # dict.fromkeys drops repeats and keeps the order of first drawing.
        candidates = [c for c in dict.fromkeys(draws) if c not in state.drawn]
        taken = self.repo.status_indices_taken(authority_id, candidates) if candidates else set()
        free = [c for c in reversed(candidates) if c not in taken]
        if state.count is None and 2 * len(free) < state.batch:
            # More than half of a sample is used: count, and grow if over half full. The count
            # flushes first, so it includes this allocator's own pending e-certs.
            state.count = max(self.repo.status_index_count(authority_id), len(state.drawn))
            state.size = max(size, list_size(state.count + 1))
        state.pool, state.pool_size = free, size
        state.batch = min(2 * state.batch, self.MAX_BATCH)


class UsedIndices:
    """One authority's used status-list indices as a bitmap, for a writer that draws many.

    ``StatusIndexAllocator`` checks its draws with a query per refill, which bulk issuance
    would pay for every few hundred e-certs (about 100 µs an e-cert). A bulk writer instead
    holds every used index of the authority here: loaded once, then brought up to date before
    each batch with the versions written since (``add`` with their ids; ``last_id`` is the
    highest seen). Draws are uniform over the free indices of a list sized by ``list_size`` of
    the exact count, as the allocator's are. The unique constraint on (authority, index)
    remains the guard against a writer this bitmap has not seen.
    """

    def __init__(self) -> None:
        self.size = MIN_LIST_SIZE
        self.count = 0
        self.last_id: int | None = None  # the highest version id added; None before any
        self._bits = bytearray(MIN_LIST_SIZE // 8)

    def add(self, rows: Iterable[tuple[int, int]]) -> None:
        """Mark the indices of stored versions, given as (version id, index)."""
        bits = self._bits
        for row_id, index in rows:
            if index >= self.size:
                self._grow(size_for_index(index))
            byte, mask = index >> 3, 1 << (index & 7)
            if not bits[byte] & mask:
                bits[byte] |= mask
                self.count += 1
            if self.last_id is None or row_id > self.last_id:
                self.last_id = row_id

    def draw(self, rng: random.Random) -> int:
        """A free index, at random, marked used; the list doubles before it would be over half
        full."""
        self._grow(list_size(self.count + 1))
        bits, size = self._bits, self.size
        while True:
            index = rng.randrange(size)
            byte, mask = index >> 3, 1 << (index & 7)
            if not bits[byte] & mask:
                bits[byte] |= mask
                self.count += 1
                return index

    def __contains__(self, index: int) -> bool:
        return 0 <= index < self.size and bool(self._bits[index >> 3] & (1 << (index & 7)))

    def _grow(self, size: int) -> None:
        if size > self.size:
            self._bits.extend(bytes((size - self.size) // 8))
            self.size = size


# -- encoding ------------------------------------------------------------------------------------


def entries_from_indices(size: int, indices_by_value: Mapping[int, Iterable[int]]) -> bytearray:
    """One byte per entry (0 unless listed), from the indices holding each non-zero value."""
    entries = bytearray(size)
    for value, indices in indices_by_value.items():
        if not 0 <= value < 1 << BITS:
            raise ValueError(f"status value {value} does not fit in {BITS} bits")
        # deque(map(...), maxlen=0) runs the assignments at C speed, without a Python loop.
        deque(map(entries.__setitem__, indices, repeat(value)), maxlen=0)
    return entries


def pack_entries(entries: bytes | bytearray) -> bytes:
    """Pack one-byte entries (each 0–3) into 2 bits each, index 0 in the lowest bits (§4).

    Big-integer shifts do the packing at C speed: the k-th entries of every group of four,
    read as one little-endian integer, are shifted into bit position 2k of each byte; no byte
    overflows because each value is below 4.
    """
    per_byte = 8 // BITS
    count = len(entries)
    if count and max(entries) >= 1 << BITS:
        raise ValueError(f"an entry does not fit in {BITS} bits")
    padded = bytes(entries) + bytes(-count % per_byte)
    length = len(padded) // per_byte
    packed = 0
    for position in range(per_byte):
        packed |= int.from_bytes(padded[position::per_byte], "little") << (BITS * position)
    return packed.to_bytes(length, "little")


def encode_status_list(entries: bytes | bytearray) -> dict[str, Any]:
    """The CBOR ``StatusList`` map: ``bits`` and ``lst`` (packed, zlib at level 9)."""
    return {"bits": BITS, "lst": zlib.compress(pack_entries(entries), 9)}


def sign_status_list(
    entries: bytes | bytearray,
    *,
    uri: str,
    issued_at: datetime,
    ttl: int,
    signer: Callable[[bytes], bytes],
    kid: bytes,
) -> bytes:
    """A Status List Token of one-byte ``entries``, valid for ``ttl`` seconds from ``issued_at``.

    ``signer`` is a key store signing function and ``kid`` the 8-byte key id of its certificate.
    """
    if ttl <= 0:
        raise ValueError("ttl must be a positive number of seconds")
    iat = int(issued_at.timestamp())
    claims = {
        CLAIM_SUB: uri,
        CLAIM_IAT: iat,
        CLAIM_EXP: iat + ttl,
        CLAIM_TTL: ttl,
        CLAIM_STATUS_LIST: encode_status_list(entries),
    }
    return cose.sign1(cbor.canonical(claims), signer, kid=kid, typ=STATUS_LIST_TYP)


def build_status_list(
    session: Session, authority: Authority, keys: KeyService, now: datetime, ttl: int
) -> bytes:
    """The signed Status List Token of ``authority`` as its e-certs stand now.

    Every version of every e-cert of the authority is in it; the list is signed by the key that
    currently signs the authority's e-certs (created, like at issuance, if the authority has
    none). Raises ``ConfigurationError`` (``keys.none``) when there is no key hierarchy yet.
    """
    if keys.repo.current(KeyRole.PROVINCE) is None:
        # Serving a list must not create the hierarchy behind the administrator's back.
        raise ConfigurationError("尚无密钥体系：请先运行 roadcert init", code="keys.none")
    repo = EcertRepository(session)
    count, highest = repo.status_index_extent(authority.id)
    # The second term only matters if rows were ever deleted.
    size = max(list_size(count), size_for_index(highest))
    indices_by_value = {
        int(value): repo.status_indices(authority.id, status)
        for status, value in LIST_STATUS_OF.items()
        if value != ListStatus.VALID
    }
    entries = entries_from_indices(size, indices_by_value)
    key = keys.signing_key(authority)
    return sign_status_list(
        entries,
        uri=status_list_uri(keys.settings.verify_host, authority.uscc),
        issued_at=now,
        ttl=ttl,
        signer=keys.signer(key),
        kid=bytes.fromhex(key.key_id),
    )


# -- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusList:
    """A decoded Status List Token (its signature is checked by :func:`verify_status_list`)."""

    uri: str
    issued_at: datetime
    expires_at: datetime | None
    ttl: int | None
    bits: int
    kid: bytes | None
    lst: bytes  # the decompressed list, ``bits`` per entry, index 0 in the lowest bits

    @property
    def size(self) -> int:
        """How many entries the list holds."""
        return len(self.lst) * 8 // self.bits

    @property
    def authority_uscc(self) -> str:
        """The USCC of the authority the list belongs to (the last segment of its URI)."""
        return self.uri.rstrip("/").rsplit("/", 1)[-1]

    @property
    def stale_after(self) -> datetime | None:
        """When the list stops being usable: the earlier of ``exp`` and ``iat`` + ``ttl``."""
        ends = [self.expires_at] if self.expires_at else []
        if self.ttl is not None:
            ends.append(self.issued_at + timedelta(seconds=self.ttl))
        return min(ends) if ends else None

    def status_at(self, index: int) -> int:
        """The value at ``index``; ``IndexError`` outside the list."""
        if not 0 <= index < self.size:
            raise IndexError(f"index {index} outside a status list of {self.size} entries")
        position = index * self.bits
        return (self.lst[position // 8] >> (position % 8)) & ((1 << self.bits) - 1)

    def is_stale(self, now: datetime) -> bool:
        """Whether ``now`` is past :attr:`stale_after`; a stale list says nothing (UNKNOWN)."""
        end = self.stale_after
        return end is not None and now > end

    def counts(self) -> dict[int, int]:
        """How many entries hold each value (unused entries count as 0)."""
        if self.bits != BITS:
            values = [self.status_at(i) for i in range(self.size)]
            return {v: values.count(v) for v in range(1 << self.bits)}
        out = {}
        for value in range(1 << BITS):
            # Per byte, how many of its four entries hold ``value``; summed at C speed.
            table = bytes(
                sum(1 for k in range(4) if (byte >> (2 * k)) & 3 == value) for byte in range(256)
            )
            out[value] = sum(self.lst.translate(table))
        return out


def parse_status_list(token: bytes) -> StatusList:
    """Decode a Status List Token without checking its signature.

    Raises :class:`StatusListError` for anything that is not a well-formed SM2-signed status
    list token of at most ``MAX_TOKEN_BYTES`` whose list inflates to at most ``MAX_LIST_BYTES``.
    """
    try:
        message, claims = cose.open_typed(token, typ=STATUS_LIST_TYP, max_size=MAX_TOKEN_BYTES)
    except cose.CoseError as exc:
        raise StatusListError(
            f"状态列表无法读取：{exc.message}", code=cose.list_code(exc.code, "status_list")
        ) from exc
    uri = claims.get(CLAIM_SUB)
    iat = claims.get(CLAIM_IAT)
    exp = claims.get(CLAIM_EXP)
    ttl = claims.get(CLAIM_TTL)
    status_list = claims.get(CLAIM_STATUS_LIST)
    if not isinstance(uri, str) or not uri:
        raise StatusListError("状态列表缺少 sub（2）")
    if not isinstance(iat, int) or not _is_time(iat):
        raise StatusListError("状态列表缺少 iat（6）")
    if exp is not None and not _is_time(exp):
        raise StatusListError("状态列表的 exp（4）无效")
    if ttl is not None and not (_is_time(ttl) and ttl > 0):
        raise StatusListError("状态列表的 ttl（65534）须为正整数")
    if not isinstance(status_list, dict):
        raise StatusListError("状态列表缺少 status_list（65533）")
    bits, compressed = status_list.get("bits"), status_list.get("lst")
    if bits not in _ALLOWED_BITS or not isinstance(compressed, bytes):
        raise StatusListError("status_list 须含 bits（1/2/4/8）与 lst（字节串）")
    return StatusList(
        uri=uri,
        issued_at=datetime.fromtimestamp(iat, UTC),
        expires_at=datetime.fromtimestamp(exp, UTC) if exp is not None else None,
        ttl=ttl,
        bits=bits,
        kid=message.kid,
        lst=_inflate(compressed),
    )


def verify_status_list(token: bytes, public_key: PublicKey) -> bool:
    """Whether ``token`` is a well-formed status list token signed by ``public_key``.

    Never raises on bad input: anything malformed is simply not verified. The caller still
    checks that the key belongs to the authority the list names (``StatusList.authority_uscc``)
    and that the list is not stale.
    """
    try:
        parse_status_list(token)
        message = cose.decode_sign1(token, max_size=MAX_TOKEN_BYTES)
    except (StatusListError, cose.CoseError):
        return False
    return message.verify(public_key)


def _is_time(value: object) -> bool:
    # Seconds since the epoch; bool is an int in Python and is no time.
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 40


def _inflate(compressed: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(compressed, MAX_LIST_BYTES + 1)
    except zlib.error as exc:
        raise StatusListError(f"lst 不是 zlib 数据：{exc}") from exc
    if len(raw) > MAX_LIST_BYTES or inflater.unconsumed_tail:
        raise StatusListError(
            f"状态列表解压后超过 {MAX_LIST_BYTES} 字节", code="status_list.too_large"
        )
    if not inflater.eof or inflater.unused_data:
        raise StatusListError("lst 的 zlib 数据不完整或有多余字节")
    return raw
