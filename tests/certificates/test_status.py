"""Status lists: random index allocation, the Token Status List format, lifecycle, API and CLI."""

from __future__ import annotations

import itertools
import json
import random
import zlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest
from alembic import command
from gmssl import sm2 as gmssl_sm2
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from roadcert.certificates import status
from roadcert.certificates.models import Ecert, EcertStatus
from roadcert.certificates.status import (
    MIN_LIST_SIZE,
    ListStatus,
    StatusIndexAllocator,
    StatusList,
    StatusListError,
    build_status_list,
    list_size,
    parse_status_list,
    verify_status_list,
)
from roadcert.cli import app as cli_app
from roadcert.config import get_settings
from roadcert.crypto import cbor, cose, sm, x509
from roadcert.db import make_engine
from roadcert.kit import uscc
from roadcert.migrate import alembic_config
from roadcert.registry.models import Authority
from roadcert.registry.schemas import VehicleChange
from roadcert.runtime import Runtime, Services
from tests import factories as f
from tests.clients import Client, new_client

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
TTL = 3600


def _key(svc: Services, authority: Authority) -> tuple[bytes, sm.PublicKey]:
    record = svc.keys.signing_key(authority)
    return bytes.fromhex(record.key_id), x509.load(record.certificate).public_key


def _build(svc: Services, authority: Authority, now: datetime = NOW) -> bytes:
    return build_status_list(svc.session, authority, svc.keys, now, TTL)


def _token(entries: bytes | bytearray, **overrides: Any) -> tuple[bytes, sm.PublicKey]:
    key = sm.generate_private_key()
    arguments: dict[str, Any] = {
        "uri": "https://verify.example/api/status-lists/11220100MB0000000X",
        "issued_at": NOW,
        "ttl": TTL,
        "signer": lambda data: sm.sign(key, data),
        "kid": b"\x01" * 8,
    }
    arguments.update(overrides)
    return status.sign_status_list(entries, **arguments), key.public_key()


# -- encoding ------------------------------------------------------------------------------------


def test_packing_matches_the_drafts_two_bit_example() -> None:
    # draft-ietf-oauth-status-list, "Status List" with bits = 2: 12 entries → c9 44 f9, and the
    # CBOR StatusList of its example.
    entries = bytes([1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3])
    assert status.pack_entries(entries) == bytes.fromhex("c944f9")
    # The draft writes "bits" first; deterministic CBOR (RFC 8949 §4.2.1) puts "lst" first.
    example = bytes.fromhex("a2646269747302636c73744b78da3be9f2130003df0207")
    assert status.encode_status_list(entries) == cbor2.loads(example)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 3), max_size=300))
def test_entries_round_trip(values: list[int]) -> None:
    packed = status.pack_entries(bytes(values))
    decoded = StatusList("u", NOW, None, None, 2, None, packed)
    assert decoded.size == len(packed) * 4 >= len(values)
    assert [decoded.status_at(i) for i in range(len(values))] == values
    assert all(decoded.status_at(i) == 0 for i in range(len(values), decoded.size))
    assert sum(decoded.counts().values()) == decoded.size


def test_entries_from_indices_and_bad_values() -> None:
    entries = status.entries_from_indices(8, {1: [0, 5], 3: [7]})
    assert list(entries) == [1, 0, 0, 0, 0, 1, 0, 3]
    with pytest.raises(ValueError):
        status.entries_from_indices(8, {4: [1]})
    with pytest.raises(ValueError):
        status.pack_entries(bytes([0, 4]))


