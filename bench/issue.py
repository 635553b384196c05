"""Benchmark: issue N e-certs from ledger records (sign + store) on SQLite and PostgreSQL.

Prints e-certs per second and the ratio to this machine's ``openssl speed sm2`` sign rate measured
in the same run (DESIGN.md §9: issuance must run near the SM2 signing limit of the machine).

Setup (not timed): a fresh database (SQLite in a temporary directory, PostgreSQL in a throw-away
schema), the key hierarchy, one issuing authority and N ledger records mixed like a province
(~10 % licences, ~30 % vehicles with photos, ~60 % practitioners with photos), each giving exactly
one e-cert. The records are entered through the business operations while the authority has not
switched to e-certs yet, so only the ledger is stored (``issuance.authority_disabled``); then the
authority is switched on.

Timed: a worker loop issues every record's e-cert through ``BusinessService.issue_all``, one
session and one commit per batch. The wall time is split into SM2 signing (the key store's
signer), deterministic CBOR (``cbor.encode_ordered``), SQL (DBAPI execute and COMMIT) and the rest
(ORM, faces, quality rules, identifiers).

    .venv/bin/python bench/issue.py [-n N] [--db sqlite|postgresql|both] [--postgres-url URL]
                                    [--batch B] [--repeat R] [--seed S] [--json]
                                    [--profile PREFIX]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any
from unittest import mock

from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from roadcert.catalog.types import (
    DANGEROUS_GOODS_LICENCE,
    RADIOACTIVE_LICENCE,
    RIDE_HAILING_LICENCE,
    ROAD_TRANSPORT_LICENCE,
    CertificateType,
)
from roadcert.certificates.models import Ecert
from roadcert.config import Environment, Settings
from roadcert.crypto import cbor, sm, x509
from roadcert.crypto.keystore import FileKeyStore
from roadcert.crypto.models import KeyRecord
from roadcert.crypto.service import KeyService
from roadcert.db import make_engine, make_sessionmaker
from roadcert.demo import photo_png
from roadcert.kit import cert_numbers, plates, regions, ric, uscc
from roadcert.migrate import upgrade
from roadcert.migration.vocabulary import GIVEN, ROADS, SURNAMES
from roadcert.registry.models import Licence, Practitioner, Vehicle
from roadcert.registry.schemas import (
    AuthorityIn,
    LicenceIn,
    OperatorIn,
    PractitionerIn,
    QualificationIn,
    VehicleIn,
)
from roadcert.runtime import Runtime, Services

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSPHRASE = "bench-passphrase-not-secret"
PREFECTURE = "220100"  # 长春
PLATE_LETTER = "A"
PROVINCE_ABBR = "吉"
CITY_SHORT = "长"
SETUP_COMMIT_EVERY = 200
SM_SIGN_SECONDS = 2.0
OPENSSL_SECONDS = 3

Record = tuple[type[Licence] | type[Vehicle] | type[Practitioner], int]

# Operator kinds with their share, licence type and business scopes (as in the demo province).
OPERATOR_KINDS: list[tuple[str, int, CertificateType, list[str]]] = [
    ("freight", 55, ROAD_TRANSPORT_LICENCE, ["02101"]),
    ("passenger", 20, ROAD_TRANSPORT_LICENCE, ["01103", "01203"]),
    ("dangerous", 15, DANGEROUS_GOODS_LICENCE, ["02101", "03131"]),
    ("ride", 8, RIDE_HAILING_LICENCE, ["01000"]),
    ("radioactive", 2, RADIOACTIVE_LICENCE, ["03170"]),
]
# Qualification category sets that each go on exactly one certificate type, with their weights.
ROLE_SETS: list[tuple[list[str], int]] = [
    (["02001"], 44),
    (["01001"], 12),
    (["01001", "02001"], 10),
    (["02001", "03001"], 10),
    (["03002"], 4),
    (["03003"], 4),
    (["09002"], 8),
    (["09003"], 8),
]


def log(message: str) -> None:
    """Progress and notes go to stderr, so that ``--json`` output stays clean."""
    print(message, file=sys.stderr, flush=True)


# -- reference: the machine's SM2 signing rate -----------------------------------------------------


@dataclass
class Reference:
    """SM2 sign rates measured in this run."""

    openssl_version: str | None
    openssl_sign_per_s: float | None
    openssl_verify_per_s: float | None
    openssl_note: str | None
    sm_sign_per_s: float


def openssl_speed(seconds: int = OPENSSL_SECONDS) -> tuple[str | None, float | None, float | None]:
    """``openssl speed -seconds S sm2``: (version, sign/s, verify/s), one core."""
    exe = shutil.which("openssl")
    if exe is None:
        raise RuntimeError("openssl not found on PATH")
    version = subprocess.run(
        [exe, "version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    done = subprocess.run(
        [exe, "speed", "-seconds", str(seconds), "sm2"],
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds * 4 + 60,
    )
    # Last line: " 256 bits SM2 (CurveSM2)   0.0004s   0.0004s   2825.3   2689.4"
    lines = [line for line in done.stdout.splitlines() if "SM2" in line]
    match = re.search(r"([\d.]+)\s+([\d.]+)\s*$", lines[-1]) if lines else None
    if done.returncode != 0 or match is None:
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"openssl speed sm2 gave no figures ({detail[0]})")
    return version or None, float(match.group(1)), float(match.group(2))


def sm_sign_rate(seconds: float = SM_SIGN_SECONDS, size: int = 1024) -> float:
    """Signatures per second of ``roadcert.crypto.sm.sign`` in this process (one core)."""
    key = sm.generate_private_key()
    data = secrets.token_bytes(size)
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(50):
            sm.sign(key, data)
        count += 50
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def measure_reference() -> Reference:
    """Run ``openssl speed sm2`` and the in-process SM2 rate."""
    log(f"reference: openssl speed -seconds {OPENSSL_SECONDS} sm2 …")
    note = None
    version: str | None = None
    sign: float | None = None
    verify: float | None = None
    try:
        version, sign, verify = openssl_speed()
    except (RuntimeError, OSError, subprocess.SubprocessError, IndexError) as exc:
        note = str(exc)
        log(f"  openssl reference unavailable: {note}; ratios will be missing")
    log(f"reference: roadcert.crypto.sm.sign for {SM_SIGN_SECONDS:g} s …")
    return Reference(version, sign, verify, note, sm_sign_rate())


# -- instrumentation -------------------------------------------------------------------------------


@dataclass
class Split:
    """Where the timed phase spent its time (seconds)."""

    sign: float = 0.0
    cbor: float = 0.0
    sql: float = 0.0
    commit: float = 0.0
    queries: int = 0
    signatures: int = 0
    signed_bytes: int = 0


@contextmanager
def instrumented(engine: Engine, split: Split) -> Iterator[None]:
    """Time the signer, ``cbor.encode_ordered`` and every DBAPI execute while inside."""
    original_signer = KeyService.signer
    original_encode = cbor.encode_ordered

    def timed_signer(self: KeyService, record: KeyRecord) -> Callable[[bytes], bytes]:
        sign = original_signer(self, record)

        def timed(data: bytes) -> bytes:
            start = time.perf_counter()
            try:
                return sign(data)
            finally:
                split.sign += time.perf_counter() - start
                split.signatures += 1
                split.signed_bytes += len(data)

        return timed

    def timed_canonical(obj: object) -> bytes:
        start = time.perf_counter()
        try:
            return original_encode(obj)
        finally:
            split.cbor += time.perf_counter() - start

    started: list[float] = []

    def before(*_: Any) -> None:
        started.append(time.perf_counter())

    def after(*_: Any) -> None:
        split.sql += time.perf_counter() - started.pop()
        split.queries += 1

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        with (
            mock.patch.object(KeyService, "signer", timed_signer),
            mock.patch.object(cbor, "encode_ordered", timed_canonical),
        ):
            yield
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


# -- setup: a ledger without e-certs ---------------------------------------------------------------


class LedgerBuilder:
    """Enters records through the business operations, as a clerk would."""

    def __init__(self, authority_id: int, seed: int) -> None:
        self.authority_id = authority_id
        self.rng = random.Random(seed)
        self.today = date.today()
        self.counties = regions.counties(PREFECTURE) or [PREFECTURE]
        self.seq = 0
        self.plates: set[str] = set()
        self.id_numbers: set[str] = set()

    def _county_address(self) -> tuple[str, str]:
        county = self.rng.choice(self.counties)
        address = (
            f"吉林省长春市{regions.name_of(county) or ''}"
            f"{self.rng.choice(ROADS)}{self.rng.randint(1, 3999)}号"
        )
        return county, address

    def _days_ago(self, low: int, high: int) -> date:
        return self.today - timedelta(days=self.rng.randint(low, high))

    def _plate(self, new_energy: bool) -> str:
        while True:
            plate = plates.generate(self.rng, PROVINCE_ABBR, PLATE_LETTER, new_energy)
            if plate not in self.plates:
                self.plates.add(plate)
                return plate

    def operator_with_licence(self, svc: Services) -> tuple[int, int, str]:
        """A new operator and its licence (新增); returns (operator id, licence id, kind)."""
        county, address = self._county_address()
        kind, _, licence_type, scopes = self.rng.choices(
            OPERATOR_KINDS, weights=[k[1] for k in OPERATOR_KINDS]
        )[0]
        self.seq += 1
        operator = svc.business.new_operator(
            OperatorIn(
                authority_id=self.authority_id,
                name=f"长春市{self.rng.choice('宏达长运顺通恒信安达腾飞鑫源远航')}运输{self.seq}有限公司",
                uscc=uscc.generate(self.rng, county),
                address=address,
                region_code=county,
                economic_type="173",
                status="1",
            )
        ).record
        issued = self._days_ago(30, 3 * 365)
        licence = svc.business.new_licence(
            LicenceIn(
                operator_id=operator.id,
                authority_id=self.authority_id,
                type_code=licence_type.type_code,
                number=cert_numbers.licence_number(PROVINCE_ABBR, CITY_SHORT, county, self.seq),
                business_scopes=scopes,
                valid_from=issued,
                valid_until=issued + timedelta(days=365 * licence_type.validity_years - 1),
                issue_date=issued,
            )
        )
        return operator.id, licence.record.id, kind

    def vehicle(self, svc: Services, operator_id: int, licence_id: int, kind: str) -> int:
        """A new vehicle with a photo (新增); returns its id."""
        ride = kind == "ride"
        spec: dict[str, Any]
        if kind == "passenger":
            spec = {"vehicle_type": "K11", "brand_model": "宇通牌ZK6122H", "seats": 49}
            spec |= {"length_mm": 12000, "width_mm": 2550, "height_mm": 3800}
        elif kind in ("dangerous", "radioactive"):
            spec = {"vehicle_type": "H14", "brand_model": "解放牌CA5250GYY", "tonnage_kg": 20000}
            spec |= {"length_mm": 10500, "width_mm": 2500, "height_mm": 3500}
        elif ride:
            spec = {"vehicle_type": "K33", "brand_model": "比亚迪牌BYD7005BEV", "seats": 5}
            spec |= {"length_mm": 4800, "width_mm": 1850, "height_mm": 1500}
        else:
            spec = {"vehicle_type": "H11", "brand_model": "解放牌CA1250P66", "tonnage_kg": 18000}
            spec |= {"length_mm": 9600, "width_mm": 2500, "height_mm": 3600}
        plate = self._plate(new_energy=ride)
        self.seq += 1
        issued = self._days_ago(10, 2 * 365)
        licence = svc.ledger.get(Licence, licence_id)
        data = VehicleIn(
            operator_id=operator_id,
            authority_id=self.authority_id,
            licence_id=licence_id,
            plate=plate,
            plate_color="5" if ride else "2",
            business_scopes=[] if ride else list(licence.business_scopes),
            technical_grade="1",
            status="10",
            ride_hailing=ride,
            transport_number=cert_numbers.transport_number(
                PROVINCE_ABBR, CITY_SHORT, PREFECTURE, self.seq
            ),
            issue_date=issued,
            valid_from=issued,
            valid_until=issued + timedelta(days=3 * 365 - 1),
            review_valid_until=self.today + timedelta(days=self.rng.randint(30, 365)),
            **spec,
        )
        picture = photo_png(self.rng, plate[2:], person=False)
        return int(svc.business.new_vehicle(data, picture).record.id)

    def practitioner(self, svc: Services) -> int:
        """A new practitioner with a photo and one certificate type's categories; returns id."""
        county, address = self._county_address()
        birth = date(1965, 1, 1) + timedelta(days=self.rng.randint(0, 35 * 365))
        male = self.rng.random() < 0.85
        while True:
            number = ric.generate(self.rng, county, birth, male)
            if number not in self.id_numbers:
                self.id_numbers.add(number)
                break
        roles = self.rng.choices([r for r, _ in ROLE_SETS], weights=[w for _, w in ROLE_SETS])[0]
        qualifications = []
        for role in roles:
            start = self._days_ago(20, 5 * 365)
            qualifications.append(
                QualificationIn(
                    category=role,
                    first_issued=start,
                    valid_from=start,
                    valid_until=start + timedelta(days=6 * 365 - 1),
                )
            )
        name = self.rng.choice(SURNAMES) + "".join(
            self.rng.choice(GIVEN) for _ in range(self.rng.randint(1, 2))
        )
        data = PractitionerIn(
            authority_id=self.authority_id,
            name=name,
            id_number=number,
            sex="1" if male else "2",
            birth_date=birth,
            address=address,
            driving_class=self.rng.choice(["A1", "A2", "B2", "C1"]),
            qualifications=qualifications,
        )
        picture = photo_png(self.rng, number[-6:], person=True)
        return int(svc.business.new_practitioner(data, picture).record.id)


