"""Benchmark: 制证率 and 激活率 per authority (``collection_rates``) on a generated province.

Setup (not timed): a fresh database (SQLite in a temporary directory, PostgreSQL in a throw-away
schema) migrated by Alembic, then N certificates written straight into the tables with bulk
INSERTs (no signing): 14 authorities (one not on e-certs), ~10 % licences, ~30 % vehicles,
~60 % practitioners (some with two certificate types); e-certs for most of them in every state
(valid, suspended, expired, superseded, revoked) with payloads of a realistic size (face,
metadata, ~1.2 KB signed data), 80 % issued this year, 40 % of those activated; 2 % of the
records with an open 不规范数据 finding. Then ANALYZE.

Timed: ``collection_rates(session, today)`` for the province (the first, cold-ish run and the
best of ``--repeat``), and for one authority. The figures are checked against counts made in
Python while generating, so a fast but wrong query fails the run. With ``--indexes`` the same is
timed again after creating the two indexes proposed for 1M certificates (PROPOSED_INDEXES; not in
the migrations), and the figures must not change. ``--keep FILE`` keeps the SQLite file (and
reuses it next time, without the check) since generating 1M rows takes minutes;
``--keep-schema NAME`` does the same with a PostgreSQL schema (drop it yourself afterwards).

    .venv/bin/python bench/collection_rates.py [-n N] [--db sqlite|postgresql|both]
                                               [--postgres-url URL] [--repeat R] [--explain]
                                               [--indexes] [--keep FILE] [--keep-schema S]
                                               [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from roadcert.catalog.types import (
    QUALIFICATION_CERTIFICATE,
    RIDE_HAILING_TRANSPORT_CERTIFICATE,
    ROAD_TRANSPORT_CERTIFICATE,
    ROAD_TRANSPORT_LICENCE,
    TAXI_DRIVER_CERTIFICATE,
)
from roadcert.certificates.collection import collection_rates, year_window
from roadcert.certificates.models import Ecert, EcertStatus
from roadcert.crypto.models import KeyRecord
from roadcert.db import make_engine
from roadcert.kit.chinatime import china_date
from roadcert.migrate import upgrade
from roadcert.registry.models import (
    Authority,
    Licence,
    Operator,
    Practitioner,
    Qualification,
    QualityIssue,
    Vehicle,
)

DEFAULT_POSTGRES = os.environ.get(
    "ROADCERT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BATCH = 5000
AUTHORITIES = 14


def log(message: str) -> None:
    """Progress on stderr, so stdout stays the report."""
    print(message, file=sys.stderr, flush=True)


# -- the generated province --------------------------------------------------------------------


class Generator:
    """Writes the province and keeps the expected counts per authority."""

    def __init__(self, session: Session, n: int, seed: int, today: date) -> None:
        self.session = session
        self.n = n
        self.rng = random.Random(seed)
        self.today = today
        self.now = datetime.now(UTC)
        self.start, _ = year_window(today)
        self.expected: dict[int, Counter[str]] = {}
        self.pending: dict[Any, list[dict[str, Any]]] = {}
        self.next_id: Counter[str] = Counter()
        self.status_index: Counter[int] = Counter()
        # ~1.2 KB of signed data, a face and metadata of the usual size.
        self.signed = os.urandom(1200)
        self.face = {f"item{i}": "吉林省长春市某某运输有限公司" for i in range(12)}
        self.meta = {f"KEY{i}": "x" * 20 for i in range(15)}

    def _id(self, table: str) -> int:
        self.next_id[table] += 1
        return self.next_id[table]

    def _add(self, model: Any, row: dict[str, Any]) -> None:
        rows = self.pending.setdefault(model, [])
        rows.append(row)
        if len(rows) >= BATCH:
            self.flush()  # every table, parents first: rows refer to rows of other tables

    def flush(self, model: Any = None) -> None:
        """Write what is pending (of one table, or of all in dependency order)."""
        order = [KeyRecord, Operator, Licence, Vehicle, Practitioner, Qualification, Ecert]
        for table in [model] if model is not None else [*order, QualityIssue]:
            rows = self.pending.pop(table, [])
            if rows:
                self.session.execute(insert(table), rows)

    def _valid_until(self, share_valid: float) -> date:
        days = self.rng.randint(1, 1500)
        return self.today + timedelta(days=days if self.rng.random() < share_valid else -days)

    def build(self) -> None:
        """The whole province."""
        for a in range(1, AUTHORITIES + 1):
            self.session.execute(
                insert(Authority),
                [
                    {
                        "id": a,
                        "name": f"第{a}交通运输局",
                        "uscc": f"11220{a:03d}MB0000000{a % 10}"[:18],
                        "region_code": f"22{a:02d}00",
                        "number_prefix": "长",
                        "ecert_enabled": a != AUTHORITIES,
                    }
                ],
            )
            self._add(
                KeyRecord,
                {
                    "id": a,
                    "label": f"bench-{a}",
                    "role": "signing",
                    "authority_id": a,
                    "certificate": b"-",
                    "key_id": f"{a:016x}",
                    "not_before": self.now,
                    "not_after": self.now + timedelta(days=365),
                },
            )
            self.expected[a] = Counter()
        self.flush(KeyRecord)
        licences, vehicles = self.n // 10, self.n * 3 // 10
        people = self.n - licences - vehicles
        operators = max(1, licences)
        for i in range(1, operators + 1):
            self._add(
                Operator,
                {
                    "id": i,
                    "authority_id": 1 + i % AUTHORITIES,
                    "name": f"业户{i}",
                    "uscc": f"9122{i:014d}"[:18],
                    "region_code": "220102",
                    "status": "1",
                },
            )
        self.flush(Operator)
        log(f"  {operators} operators")
        for i in range(1, licences + 1):
            self._licence(i, 1 + i % operators)
        self.flush(Licence)
        log(f"  {licences} licences")
        for i in range(1, vehicles + 1):
            self._vehicle(i, 1 + i % operators)
        self.flush(Vehicle)
        log(f"  {vehicles} vehicles")
        for i in range(1, people + 1):
            self._practitioner(i)
        self.flush()
        log(f"  {people} practitioners; {self.next_id['ecert']} e-cert versions")

    def _licence(self, i: int, operator_id: int) -> None:
        auth = 1 + operator_id % AUTHORITIES
        status = "active" if self.rng.random() < 0.96 else "cancelled"
        until = self._valid_until(0.9)
        type_code = ROAD_TRANSPORT_LICENCE.type_code
        self._add(
            Licence,
            {
                "id": i,
                "operator_id": operator_id,
                "authority_id": auth,
                "type_code": type_code,
                "number": f"吉交运管许可长字{i:012d}号",
                "business_scopes": ["02101"],
                "valid_from": self.today - timedelta(days=400),
                "valid_until": until,
                "issue_date": self.today - timedelta(days=400),
                "status": status,
            },
        )
        self._certificate("licence", i, type_code, auth, status == "active", until)

    def _vehicle(self, i: int, operator_id: int) -> None:
        auth = 1 + operator_id % AUTHORITIES
        status = "active" if self.rng.random() < 0.97 else "cancelled"
        ride = self.rng.random() < 0.1
        until = self._valid_until(0.92)
        self._add(
            Vehicle,
            {
                "id": i,
                "operator_id": operator_id,
                "authority_id": auth,
                "plate": f"吉A{i:06d}"[:12],
                "plate_color": "2",
                "vehicle_type": "H11",
                "length_mm": 9600,
                "width_mm": 2500,
                "height_mm": 3600,
                "business_scopes": ["02101"],
                "status": "10",
                "ride_hailing": ride,
                "transport_number": f"吉交运管长字{i:012d}号",
                "issue_date": self.today - timedelta(days=300),
                "valid_from": self.today - timedelta(days=300),
                "valid_until": until,
                "transport_status": status,
            },
        )
        cert_type = RIDE_HAILING_TRANSPORT_CERTIFICATE if ride else ROAD_TRANSPORT_CERTIFICATE
        self._certificate("vehicle", i, cert_type.type_code, auth, status == "active", until)

    def _practitioner(self, i: int) -> None:
        auth = 1 + i % AUTHORITIES
        self._add(
            Practitioner,
            {
                "id": i,
                "authority_id": auth,
                "name": "张三",
                "id_number": f"22010219800314{i:04d}"[:18],
                "sex": "1",
                "birth_date": date(1980, 3, 14),
                "certificate_number": f"{i:018d}",
            },
        )
        roll = self.rng.random()
        categories = (
            ["02001"]
            if roll < 0.85
            else ["02001", "09002"]
            if roll < 0.95
            else [
                "02001",
                "03001",
            ]
        )
        held: dict[str, date | None] = {}
        for category in categories:
            active = self.rng.random() < 0.97
            until = self._valid_until(0.9)
            self._add(
                Qualification,
                {
                    "id": self._id("qualification"),
                    "practitioner_id": i,
                    "authority_id": auth,
                    "category": category,
                    "first_issued": self.today - timedelta(days=3000),
                    "valid_from": self.today - timedelta(days=300),
                    "valid_until": until,
                    "status": "active" if active else "cancelled",
                },
            )
            type_code = (
                TAXI_DRIVER_CERTIFICATE if category == "09002" else QUALIFICATION_CERTIFICATE
            ).type_code
            best = held.get(type_code)
            if active and until >= self.today:
                held[type_code] = until if best is None else max(best, until)
            else:
                held.setdefault(type_code, None)
        for type_code, held_until in held.items():
            self._certificate(
                "practitioner",
                i,
                type_code,
                auth,
                held_until is not None,
                held_until or self.today - timedelta(days=1),
            )

    def _certificate(
        self, kind: str, source_id: int, type_code: str, auth: int, valid: bool, until: date
    ) -> None:
        """The e-cert versions of one certificate, and what it adds to the expected counts."""
        counts = self.expected[auth]
        valid = valid and until >= self.today
        counts["valid"] += valid
        if auth == AUTHORITIES or self.rng.random() < 0.12:  # not on e-certs, or refused
            return
        if self.rng.random() < 0.1:  # an older version, superseded
            self._ecert(kind, source_id, type_code, auth, EcertStatus.SUPERSEDED, until, None)
        if not valid:
            status = EcertStatus.EXPIRED if until < self.today else EcertStatus.REVOKED
        else:
            roll = self.rng.random()
            status = EcertStatus.SUSPENDED if roll < 0.03 else EcertStatus.VALID
        key = f"{kind}:{source_id}:{type_code}" if status != EcertStatus.REVOKED else None
        self._ecert(kind, source_id, type_code, auth, status, until, key)
        counts["with_ecert"] += valid and status == EcertStatus.VALID

    def _ecert(
        self,
        kind: str,
        source_id: int,
        type_code: str,
        auth: int,
        status: str,
        until: date,
        current_key: str | None,
    ) -> None:
        ecert_id = self._id("ecert")
        this_year = self.rng.random() < 0.8
        issued = self.start + timedelta(minutes=self.rng.randint(1, 60 * 24 * 200))
        if not this_year:
            issued = self.start - timedelta(minutes=self.rng.randint(1, 60 * 24 * 300))
        issued = min(issued, self.now - timedelta(minutes=1))
        activated = None
        if self.rng.random() < 0.4:
            activated = min(issued + timedelta(days=self.rng.randint(0, 30)), self.now)
        counts = self.expected[auth]
        if this_year or issued >= self.start:
            counts["issued"] += 1
            counts["activated"] += activated is not None
        self.status_index[auth] += 1
        self._add(
            Ecert,
            {
                "id": ecert_id,
                "identifier": f"1.2.156.3005.2.{type_code}.{auth}.{ecert_id}",
                "type_code": type_code,
                "serial": f"S{ecert_id:012d}",
                "version": 1,
                "authority_id": auth,
                "source_kind": kind,
                "source_id": source_id,
                "current_key": current_key,
                "number": f"N{ecert_id}",
                "holder_name": "吉林省长春市某某运输有限公司",
                "holder_code": f"9122{ecert_id:014d}",
                "holder_code_type": "049",
                "issue_date": issued.date(),
                "valid_from": self.today - timedelta(days=300),
                "valid_until": until,
                "status": status,
                "status_changed_at": issued,
                "operation": "new",
                "metadata_items": self.meta,
                "face": self.face,
                "signed_data": self.signed,
                "signature": self.signed[:64],
                "signing_key_id": auth,
                "status_index": self.status_index[auth],
                "issued_at": issued,
                "activated_at": activated,
            },
        )
        if self.rng.random() < 0.02:
            self._add(
                QualityIssue,
                {
                    "authority_id": auth,
                    "entity": kind,
                    "entity_id": source_id,
                    "field": "uscc",
                    "rule": self.rng.choice(["uscc.check_char", "uscc.missing", "plate.serial"]),
                    "message": "bench",
                    "detected_at": self.now,
                },
            )


# -- backends ------------------------------------------------------------------------------------


@contextmanager
def sqlite_engine(keep: Path | None = None) -> Iterator[Engine]:
    """A migrated SQLite file in a temporary directory, or at ``keep`` (kept afterwards)."""
    if keep is not None:
        upgrade(f"sqlite:///{keep}")
        engine = make_engine(f"sqlite:///{keep}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with tempfile.TemporaryDirectory(prefix="rates-") as directory:
        url = f"sqlite:///{Path(directory) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def postgres_engine(url: str, keep: str | None = None) -> Iterator[Engine]:
    """A migrated throw-away schema of ``url``, dropped at the end (unless ``keep`` names it)."""
    schema = keep or f"bench_{secrets.token_hex(6)}"
    admin = make_engine(url, connect_args={"connect_timeout": 5})
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        with engine.connect() as conn:
            upgrade(connection=conn)
        yield engine
    finally:
        engine.dispose()
        if keep is None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


#: The indexes proposed to the lead for 1M certificates (not in the migrations yet): the first
#: makes the current-version lookup index-only, the second the activation count.
PROPOSED_INDEXES = {
    "ix_ecert_current_state": "ecert (current_key, status, valid_until)",
    "ix_ecert_authority_issued": "ecert (authority_id, issued_at, activated_at)",
}


def set_indexes(engine: Engine, present: bool) -> None:
    """Create or drop the proposed indexes, then VACUUM ANALYZE (ANALYZE on SQLite).

    PostgreSQL needs the VACUUM for index-only scans (the visibility map), as autovacuum would
    give a table that has settled after an import.
    """
    with engine.connect() as conn:
        for name, target in PROPOSED_INDEXES.items():
            if present:
                conn.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {target}"))
            else:
                conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
        conn.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        postgres = engine.dialect.name == "postgresql"
        conn.execute(text("VACUUM ANALYZE" if postgres else "ANALYZE"))


def timed(engine: Engine, today: date, repeat: int, explain: bool) -> dict[str, Any]:
    """Time the province ``repeat`` times and one authority once."""
    times: list[float] = []
    with Session(engine) as session:
        for _ in range(repeat):
            began = time.perf_counter()
            rates = collection_rates(session, today)
            times.append(time.perf_counter() - began)
        began = time.perf_counter()
        collection_rates(session, today, 1)
        one_time = time.perf_counter() - began
        if explain:
            explain_queries(session, today)
    return {
        "rates": rates,
        "first_s": round(times[0], 3),
        "best_s": round(min(times), 3),
        "one_authority_s": round(one_time, 3),
    }


def run(engine: Engine, n: int, repeat: int, explain: bool, indexes: bool) -> dict[str, Any]:
    """Generate, check and time on one backend (a kept SQLite file is generated once)."""
    today = china_date(datetime.now(UTC))
    began = time.perf_counter()
    with Session(engine) as session:
        generator = Generator(session, n, 5, today)
        reused = session.scalar(text("SELECT count(*) FROM authority"))
        if not reused:
            generator.build()
            session.commit()
    set_indexes(engine, False)  # also ANALYZE
    setup = time.perf_counter() - began
    log(f"  setup {setup:.1f} s")
    plain = timed(engine, today, repeat, explain)
    rates = plain.pop("rates")
    for rate in rates if not reused else []:  # a reused file's expected counts are gone
        want = generator.expected[rate.authority_id or 0]
        got = (rate.valid, rate.with_ecert, rate.issued_this_year, rate.activated_this_year)
        expected = (want["valid"], want["with_ecert"], want["issued"], want["activated"])
        assert got == expected, (rate.authority_name, got, expected)
    result = {
        "certificates": sum(r.valid for r in rates),
        "setup_s": round(setup, 1),
        "province_rate": round(sum(r.with_ecert for r in rates) / sum(r.valid for r in rates), 4),
        "without_indexes": plain,
    }
    if indexes:
        began = time.perf_counter()
        set_indexes(engine, True)
        log(f"  proposed indexes built in {time.perf_counter() - began:.1f} s")
        with_indexes = timed(engine, today, repeat, explain)
        again = with_indexes.pop("rates")
        assert [r.as_dict() for r in again] == [r.as_dict() for r in rates]
        result["with_indexes"] = with_indexes
    return result


def explain_queries(session: Session, today: date) -> None:
    """Print the plan of each aggregate (EXPLAIN QUERY PLAN / EXPLAIN)."""
    from roadcert.certificates import collection

    statements: list[Any] = []
    original = session.execute

    def capture(statement: Any, *args: Any, **kwargs: Any) -> Any:
        statements.append(statement)
        return original(statement, *args, **kwargs)

    session.execute = capture  # type: ignore[method-assign]
    try:
        collection.collection_rates(session, today)
    finally:
        session.execute = original  # type: ignore[method-assign]
    prefix = "EXPLAIN QUERY PLAN " if session.bind.dialect.name == "sqlite" else "EXPLAIN "  # type: ignore[union-attr]
    for statement in statements:
        compiled = statement.compile(
            dialect=session.bind.dialect,  # type: ignore[union-attr]
            compile_kwargs={"literal_binds": True},
        )
        log("-- " + str(compiled).splitlines()[0][:80])
        for row in session.execute(text(prefix + str(compiled))):
            log("   " + " | ".join(str(c) for c in row))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="certificates (ledger records)")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--explain", action="store_true", help="print each query's plan")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--indexes", action="store_true", help="time again with the proposed indexes"
    )
    parser.add_argument(
        "--keep", type=Path, help="SQLite file to generate once and keep (reused if present)"
    )
    parser.add_argument(
        "--keep-schema", help="PostgreSQL schema to generate once and keep (reused if present)"
    )
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for backend in backends:
        log(f"{backend}: generating {args.n} certificates")
        if backend == "sqlite":
            maker = sqlite_engine(args.keep)
        else:
            maker = postgres_engine(args.postgres_url, args.keep_schema)
        with maker as engine:
            results[backend] = run(engine, args.n, args.repeat, args.explain, args.indexes)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"collection_rates on {args.n} generated certificates ({AUTHORITIES} authorities)")
    for backend, r in results.items():
        print(f"  {backend}: {r['certificates']} valid, setup {r['setup_s']} s")
        for variant in ("without_indexes", "with_indexes"):
            if variant in r:
                t = r[variant]
                print(
                    f"    {variant.replace('_', ' '):16} first {t['first_s']:7.3f} s  "
                    f"best {t['best_s']:7.3f} s  one authority {t['one_authority_s']:7.3f} s"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