def test_list_size_doubles_when_more_than_half_full() -> None:
    assert list_size(0) == list_size(MIN_LIST_SIZE // 2) == MIN_LIST_SIZE == 1 << 14
    assert list_size(MIN_LIST_SIZE // 2 + 1) == 2 * MIN_LIST_SIZE
    assert list_size(MIN_LIST_SIZE) == 2 * MIN_LIST_SIZE
    assert list_size(MIN_LIST_SIZE + 1) == 4 * MIN_LIST_SIZE


def test_a_million_entries_encode_and_read_back() -> None:
    # A large authority's list through the same encoding and signing path as the database one.
    size = 1 << 20
    rng = random.Random(5)
    chosen = rng.sample(range(size), 300_000)
    by_value = {1: chosen[:50_000], 2: chosen[50_000:60_000], 3: chosen[60_000:]}
    token, public = _token(status.entries_from_indices(size, by_value))
    assert verify_status_list(token, public)
    parsed = parse_status_list(token)
    assert parsed.size == size
    for value, indices in by_value.items():
        assert all(parsed.status_at(i) == value for i in indices[:2000])
    assert parsed.counts() == {0: size - 300_000, 1: 50_000, 2: 10_000, 3: 240_000}


def test_the_token_is_a_cwt_an_outside_verifier_can_check() -> None:
    entries = status.entries_from_indices(MIN_LIST_SIZE, {1: [3], 3: [9]})
    key = sm.generate_private_key()
    token = status.sign_status_list(
        entries,
        uri="https://h/api/status-lists/X",
        issued_at=NOW,
        ttl=TTL,
        signer=lambda data: sm.sign(key, data),
        kid=b"kid-8byt",
    )
    # Read with cbor2 (another CBOR implementation) and check with gmssl (another SM2 one).
    message = cbor2.loads(token)
    assert message.tag == 18
    protected, unprotected, payload, signature = message.value
    assert cbor2.loads(protected) == {1: cose.ALG_SM2_SM3, 16: "application/statuslist+cwt"}
    assert unprotected == {4: b"kid-8byt"}
    claims = cbor2.loads(payload)
    iat = int(NOW.timestamp())
    assert {k: v for k, v in claims.items() if k != 65533} == {
        2: "https://h/api/status-lists/X",
        6: iat,
        4: iat + TTL,
        65534: TTL,
    }
    assert claims[65533]["bits"] == 2
    raw = zlib.decompress(claims[65533]["lst"])
    assert len(raw) == MIN_LIST_SIZE // 4
    assert raw[0] == 0b01000000 and raw[2] == 0b00001100
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    x, y = sm.public_key_xy(key.public_key())
    checker = gmssl_sm2.CryptSM2(private_key=None, public_key=f"{x:064x}{y:064x}")
    checker.public_key = f"{x:064x}{y:064x}"
    assert len(signature) == 64
    assert checker.verify_with_sm3(signature.hex(), to_be_signed)


# -- reading and refusing ------------------------------------------------------------------------


def test_tampered_or_foreign_lists_do_not_verify() -> None:
    token, public = _token(status.entries_from_indices(MIN_LIST_SIZE, {1: [1]}))
    assert verify_status_list(token, public)
    assert not verify_status_list(token, sm.generate_private_key().public_key())
    lst_at = token.index(bytes.fromhex("78da"))
    tampered = bytearray(token)
    tampered[lst_at + 5] ^= 0x01
    assert not verify_status_list(bytes(tampered), public)
    assert not verify_status_list(b"", public)
    assert not verify_status_list(b"\xd2\x84garbage", public)
    # Re-signed by someone else under the same kid: the named key does not verify it.
    forged, _ = _token(status.entries_from_indices(MIN_LIST_SIZE, {}))
    assert not verify_status_list(forged, public)


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (b"", "status_list.malformed"),
        (b"\xd2\x83\x40\xa0\x40", "status_list.malformed"),
        (bytes(status.MAX_TOKEN_BYTES + 1), "status_list.too_large"),
    ],
)
def test_unreadable_tokens_are_refused_with_a_code(token: bytes, code: str) -> None:
    with pytest.raises(StatusListError) as refused:
        parse_status_list(token)
    assert refused.value.code == code


def _signed_claims(claims: Any, typ: str = status.STATUS_LIST_TYP, alg: int | None = None) -> bytes:
    key = sm.generate_private_key()
    token = cose.sign1(cbor.canonical(claims), lambda d: sm.sign(key, d), kid=b"k" * 8, typ=typ)
    if alg is not None:
        message = cose.decode_sign1(token, max_size=1 << 20)
        protected = cbor.canonical({1: alg, 16: typ})
        token = b"\xd2" + cbor.canonical(
            [protected, message.unprotected, message.payload, message.signature]
        )
    return token