def plan(n: int) -> tuple[int, int, int]:
    """(licences, vehicles, practitioners) adding up to ``n``: about 10 %, 30 %, 60 %."""
    licences = max(1, round(n * 0.1)) if n >= 3 else 0
    vehicles = round(n * 0.3)
    return licences, vehicles, n - licences - vehicles


def build_ledger(runtime: Runtime, n: int, seed: int) -> list[Record]:
    """Keys, one authority and ``n`` records without e-certs; returns the records, shuffled."""
    rng = random.Random(seed)
    with runtime.unit_of_work("bench") as svc:
        svc.keys.ensure_hierarchy()
        authority_id = svc.ledger.create_authority(
            AuthorityIn(
                name="长春市交通运输局",
                uscc=uscc.generate(rng, PREFECTURE, "1", "1"),
                region_code=PREFECTURE,
                number_prefix=CITY_SHORT,
                ecert_enabled=False,
            )
        ).id
    builder = LedgerBuilder(authority_id, seed)
    n_licences, n_vehicles, n_people = plan(n)
    records: list[Record] = []

    def licence_task(vehicles: int) -> Callable[[Services], None]:
        def run(svc: Services) -> None:
            operator_id, licence_id, kind = builder.operator_with_licence(svc)
            records.append((Licence, licence_id))
            for _ in range(vehicles):
                records.append((Vehicle, builder.vehicle(svc, operator_id, licence_id, kind)))

        return run

    def practitioner_task(svc: Services) -> None:
        records.append((Practitioner, builder.practitioner(svc)))

    # Each operator holds one licence and an equal share of the vehicles.
    work = [
        licence_task(n_vehicles // n_licences + (i < n_vehicles % n_licences))
        for i in range(n_licences)
    ]
    work += [practitioner_task] * n_people
    if not n_licences:
        work += [practitioner_task] * n_vehicles
    started = time.perf_counter()
    for offset in range(0, len(work), SETUP_COMMIT_EVERY):
        with runtime.unit_of_work("bench") as svc:
            for task in work[offset : offset + SETUP_COMMIT_EVERY]:
                task(svc)
        elapsed = time.perf_counter() - started
        print(f"\r  setup: {len(records)}/{n} records, {elapsed:.0f} s", end="", file=sys.stderr)
    print(file=sys.stderr)
    with runtime.unit_of_work("bench") as svc:
        early = svc.session.scalar(select(func.count()).select_from(Ecert))
        if early:
            raise RuntimeError(f"setup issued {early} e-certs; the authority should be disabled")
        authority = svc.ledger.set_ecert_enabled(authority_id, True)
        svc.keys.signing_key(authority)  # a running installation has its signing key already
    random.Random(seed).shuffle(records)
    return records


# -- timed: issue every record's e-cert ------------------------------------------------------------


def load(session: Session, batch: Sequence[Record]) -> list[Any]:
    """The batch's records, one query per record kind (as a worker fetching its batch would)."""
    ids: dict[Any, list[int]] = {}
    for model, record_id in batch:
        ids.setdefault(model, []).append(record_id)
    out: list[Any] = []
    for model, wanted in ids.items():
        out += session.scalars(select(model).where(model.id.in_(wanted))).all()
    return out


def issue_records(
    runtime: Runtime, records: Sequence[Record], batch: int, split: Split
) -> tuple[int, Counter[str], float]:
    """Issue the e-certs of ``records``, one session and commit per batch: (issued, refused, s)."""
    issued = 0
    refused: Counter[str] = Counter()
    start = time.perf_counter()
    for offset in range(0, len(records), batch):
        session = runtime.sessions()
        try:
            svc = runtime.services(session, actor="bench")
            effect = svc.business.issue_all(load(session, records[offset : offset + batch]))
            issued += len(effect.issued)
            refused.update(refusal.code for refusal in effect.refused)
            commit_start, sql_before = time.perf_counter(), split.sql
            session.commit()
            # SQL flushed by the commit is already in split.sql; keep only the COMMIT itself.
            split.commit += time.perf_counter() - commit_start - (split.sql - sql_before)
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
    return issued, refused, time.perf_counter() - start


def check_sample(runtime: Runtime, sample: int = 20) -> tuple[int, int]:
    """Verify the signatures of a few stored e-certs with the signing key's certificate."""
    with runtime.unit_of_work("bench") as svc:
        ecerts = svc.session.scalars(select(Ecert).order_by(func.random()).limit(sample)).all()
        good = 0
        for ecert in ecerts:
            key = svc.session.get(KeyRecord, ecert.signing_key_id)
            assert key is not None
            public = x509.load(key.certificate).public_key
            document = cbor.decode(ecert.signed_data, require_canonical=True)
            if document["ZZBS"] == ecert.identifier and sm.verify(
                public, ecert.signed_data, ecert.signature
            ):
                good += 1
        return good, len(ecerts)


# -- backends --------------------------------------------------------------------------------------


@contextmanager
def sqlite_engine(directory: Path) -> Iterator[Engine]:
    """A migrated SQLite file in ``directory``."""
    url = f"sqlite:///{directory / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


class Unreachable(Exception):
    """PostgreSQL could not be reached (or the schema not created)."""


@contextmanager
def postgres_engine(url: str) -> Iterator[Engine]:
    """An engine on a fresh, migrated schema of ``url``; the schema is dropped at the end."""
    schema = f"bench_{secrets.token_hex(6)}"
    admin = make_engine(url, connect_args={"connect_timeout": 5})
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        admin.dispose()
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise Unreachable(reason) from exc
    engine = make_engine(
        url, connect_args={"options": f"-csearch_path={schema}", "connect_timeout": 5}
    )
    try:
        with engine.connect() as conn:
            upgrade(connection=conn)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        log(f"  dropped schema {schema}")


# -- one run ---------------------------------------------------------------------------------------


@dataclass
class Result:
    """The figures of one backend."""

    backend: str
    n: int
    ecerts: int
    refused: dict[str, int]
    setup_s: float
    wall_s: float
    ecerts_per_s: float
    ratio_openssl_one_core: float | None
    ratio_openssl_all_cores: float | None
    sign_s: float
    cbor_s: float
    sql_s: float
    other_s: float
    queries: int
    queries_per_ecert: float
    signed_bytes_mean: float
    sign_per_s_in_run: float
    verified: str
    split_share: dict[str, float] = field(default_factory=dict)
    rates: list[float] = field(default_factory=list)


def run_backend(
    backend: str,
    engine: Engine,
    directory: Path,
    args: argparse.Namespace,
    reference: Reference,
) -> Result:
    """Set up the ledger on ``engine``, then time the issuance of every record's e-cert."""
    settings = Settings(
        env=Environment.TEST,
        data_dir=directory,
        key_passphrase=PASSPHRASE,
        province_code="220000",
    )
    store = FileKeyStore(directory / "keys", PASSPHRASE)
    runtime = Runtime(settings, engine, make_sessionmaker(engine), store)
    log(f"{backend}: setting up {args.n} ledger records (not timed) …")
    setup_start = time.perf_counter()
    records = build_ledger(runtime, args.n, args.seed)
    setup_s = time.perf_counter() - setup_start
    log(f"{backend}: issuing {len(records)} e-certs in batches of {args.batch} (timed) …")
    split = Split()
    profiler = cProfile.Profile() if args.profile else None
    with ExitStack() as stack:
        stack.enter_context(instrumented(engine, split))
        if profiler is not None:
            profiler.enable()
            stack.callback(profiler.disable)
        issued, refused, wall = issue_records(runtime, records, args.batch, split)
    if profiler is not None:
        write_profile(profiler, Path(f"{args.profile}.{backend}.pstats"))
    good, sampled = check_sample(runtime)
    if refused:
        log(f"{backend}: refused {sum(refused.values())}: {dict(refused)}")
    if good != sampled:
        log(f"{backend}: only {good} of {sampled} sampled signatures verify!")
    rate = issued / wall if wall else 0.0
    sign = reference.openssl_sign_per_s
    cores = os.cpu_count() or 1
    db = split.sql + split.commit
    other = max(wall - split.sign - split.cbor - db, 0.0)
    return Result(
        backend=backend,
        n=args.n,
        ecerts=issued,
        refused=dict(refused),
        setup_s=round(setup_s, 2),
        wall_s=round(wall, 3),
        ecerts_per_s=round(rate, 1),
        ratio_openssl_one_core=round(rate / sign, 3) if sign else None,
        ratio_openssl_all_cores=round(rate / (sign * cores), 3) if sign else None,
        sign_s=round(split.sign, 3),
        cbor_s=round(split.cbor, 3),
        sql_s=round(db, 3),
        other_s=round(other, 3),
        queries=split.queries,
        queries_per_ecert=round(split.queries / issued, 2) if issued else 0.0,
        signed_bytes_mean=round(split.signed_bytes / split.signatures, 1)
        if split.signatures
        else 0.0,
        sign_per_s_in_run=round(split.signatures / split.sign, 1) if split.sign else 0.0,
        verified=f"{good}/{sampled}",
        split_share={
            part: round(seconds / wall, 3) if wall else 0.0
            for part, seconds in (
                ("sign", split.sign),
                ("cbor", split.cbor),
                ("sql", db),
                ("other", other),
            )
        },
    )


def write_profile(profiler: cProfile.Profile, path: Path) -> None:
    """Save the profile and print its top entries to stderr."""
    profiler.dump_stats(path)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    log(out.getvalue())
    log(f"profile saved to {path} (read with: python -m pstats {path})")


# -- report ----------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """Facts about the machine the figures come from."""
    try:
        tongsuopy = importlib_metadata.version("tongsuopy")
    except importlib_metadata.PackageNotFoundError:
        tongsuopy = None
    return {
        "cpu_count": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "tongsuopy": tongsuopy,
    }


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def print_report(facts: dict[str, Any], reference: Reference, results: list[Result]) -> None:
    """The human-readable table."""
    cores = facts["cpu_count"]
    print()
    print(f"machine: {cores} CPUs ({facts['cpu']}), Python {facts['python']}, {facts['platform']}")
    print(f"openssl: {reference.openssl_version or 'n/a'}; tongsuopy {facts['tongsuopy']}")
    if reference.openssl_sign_per_s is not None:
        print(
            f"openssl speed sm2 (one core): {reference.openssl_sign_per_s:,.1f} sign/s, "
            f"{reference.openssl_verify_per_s or 0:,.1f} verify/s"
        )
    else:
        print(f"openssl speed sm2: unavailable ({reference.openssl_note})")
    print(f"roadcert.crypto.sm.sign in process (one core): {reference.sm_sign_per_s:,.1f} sign/s")
    print()
    header = (
        f"{'backend':<11}{'N':>7}{'e-certs':>9}{'wall s':>9}{'e-certs/s':>11}"
        f"{'÷ openssl 1 core':>18}{f'÷ openssl x{cores}':>16}{'queries/e-cert':>16}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.backend:<11}{r.n:>7}{r.ecerts:>9}{r.wall_s:>9.2f}{r.ecerts_per_s:>11.1f}"
            f"{_ratio(r.ratio_openssl_one_core):>18}{_ratio(r.ratio_openssl_all_cores):>16}"
            f"{r.queries_per_ecert:>16.1f}"
        )
    print()
    print("time split of the timed phase (seconds, share of wall time):")
    header = f"{'backend':<11}{'SM2 sign':>16}{'CBOR':>16}{'SQL+commit':>16}{'ORM & rest':>16}"
    print(header)
    print("-" * len(header))
    for r in results:
        cells = [
            f"{seconds:.2f} ({r.split_share[part]:.0%})"
            for part, seconds in (
                ("sign", r.sign_s),
                ("cbor", r.cbor_s),
                ("sql", r.sql_s),
                ("other", r.other_s),
            )
        ]
        print(f"{r.backend:<11}" + "".join(f"{cell:>16}" for cell in cells))
    print()
    for r in results:
        refused = f", refused {r.refused}" if r.refused else ""
        if len(r.rates) > 1:
            rates = ", ".join(f"{rate:.1f}" for rate in r.rates)
            print(f"{r.backend}: e-certs/s over {len(r.rates)} runs: {rates} (fastest shown)")
        print(
            f"{r.backend}: setup {r.setup_s:.1f} s (not timed); signed data "
            f"{r.signed_bytes_mean:.0f} B on average, signed at {r.sign_per_s_in_run:,.0f}/s; "
            f"{r.verified} sampled signatures verify{refused}"
        )


# -- main ------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description="Issue N e-certs from ledger records (sign + store) and compare the rate "
        "with openssl speed sm2.",
    )
    parser.add_argument("-n", type=int, default=2000, help="e-certs to issue (default 2000)")
    parser.add_argument(
        "--db", choices=["sqlite", "postgresql", "both"], default="both", help="default: both"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("ROADCERT_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help=f"default: $ROADCERT_TEST_POSTGRES_URL or {DEFAULT_POSTGRES_URL}",
    )
    parser.add_argument("--batch", type=int, default=500, help="e-certs per commit (500)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per backend, each on a fresh database; the fastest is reported (1)",
    )
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the generated ledger")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--profile",
        metavar="PREFIX",
        help="cProfile the timed phase, save PREFIX.<backend>.pstats (slows it down)",
    )
    args = parser.parse_args(argv)
    if args.n < 1 or args.batch < 1 or args.repeat < 1:
        parser.error("-n, --batch and --repeat must be positive")
    return args


