"""Bulk issuance spread over machines: the slices of a plan as jobs of a PostgreSQL task queue.

The queue is procrastinate's, in the roadcert database itself (its own ``procrastinate_*``
tables, in the schema of the database URL's ``search_path``), so several machines that reach
the same PostgreSQL database share the work with nothing else to run: one machine defers one
job per slice (:func:`defer_plan`), every machine runs workers (:func:`run_worker`, one
process per core) that take jobs until the queue is empty, and :func:`queue_status` counts
what is left.

Issuing a slice is idempotent (``Ecert.current_key`` is unique, see certificates/bulk.py), so a
job run twice, by two workers at once, or again after a machine died half-way, still gives each
e-cert once; the job locks only save the work of doing it twice.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import logging
import os
import queue as queue_module
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

import procrastinate
import psycopg
from procrastinate import exceptions as queue_errors
from procrastinate.jobs import Status
from procrastinate.schema import SchemaManager
from pydantic import ValidationError
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from roadcert.certificates.bulk import Plan, Slice, SliceIssuer, SliceResult, quiet_gc
from roadcert.config import Settings
from roadcert.crypto.keystore import FileKeyStore
from roadcert.db import make_engine, make_sessionmaker
from roadcert.errors import RoadcertError

logger = logging.getLogger(__name__)

#: The procrastinate queue of bulk issuance jobs.
QUEUE = "issuance"
#: The job's task name; fixed, so that a worker of any roadcert version finds it.
TASK_NAME = "roadcert.issue_slice"
#: A failed slice (lost connection, repeated write conflicts) is tried again at once, up to 3 times:
#: at once, so that a worker run with ``wait=False`` still finds the retry before it stops.
RETRY = procrastinate.RetryStrategy(max_attempts=3)
#: How often a waiting worker puts back the jobs of workers that stopped sending heartbeats.
STALLED_CHECK_SECONDS = 60.0
#: Seconds a worker reuses what an issuer read (authorities, signing keys) before reading again.
ISSUER_MAX_AGE = 600.0
#: Any constant: serialises the creation of the queue tables by several machines at once.
_SCHEMA_LOCK = 0x726F616463657274  # "roadcert"
#: Any other constant; one worker at a time puts back the jobs of lost workers.
_REQUEUE_LOCK = _SCHEMA_LOCK + 1
_JOB_STATUSES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborted")


class QueueUnavailable(RoadcertError):
    """The task queue cannot be used (not PostgreSQL, database unreachable)."""

    status = 503
    code = "queue.unreachable"


# -- the connection ------------------------------------------------------------------------------


def conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL, keeping its query options.

    ``postgresql+psycopg://u@h:5432/db?options=-csearch_path%3Ds`` gives
    ``host=h port=5432 user=u dbname=db options=-csearch_path=s``: the queue works in the same
    database and schema as the ledger.
    """
    try:
        url = make_url(database_url)
    except ArgumentError as exc:
        raise QueueUnavailable(
            f"数据库地址无法解析：{exc}", code="queue.bad_url", status=400
        ) from exc
    if url.get_backend_name() != "postgresql":
        raise QueueUnavailable(
            f"任务队列只能用于 PostgreSQL 数据库，当前数据库为 {url.get_backend_name()}："
            "请改用 roadcert issue --all（本机多进程制发），"
            "或将 ROADCERT_DATABASE_URL 指向 PostgreSQL",
            code="queue.postgresql_only",
            status=400,
        )
    params: dict[str, Any] = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
    }
    for key, value in url.query.items():
        # A repeated key comes as a tuple; libpq takes one value, the last as SQLAlchemy does.
        params[key] = value if isinstance(value, str) else value[-1]
    params.setdefault("application_name", "roadcert-queue")
    return psycopg.conninfo.make_conninfo(
        **{key: value for key, value in params.items() if value is not None}
    )