def _claims(**changes: Any) -> dict[int, Any]:
    claims: dict[int, Any] = {
        2: "https://h/api/status-lists/X",
        6: 1_700_000_000,
        4: 1_700_003_600,
        65534: 3600,
        65533: {"bits": 2, "lst": zlib.compress(bytes(16))},
    }
    for key, value in changes.items():
        number = int(key[1:])
        if value is None:
            claims.pop(number)
        else:
            claims[number] = value
    return claims


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (_signed_claims(_claims(), typ="application/other"), "status_list.type"),
        (_signed_claims(_claims(), alg=-7), "status_list.alg"),
        (_signed_claims([1, 2]), "status_list.malformed"),
        (_signed_claims(_claims(c2=None)), "status_list.malformed"),
        (_signed_claims(_claims(c6="yesterday")), "status_list.malformed"),
        (_signed_claims(_claims(c65534=0)), "status_list.malformed"),
        (_signed_claims(_claims(c65533={"bits": 3, "lst": b""})), "status_list.malformed"),
        (_signed_claims(_claims(c65533={"bits": 2, "lst": b"not zlib"})), "status_list.malformed"),
        (
            _signed_claims(_claims(c65533={"bits": 2, "lst": zlib.compress(bytes(16))[:-3]})),
            "status_list.malformed",
        ),
        (
            # A zlib bomb: 16 MiB + 1 of zeros squeezed into ~16 KiB.
            _signed_claims(
                _claims(
                    c65533={"bits": 2, "lst": zlib.compress(bytes(status.MAX_LIST_BYTES + 1), 9)}
                )
            ),
            "status_list.too_large",
        ),
    ],
)
def test_bad_status_list_tokens_are_refused_with_a_code(token: bytes, code: str) -> None:
    with pytest.raises(StatusListError) as refused:
        parse_status_list(token)
    assert refused.value.code == code


def test_staleness_follows_ttl_and_exp() -> None:
    token, _ = _token(bytes(16), ttl=600)
    parsed = parse_status_list(token)
    assert parsed.issued_at == NOW and parsed.expires_at == NOW + timedelta(seconds=600)
    assert parsed.ttl == 600 and parsed.stale_after == NOW + timedelta(seconds=600)
    assert not parsed.is_stale(NOW)
    assert not parsed.is_stale(NOW + timedelta(seconds=600))
    assert parsed.is_stale(NOW + timedelta(seconds=601))
    # Without exp, iat + ttl decides; with neither, the list never goes stale by itself.
    no_exp = StatusList("u", NOW, None, 60, 2, None, b"")
    assert no_exp.is_stale(NOW + timedelta(seconds=61))
    assert not StatusList("u", NOW, None, None, 2, None, b"").is_stale(NOW + timedelta(days=999))
    with pytest.raises(IndexError):
        parsed.status_at(parsed.size)
    with pytest.raises(IndexError):
        parsed.status_at(-1)


# -- allocation ----------------------------------------------------------------------------------


class _Scripted(random.Random):
    """Returns the scripted draws first, then random ones."""

    def __init__(self, draws: list[int]) -> None:
        super().__init__(1)
        self.draws = list(draws)

    def randrange(self, *args: Any, **kwargs: Any) -> int:  # type: ignore[override]
        if self.draws:
            return self.draws.pop(0)
        return super().randrange(*args, **kwargs)