def one_run(backend: str, args: argparse.Namespace, reference: Reference) -> Result | None:
    """Set up and time one backend on a fresh database; None if PostgreSQL is unreachable."""
    with tempfile.TemporaryDirectory(prefix=f"roadcert-bench-{backend}-") as tmp:
        directory = Path(tmp)
        if backend == "sqlite":
            with sqlite_engine(directory) as engine:
                return run_backend(backend, engine, directory, args, reference)
        try:
            with postgres_engine(args.postgres_url) as engine:
                return run_backend(backend, engine, directory, args, reference)
        except Unreachable as exc:
            log(f"postgresql: not reachable at {args.postgres_url} ({exc}); skipped")
            return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    args = parse_args(argv)
    facts = machine()
    reference = measure_reference()
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results: list[Result] = []
    for backend in backends:
        runs: list[Result] = []
        for _ in range(args.repeat):
            result = one_run(backend, args, reference)
            if result is None:
                break
            runs.append(result)
        if runs:
            best = max(runs, key=lambda r: r.ecerts_per_s)
            best.rates = [r.ecerts_per_s for r in runs]
            results.append(best)
    if args.json:
        payload = {
            "date": date.today().isoformat(),
            "machine": facts,
            "reference": asdict(reference),
            "results": [asdict(r) for r in results],
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    elif results:
        print_report(facts, reference, results)
    else:
        log("no backend could be measured")
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