@contextlib.contextmanager
def _reaching(what: str) -> Iterator[None]:
    """Turn a database failure into a clear refusal instead of a traceback."""
    try:
        yield
    except (psycopg.OperationalError, queue_errors.ConnectorException) as exc:
        cause = exc.__cause__ or exc
        detail = str(cause).strip().splitlines()[0] if str(cause).strip() else repr(cause)
        raise QueueUnavailable(f"{what}失败：无法使用任务队列数据库（{detail}）") from exc


def make_app(settings: Settings, *, pool_size: int = 2) -> procrastinate.App:
    """A procrastinate app on the roadcert database of ``settings``, knowing the issuance task."""
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(settings.resolved_database_url),
        min_size=1,
        max_size=max(pool_size, 1),
    )
    app = procrastinate.App(connector=connector)
    app.task(name=TASK_NAME, queue=QUEUE, retry=RETRY)(issue_slice)
    return app


def ensure_queue_schema(settings: Settings) -> bool:
    """Create procrastinate's tables in the roadcert database unless present; True if created.

    The tables belong to procrastinate, not to roadcert's Alembic migrations; they are created
    in the first schema of the connection's ``search_path``, next to the ledger. Safe to call
    from several machines at once: an advisory lock lets one of them create the tables.
    """
    info = conninfo(settings.resolved_database_url)
    with _reaching("建立任务队列"), psycopg.connect(info) as connection:
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        row = connection.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        if row is not None and row[0] is not None:
            return False
        # No parameters: psycopg sends the script as one simple query (many statements).
        connection.execute(SchemaManager.get_schema())
        logger.info("任务队列数据表已建立（procrastinate）")
        return True


# -- the task ------------------------------------------------------------------------------------


@dataclass
class WorkerSummary:
    """What the workers of one or more processes did (JSON-ready with :meth:`as_dict`)."""

    slices: int = 0
    records: int = 0
    issued: int = 0
    existing: int = 0
    refused: int = 0
    retries: int = 0
    refused_by_code: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    lost: int = 0  # worker processes that died (see run_workers)

    def add_result(self, result: SliceResult) -> None:
        """Count one slice's result."""
        self.slices += 1
        self.records += result.records
        self.issued += result.issued
        self.existing += result.existing
        self.refused += len(result.refused)
        self.retries += result.retries
        self.refused_by_code.update(r.code for r in result.refused)

    def add(self, other: WorkerSummary) -> None:
        """Fold another process's summary into this one (their times overlap: keep the longest)."""
        self.slices += other.slices
        self.records += other.records
        self.issued += other.issued
        self.existing += other.existing
        self.refused += other.refused
        self.retries += other.retries
        self.refused_by_code.update(other.refused_by_code)
        self.seconds = max(self.seconds, other.seconds)
        self.lost += other.lost

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {
            "slices": self.slices,
            "records": self.records,
            "issued": self.issued,
            "existing": self.existing,
            "refused": self.refused,
            "refused_by_code": dict(self.refused_by_code.most_common()),
            "retries": self.retries,
            "seconds": round(self.seconds, 2),
            "lost": self.lost,
        }


OnResult = Callable[[Slice, SliceResult], None]


class _Worker:
    """What a worker process holds: one engine and key store, and idle slice issuers.

    Procrastinate runs a synchronous task in a thread of the event loop's executor, several at
    once with ``concurrency`` > 1. An issuer caches decrypted keys and identifier builders and
    is not meant to be shared between threads, so each running job takes an idle issuer (or
    makes one); there are never more issuers than jobs run at once.
    """

    def __init__(self, settings: Settings, on_result: OnResult | None = None) -> None:
        self.settings = settings
        self.engine: Engine = make_engine(settings.resolved_database_url)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)
        self.store = FileKeyStore(settings.key_dir, settings.key_passphrase)
        self.on_result = on_result
        self.summary = WorkerSummary()
        self._idle: list[tuple[float, SliceIssuer]] = []
        self._lock = threading.Lock()

    def run(self, piece: Slice) -> SliceResult:
        now = time.monotonic()
        with self._lock:
            # An issuer keeps the authorities and signing keys it read for its life; a worker
            # waiting for days must see a key rotated, or an authority switched off, since.
            self._idle = [(born, i) for born, i in self._idle if now - born < ISSUER_MAX_AGE]
            born, issuer = self._idle.pop() if self._idle else (now, None)
        if issuer is None:
            issuer = SliceIssuer(self.sessions, self.store, self.settings)
        try:
            result = issuer.run(piece)
        finally:
            with self._lock:
                self._idle.append((born, issuer))
        with self._lock:  # one report at a time: callers write files and progress bars
            self.summary.add_result(result)
            if self.on_result is not None:
                self.on_result(piece, result)
        return result

    def close(self) -> None:
        self.engine.dispose()