def test_indices_are_unique_random_and_spread(services: Services) -> None:
    authority = f.authority(services)
    allocator = StatusIndexAllocator(services.issuance.repo)
    drawn = [allocator.allocate(authority.id) for _ in range(4000)]
    assert len(set(drawn)) == len(drawn)
    assert all(0 <= i < MIN_LIST_SIZE for i in drawn)
    # Not in issue order: about half of the neighbours ascend (all would, if sequential).
    ascending = sum(a < b for a, b in itertools.pairwise(drawn))
    assert 0.4 < ascending / len(drawn) < 0.6
    buckets = [0] * 8
    for index in drawn:
        buckets[index * 8 // MIN_LIST_SIZE] += 1
    assert min(buckets) > 350, buckets  # 500 expected in each eighth


def test_the_list_grows_when_half_full(services: Services) -> None:
    authority = f.authority(services)
    allocator = StatusIndexAllocator(services.issuance.repo)
    first = [allocator.allocate(authority.id) for _ in range(MIN_LIST_SIZE // 2)]
    assert max(first) < MIN_LIST_SIZE
    more = [allocator.allocate(authority.id) for _ in range(2000)]
    assert len(set(first + more)) == len(first) + len(more)
    assert max(more) >= MIN_LIST_SIZE  # drawn over the doubled list
    assert all(i < 2 * MIN_LIST_SIZE for i in more)


def test_allocation_skips_indices_already_in_the_database(services: Services) -> None:
    authority = f.authority(services)
    (ecert,) = f.licence(services, authority, f.operator(services, authority)).effect.issued
    services.session.flush()
    used = ecert.status_index
    # A candidate used in the database is dropped: the first refill (8 draws) finds only it,
    # the second (16 draws) starts with 77.
    allocator = StatusIndexAllocator(services.issuance.repo, _Scripted([used] * 8 + [used, 77]))
    assert allocator.allocate(authority.id) == 77
    assert StatusIndexAllocator(services.issuance.repo).allocate(authority.id) != used
    # An allocator never hands out its own (not yet flushed) draws twice.
    repeat = StatusIndexAllocator(services.issuance.repo, _Scripted([5] * 8 + [5] * 16 + [6]))
    assert repeat.allocate(authority.id) == 5
    assert repeat.allocate(authority.id) == 6


def test_bulk_allocation_makes_few_queries(services: Services) -> None:
    authority = f.authority(services)
    allocator = StatusIndexAllocator(services.issuance.repo)
    calls: list[int] = []
    check = allocator.repo.status_indices_taken

    def counted(authority_id: int, candidates: Any) -> set[int]:
        calls.append(len(candidates))
        return check(authority_id, candidates)

    allocator.repo.status_indices_taken = counted  # type: ignore[method-assign]
    allocator.allocate(authority.id)
    assert len(calls) == 1
    for _ in range(499):
        allocator.allocate(authority.id)
    assert len(calls) <= 8 and max(calls) <= StatusIndexAllocator.MAX_BATCH


def test_issuance_gives_every_version_its_own_index(services: Services) -> None:
    authority = f.authority(services)
    operator = f.operator(services, authority)
    outcome = f.licence(services, authority, operator)
    licence_id = outcome.record.id
    for _ in range(3):
        services.business.reissue_licence(licence_id)
    versions = services.issuance.repo.versions(outcome.effect.issued[0].serial)
    assert [v.version for v in versions] == [1, 2, 3, 4]
    indices = [v.status_index for v in versions]
    assert len(set(indices)) == 4 and all(0 <= i < MIN_LIST_SIZE for i in indices)
    assert services.issuance.repo.status_index_count(authority.id) == 4
    # Indices are per authority: another authority's list is separate.
    other = f.authority(services)
    assert services.issuance.repo.status_index_count(other.id) == 0


# -- lists built from the database ---------------------------------------------------------------


def test_statuses_read_back_from_the_authoritys_list(services: Services) -> None:
    authority = f.authority(services)
    operator = f.operator(services, authority)
    licence = f.licence(services, authority, operator)
    (old,) = licence.effect.issued
    (current,) = services.business.reissue_licence(licence.record.id).effect.issued
    lost = f.vehicle(services, authority, operator, licence.record).record
    scrapped = f.vehicle(services, authority, operator, licence.record).record
    (suspended,) = services.business.change_vehicle(
        lost.id, VehicleChange(status="22")
    ).effect.suspended
    (revoked,) = services.business.change_vehicle(
        scrapped.id, VehicleChange(status="33")
    ).effect.revoked
    expired = f.licence(services, authority, f.operator(services, authority)).effect.issued[0]
    expired.status = EcertStatus.EXPIRED
    services.session.flush()

    token = _build(services, authority)
    kid, public = _key(services, authority)
    assert verify_status_list(token, public)
    parsed = parse_status_list(token)
    assert parsed.kid == kid
    assert parsed.uri == f"https://127.0.0.1:8000/api/status-lists/{authority.uscc}"
    assert parsed.authority_uscc == authority.uscc
    assert (parsed.bits, parsed.size, parsed.ttl) == (2, MIN_LIST_SIZE, TTL)
    assert parsed.issued_at == NOW and not parsed.is_stale(NOW)
    expected = {
        old: ListStatus.SUPERSEDED,
        current: ListStatus.VALID,
        suspended: ListStatus.SUSPENDED,
        revoked: ListStatus.INVALID,
        expired: ListStatus.VALID,  # expiry is read from the dates, not from the list
    }
    for ecert, value in expected.items():
        assert parsed.status_at(ecert.status_index) == value, ecert.status
    assert parsed.counts()[ListStatus.SUPERSEDED] == 1
    assert parsed.counts()[ListStatus.INVALID] == 1
    assert parsed.counts()[ListStatus.SUSPENDED] == 1


def test_a_lifecycle_change_shows_in_the_next_list(services: Services) -> None:
    authority = f.authority(services)
    operator = f.operator(services, authority)
    licence = f.licence(services, authority, operator)
    (ecert,) = licence.effect.issued
    before = parse_status_list(_build(services, authority))
    assert before.status_at(ecert.status_index) == ListStatus.VALID

    services.business.cancel_licence(licence.record.id)
    after = parse_status_list(_build(services, authority, NOW + timedelta(seconds=5)))
    assert after.status_at(ecert.status_index) == ListStatus.INVALID
    assert after.issued_at > before.issued_at
    # Other authorities' lists do not carry it.
    other = f.authority(services)
    assert parse_status_list(_build(services, other)).counts()[ListStatus.INVALID] == 0


def _bulk_insert(
    svc: Services, authority: Authority, count: int, within: int
) -> tuple[Ecert, list[dict[str, Any]]]:
    """One real e-cert and ``count`` minimal copies at random indices below ``within``."""
    (model,) = f.licence(svc, authority, f.operator(svc, authority)).effect.issued
    svc.session.flush()
    columns = {c.key: getattr(model, c.key) for c in Ecert.__table__.columns if c.key != "id"}
    columns |= {"signed_data": b"", "signature": b""}
    free = [i for i in range(within) if i != model.status_index]
    indices = random.Random(3).sample(free, count)
    states = [EcertStatus.VALID, EcertStatus.SUPERSEDED, EcertStatus.REVOKED, EcertStatus.SUSPENDED]
    rows = [
        columns
        | {
            "identifier": f"bulk-{n}",
            "serial": f"bulk-{n}",
            "current_key": None,
            "status": states[n % 4],
            "status_index": index,
        }
        for n, index in enumerate(indices)
    ]
    svc.session.execute(insert(Ecert), rows)
    return model, rows


def test_a_large_authority_list_is_built_from_the_database(services: Services) -> None:
    # More than half of 2^14 rows, inserted in bulk: the list has doubled.
    authority = f.authority(services)
    _, rows = _bulk_insert(services, authority, MIN_LIST_SIZE // 2 + 500, 2 * MIN_LIST_SIZE)
    parsed = parse_status_list(_build(services, authority))
    assert parsed.size == 2 * MIN_LIST_SIZE
    for row in rows[:500]:
        assert parsed.status_at(row["status_index"]) == status.LIST_STATUS_OF[row["status"]]
    counts = parsed.counts()
    superseded = [r for r in rows if r["status"] == EcertStatus.SUPERSEDED]
    assert counts[ListStatus.SUPERSEDED] == len(superseded)


def test_an_allocator_finds_a_list_over_half_full_and_grows_it(services: Services) -> None:
    # 12,000 of 16,384 used, all below 2^14: the highest index says 2^14, a sample says more
    # than half full (by chance not at the first refill of 8, but surely within a few).
    authority = f.authority(services)
    model, rows = _bulk_insert(services, authority, 12_000, MIN_LIST_SIZE)
    used = {model.status_index} | {r["status_index"] for r in rows}
    allocator = StatusIndexAllocator(services.issuance.repo)
    drawn = [allocator.allocate(authority.id) for _ in range(100)]
    assert len(set(drawn)) == 100 and not used & set(drawn)
    assert max(drawn) >= MIN_LIST_SIZE
    assert all(i < 2 * MIN_LIST_SIZE for i in drawn)


# -- API and CLI ---------------------------------------------------------------------------------


@pytest.fixture
def client(runtime: Runtime) -> Client:
    return new_client(runtime)


def test_api_serves_the_signed_list(client: Client, services: Services) -> None:
    authority = f.authority(services)
    (ecert,) = f.licence(services, authority, f.operator(services, authority)).effect.issued
    services.business.cancel_licence(ecert.source_id)
    services.session.commit()

    response = client.get(f"/api/status-lists/{authority.uscc}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/statuslist+cwt"
    assert response.headers["cache-control"] == f"public, max-age={TTL}"
    _, public = _key(services, authority)
    assert verify_status_list(response.content, public)
    parsed = parse_status_list(response.content)
    assert parsed.status_at(ecert.status_index) == ListStatus.INVALID
    assert parsed.ttl == services.keys.settings.status_list_ttl


@pytest.mark.parametrize("uscc", ["11220100MB0000000X", "nonsense", "%E4%B8%AD"])
def test_api_answers_404_json_for_an_unknown_authority(client: Client, uscc: str) -> None:
    response = client.get(f"/api/status-lists/{uscc}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["code"] == "authority.not_found"


def test_cli_exports_the_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "ROADCERT_ENV": "test",
        "ROADCERT_DATA_DIR": str(tmp_path),
        "ROADCERT_DATABASE_URL": f"sqlite:///{tmp_path / 'roadcert.db'}",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    runner = CliRunner()
    code = uscc.generate(random.Random(9), "220100", "1", "1")
    try:
        assert runner.invoke(cli_app, ["init"]).exit_code == 0
        authority = tmp_path / "authority.json"
        authority.write_text(
            json.dumps(
                {
                    "name": "长春市交通运输局",
                    "uscc": code,
                    "region_code": "220100",
                    "number_prefix": "长",
                    "ecert_enabled": True,
                },
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        added = runner.invoke(cli_app, ["ledger", "add", "authority", str(authority)])
        assert added.exit_code == 0, added.output
        out = tmp_path / "status.cwt"
        result = runner.invoke(cli_app, ["status-list", "export", code, "-o", str(out)])
        assert result.exit_code == 0, result.output
        parsed = parse_status_list(out.read_bytes())
        assert parsed.authority_uscc == code
        assert "状态列表" in result.stdout and str(MIN_LIST_SIZE) in result.stdout
        assert len(result.stdout.strip().splitlines()) == 1

        missing = runner.invoke(cli_app, ["status-list", "export", "nonsense", "-o", str(out)])
        assert missing.exit_code == 2
        assert "authority.not_found" in missing.stderr
    finally:
        get_settings.cache_clear()


# -- migration -----------------------------------------------------------------------------------


def test_the_migration_gives_existing_versions_their_indices(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "4c4afe5f237d")  # before status lists
    engine = make_engine(empty_database)
    now = datetime.now(UTC)
    try:
        with engine.begin() as conn:
            for authority_id in (1, 2):
                conn.execute(
                    text(
                        "INSERT INTO authority (id, name, uscc, region_code, number_prefix,"
                        " ecert_enabled, created_at, updated_at) VALUES (:id, 'A', :uscc,"
                        " '220100', '长', true, :now, :now)"
                    ),
                    {"id": authority_id, "uscc": f"1122010000000000{authority_id}X", "now": now},
                )
            conn.execute(
                text(
                    "INSERT INTO key_record (id, label, role, certificate, key_id, not_before,"
                    " not_after, state, created_at) VALUES (1, 'k', 'signing', :der, 'k',"
                    " :now, :now, 'active', :now)"
                ),
                {"der": b"\x30", "now": now},
            )
            for n in range(1, 61):
                conn.execute(
                    text(
                        "INSERT INTO ecert (id, identifier, type_code, serial, version,"
                        " authority_id, source_kind, source_id, number, holder_name, holder_code,"
                        " holder_code_type, issue_date, valid_from, valid_until, status,"
                        " operation, metadata_items, face, signed_data, signature, signing_key_id,"
                        " issued_at) VALUES (:n, :ident, 't', :ident, 1, :authority, 'licence', 1,"
                        " 'n', 'h', 'c', '001', :day, :day, :day, 'valid', 'new', '{}', '{}',"
                        " :blob, :blob, 1, :now)"
                    ),
                    {
                        "n": n,
                        "ident": f"e{n}",
                        "authority": 1 + n % 2,
                        "day": now.date(),
                        "blob": b"",
                        "now": now,
                    },
                )
        command.upgrade(config, "head")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT authority_id, status_index FROM ecert")).all()
        assert len(rows) == 60
        for authority_id in (1, 2):
            indices = [i for a, i in rows if a == authority_id]
            assert len(indices) == len(set(indices)) == 30
            assert all(0 <= i < MIN_LIST_SIZE for i in indices)
            assert sorted(indices) != list(range(30))
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("UPDATE ecert SET status_index = NULL WHERE id = 1"))
        command.downgrade(config, "4c4afe5f237d")
        command.upgrade(config, "head")
    finally:
        engine.dispose()


def test_an_allocator_counts_once_when_its_sample_is_mostly_taken(services: Services) -> None:
    authority = f.authority(services)
    key = services.keys.signing_key(authority)
    # Three quarters of the first list in use, written straight to the table.
    used = [i for i in range(MIN_LIST_SIZE) if i % 4]
    services.session.execute(
        insert(Ecert),
        [
            {
                "identifier": f"bulk-{i}",
                "type_code": "1" * 21,
                "serial": f"S{i}",
                "version": 1,
                "authority_id": authority.id,
                "source_kind": "licence",
                "source_id": i,
                "number": str(i),
                "holder_name": "测试",
                "holder_code": "X",
                "holder_code_type": "001",
                "issue_date": date(2026, 1, 1),
                "valid_from": date(2026, 1, 1),
                "valid_until": date(2030, 1, 1),
                "operation": "new",
                "signed_data": b"",
                "signature": b"",
                "signing_key_id": key.id,
                "status_index": i,
                "issued_at": datetime(2026, 1, 1, tzinfo=UTC),
            }
            for i in used
        ],
    )
    repo = services.issuance.repo
    counted: list[int] = []
    count = repo.status_index_count

    def counting(authority_id: int) -> int:
        counted.append(authority_id)
        return count(authority_id)

    repo.status_index_count = counting  # type: ignore[method-assign]
    allocator = StatusIndexAllocator(repo, random.Random(3))
    drawn = [allocator.allocate(authority.id) for _ in range(300)]
    # A sample finds about 75 % taken: the allocator counts once, then keeps the count, and
    # draws over the list grown to hold three-quarters of the first one at most half full.
    assert counted == [authority.id]
    assert not set(used) & set(drawn) and len(set(drawn)) == len(drawn)
    assert any(i >= MIN_LIST_SIZE for i in drawn) and max(drawn) < 2 * MIN_LIST_SIZE


# -- the bulk writer's bitmap of used indices ------------------------------------------------------


def test_used_indices_draw_only_free_indices_and_grow_at_half_full() -> None:
    used = status.UsedIndices()
    taken = set(random.Random(5).sample(range(MIN_LIST_SIZE), 3000))
    used.add((row_id, index) for row_id, index in enumerate(sorted(taken), start=1))
    assert used.count == 3000 and used.last_id == 3000
    used.add([(7, sorted(taken)[0])])  # seen again: neither counted twice nor moving last_id
    assert used.count == 3000 and used.last_id == 3000
    rng = random.Random(6)
    drawn = [used.draw(rng) for _ in range(MIN_LIST_SIZE)]
    assert len(set(drawn)) == len(drawn)
    assert not taken & set(drawn)
    assert all(i in used for i in drawn) and all(i in used for i in taken)
    assert used.count == 3000 + MIN_LIST_SIZE
    # Never more than half full: the size is what list_size gives for the count.
    assert used.size == list_size(used.count) == 4 * MIN_LIST_SIZE
    assert max(drawn) >= 2 * MIN_LIST_SIZE  # draws went over the grown list


def test_used_indices_take_a_list_as_large_as_its_highest_index() -> None:
    used = status.UsedIndices()
    used.add([(1, 5 * MIN_LIST_SIZE)])
    assert used.size == 8 * MIN_LIST_SIZE and 5 * MIN_LIST_SIZE in used
    assert -1 not in used and 9 * MIN_LIST_SIZE not in used


def test_used_indices_draw_uniformly_over_the_free_ones() -> None:
    # Every fourth index of the first half used; the draws (without replacement, uniform over
    # the free ones) fall in each eighth of the list in proportion to its free indices.
    used = status.UsedIndices()
    used.add((i + 1, i) for i in range(0, MIN_LIST_SIZE // 2, 4))
    free = [MIN_LIST_SIZE // 8 - (MIN_LIST_SIZE // 32 if b < 4 else 0) for b in range(8)]
    rng = random.Random(7)
    draws = 4000
    counts = [0] * 8
    for _ in range(draws):
        counts[used.draw(rng) * 8 // MIN_LIST_SIZE] += 1
    assert used.size == MIN_LIST_SIZE  # never more than half full, so it did not grow
    expected = [draws * f / sum(free) for f in free]
    chi2 = sum((c - e) ** 2 / e for c, e in zip(counts, expected, strict=True))
    assert chi2 < 24.3  # 7 degrees of freedom, p = 0.001