_WORKER: _Worker | None = None
_WORKER_LOCK = threading.Lock()


def _worker() -> _Worker:
    """This process's worker state; a worker started outside :func:`run_worker` reads ROADCERT_*."""
    global _WORKER
    with _WORKER_LOCK:
        if _WORKER is None:
            _WORKER = _Worker(Settings())
        return _WORKER


def issue_slice(slice: dict[str, Any]) -> dict[str, Any]:
    """The queue's task: issue every due e-cert of one slice (``Slice.as_dict()``); its counts.

    Blocking: procrastinate runs it in a thread, outside the worker's event loop.
    """
    piece = Slice.from_dict(slice)
    result = _worker().run(piece)
    counts = {
        "records": result.records,
        "issued": result.issued,
        "existing": result.existing,
        "refused": len(result.refused),
    }
    logger.info(
        "分片 %s %d-%d：台账记录 %d 条，新制 %d 张，已有 %d 张，未能制发 %d 张",
        piece.kind,
        piece.first_id,
        piece.last_id,
        result.records,
        result.issued,
        result.existing,
        len(result.refused),
    )
    return counts


# -- deferring, working, watching ----------------------------------------------------------------


def slice_key(piece: Slice) -> str:
    """The job lock of a slice: the same slice of the same scope gets the same key."""
    scope = ",".join(str(a) for a in sorted(piece.authority_ids))
    digest = hashlib.sha256(scope.encode()).hexdigest()[:16]
    return f"issue:{piece.kind}:{piece.first_id}-{piece.last_id}:{piece.type_code or '*'}:{digest}"


def defer_plan(settings: Settings, plan: Plan) -> int:
    """Put one job per slice of ``plan`` on the queue; returns how many were added.

    A slice already waiting in the queue is not added again (its queueing lock), and two jobs
    of one slice never run at once (its job lock): deferring twice signs nothing twice.
    Finished jobs of earlier runs are removed first, so that :func:`queue_status` counts this
    run; the e-certs, not the jobs, are the record of what was issued.
    """
    ensure_queue_schema(settings)
    app = make_app(settings)

    async def defer() -> int:
        added = 0
        async with app.open_async():
            await app.job_manager.delete_old_jobs(
                nb_hours=0,
                queue=QUEUE,
                include_failed=True,
                include_cancelled=True,
                include_aborted=True,
            )
            for piece in plan.slices:
                key = slice_key(piece)
                deferrer = app.configure_task(TASK_NAME, lock=key, queueing_lock=key)
                try:
                    await deferrer.defer_async(slice=piece.as_dict())
                except queue_errors.AlreadyEnqueued:
                    continue
                added += 1
        return added

    with _reaching("加入制发任务"):
        return asyncio.run(defer())


async def _requeue_stalled(app: procrastinate.App, info: str) -> int:
    """Put back the running jobs of workers that stopped sending heartbeats (machine lost).

    One process at a time (an advisory lock held by a connection of its own): a second one
    working from the same stale list could otherwise put back a job that another worker has
    just taken again.
    """
    requeued = 0
    async with await psycopg.AsyncConnection.connect(info, autocommit=True) as holder:
        cursor = await holder.execute("SELECT pg_try_advisory_lock(%s)", (_REQUEUE_LOCK,))
        row = await cursor.fetchone()
        if row is None or not row[0]:
            return 0  # another worker is at it; the lock ends with the connection
        for job in await app.job_manager.get_stalled_jobs(queue=QUEUE):
            try:
                await app.job_manager.retry_job(job)
                requeued += 1
            except queue_errors.UniqueViolation:
                # The same slice is waiting again already (deferred anew): that copy does it.
                with contextlib.suppress(queue_errors.ConnectorException):
                    await app.job_manager.finish_job(job, status=Status.ABORTED, delete_job=False)
            except queue_errors.ConnectorException:
                # Its worker was slow, not gone, and has finished it meanwhile.
                logger.info("制发任务 %s 已由原进程结束，无需放回", job.id)
    if requeued:
        logger.warning("已将 %d 个中断的制发任务放回队列", requeued)
    return requeued


async def _keep_requeuing(app: procrastinate.App, info: str) -> None:
    while True:
        await asyncio.sleep(STALLED_CHECK_SECONDS)
        try:
            await _requeue_stalled(app, info)
        except (psycopg.Error, queue_errors.ConnectorException):
            logger.exception("检查中断的制发任务失败，稍后再试")


def run_worker(
    settings: Settings,
    concurrency: int = 1,
    wait: bool = True,
    on_result: OnResult | None = None,
) -> WorkerSummary:
    """Run a worker of the issuance queue in this process; returns what it did.

    ``wait=False`` returns once the queue has no job left to start (a job waiting for a retry
    later is left to another run); ``wait=True`` works until stopped (Ctrl+C, SIGTERM: the
    running slices finish first). Signing is CPU-bound and only SM2 releases the GIL, so run
    one worker process per core with ``concurrency=1`` rather than one process with more.
    ``on_result`` is called after each slice, one call at a time.
    """
    global _WORKER
    ensure_queue_schema(settings)
    info = conninfo(settings.resolved_database_url)
    app = make_app(settings, pool_size=concurrency + 2)
    worker = _Worker(settings, on_result)
    started = time.perf_counter()

    async def work() -> None:
        async with app.open_async():
            await _requeue_stalled(app, info)
            keeper = asyncio.create_task(_keep_requeuing(app, info)) if wait else None
            try:
                await app.run_worker_async(
                    queues=[QUEUE],
                    concurrency=concurrency,
                    wait=wait,
                    name=f"roadcert-{socket.gethostname()}-{os.getpid()}",
                )
            finally:
                if keeper is not None:
                    keeper.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await keeper

    with _WORKER_LOCK:
        previous, _WORKER = _WORKER, worker
    try:
        with _reaching("运行制发任务"):
            asyncio.run(work())
    finally:
        with _WORKER_LOCK:
            _WORKER = previous
        worker.close()
    worker.summary.seconds = time.perf_counter() - started
    return worker.summary


def _worker_process(settings: Settings, wait: bool, messages: Any) -> None:
    """A child of :func:`run_workers`: one worker, each slice's result sent to the parent."""

    def report(piece: Slice, result: SliceResult) -> None:
        messages.put(("slice", piece, result))

    quiet_gc()
    try:
        messages.put(("done", run_worker(settings, 1, wait, report)))
    except RoadcertError as exc:
        messages.put(("error", exc.code, exc.message))


def run_workers(
    settings: Settings,
    processes: int,
    wait: bool = True,
    on_result: OnResult | None = None,
) -> WorkerSummary:
    """Run ``processes`` worker processes on this machine (one per core); their summed summary.

    ``on_result`` is called in this process for every slice any of them finishes (progress
    bar, refusal report). A child that dies (killed, out of memory) is counted in ``lost``; its
    slice is put back on the queue by the next worker that starts (see :func:`run_worker`).
    Ctrl+C reaches the children too: they finish their running slices and stop.
    """
    if processes <= 1:
        return run_worker(settings, 1, wait, on_result)
    ensure_queue_schema(settings)  # refuses SQLite or an unreachable database before spawning
    started = time.perf_counter()
    # spawn, not fork: a forked child would share this process's database connections.
    context = get_context("spawn")
    messages = context.Queue()
    children = [
        context.Process(target=_worker_process, args=(settings, wait, messages), daemon=False)
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    total = WorkerSummary()
    ended = 0
    errors: list[tuple[str, str]] = []
    interrupted = False
    while ended < processes:
        try:
            message = messages.get(timeout=1.0)
        except queue_module.Empty:
            # A child that exited without saying so died; its messages were all flushed on exit.
            silent = sum(1 for c in children if not c.is_alive()) - ended
            if silent > 0 and messages.empty():
                total.lost += silent
                ended += silent
            continue
        except KeyboardInterrupt:
            if interrupted:  # a second Ctrl+C: stop waiting for the running slices
                for child in children:
                    child.terminate()
                raise
            interrupted = True
            continue
        if message[0] == "slice":
            if on_result is not None:
                on_result(message[1], message[2])
        elif message[0] == "done":
            total.add(message[1])
            ended += 1
        else:
            errors.append((message[1], message[2]))
            ended += 1
    for child in children:
        child.join()
    total.seconds = time.perf_counter() - started
    if errors:
        code, text = errors[0]
        raise QueueUnavailable(text, code=code)
    return total


def queue_status(settings: Settings) -> dict[str, int]:
    """Jobs of the issuance queue by status (todo, doing, succeeded, failed, …) and in total."""
    counts = dict.fromkeys(_JOB_STATUSES, 0)
    app = make_app(settings, pool_size=1)
    with _reaching("读取任务队列"), app.open():
        if app.check_connection():  # the queue tables exist
            for row in app.job_manager.list_queues(queue=QUEUE):
                for status in _JOB_STATUSES:
                    counts[status] = int(row.get(status, 0))
    counts["total"] = sum(counts[status] for status in _JOB_STATUSES)
    return counts


# -- ``python -m roadcert.certificates.queue``: a worker without the roadcert command line -------


def main(argv: Sequence[str] | None = None) -> int:
    """``worker [--concurrency N] [--processes P] [--no-wait]``, ``status`` or ``schema``."""
    parser = argparse.ArgumentParser(
        prog="python -m roadcert.certificates.queue",
        description="存量证照批量制发的任务队列（PostgreSQL）：运行制发进程、查看队列",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    worker = commands.add_parser("worker", help="运行制发进程，领取并制发队列中的分片")
    worker.add_argument("--concurrency", type=int, default=1, help="每个进程同时制发的分片数")
    worker.add_argument("--processes", type=int, default=1, help="本机制发进程数（每核一个）")
    worker.add_argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="队列空后继续等待新任务（--no-wait：队列空即退出）",
    )
    commands.add_parser("status", help="按状态统计队列中的制发任务")
    commands.add_parser("schema", help="建立任务队列数据表（如尚未建立）")
    args = parser.parse_args(argv)
    if args.command == "worker" and (args.concurrency < 1 or args.processes < 1):
        parser.error("--concurrency 与 --processes 须为正整数")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"错误 [configuration]: {exc.errors()[0].get('msg')}", file=sys.stderr)
        return 2
    try:
        if args.command == "worker":
            if args.processes > 1:
                summary = run_workers(settings, args.processes, args.wait)
            else:
                summary = run_worker(settings, args.concurrency, args.wait)
            result: dict[str, Any] = summary.as_dict()
        elif args.command == "status":
            result = dict(queue_status(settings))
        else:
            result = {"created": ensure_queue_schema(settings)}
    except RoadcertError as exc:
        print(f"错误 [{exc.code}]: {exc.message}", file=sys.stderr)
        return 2 if exc.status < 500 else 1
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
