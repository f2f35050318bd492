"""Store: every query Keel makes, written once in SQLAlchemy Core; dialects override hooks only.

Writes go through one committer thread per process, which takes whatever writes are queued
and commits them in one transaction (group commit): with many runs in flight a checkpoint
costs a fraction of a commit, and with one in flight it costs exactly one.
"""

from __future__ import annotations

import abc
import asyncio
import concurrent.futures
import functools
import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.exc import DBAPIError, OperationalError

from keel.config import _bool as parse_bool  # the one parser of boolean settings
from keel.errors import InvalidStateError, RunNotFoundError, StoreError
from keel.store import audit, budgets, gdpr, guard, killswitch, outbox, retention
from keel.store import policy as policies
from keel.store import review as reviews
from keel.store import schema as t
from keel.types import RunStatus

log = logging.getLogger("keel.store")

T = TypeVar("T")
WriteOp = Callable[[Connection], Any]

_MAX_BATCH = 128
_INLINE_YIELD_EVERY = 8
_CLAIMABLE = (RunStatus.PENDING.value, RunStatus.RUNNING.value, RunStatus.WAITING.value, RunStatus.COMPENSATING.value)
_ACTIVE = (*_CLAIMABLE, RunStatus.DEAD_LETTER.value)


@dataclass(frozen=True)
class RunRecord:
    """One row of keel_runs, as the engine and the CLI see it."""

    run_id: str
    workflow_name: str
    workflow_version: str
    status: str
    input: str
    result: str | None
    error: str | None
    idempotency_key: str | None
    org_id: str | None
    user_id: str | None
    target: str | None
    created_at: float
    updated_at: float
    wake_at: float | None
    lease_owner: str | None
    lease_expires_at: float | None
    fencing_token: int
    step_count: int
    attempt: int
    failed_step: str | None
    paused: bool
    control: str | None
    trace_id: str | None = None
    span_id: str | None = None
    parent_span_id: str | None = None
    flags: str | None = None  # comma-separated marks on a finished run, e.g. "budget_exceeded"


@dataclass(frozen=True)
class StepRecord:
    """One journal entry of a run."""

    run_id: str
    seq: int
    name: str
    kind: str
    status: str
    result: str | None
    result_ref: str | None
    args: str | None
    error: str | None
    attempts: int
    wake_at: float | None
    started_at: float | None
    finished_at: float | None
    tokens_input: int | None = None
    tokens_output: int | None = None
    cost_usd: float | None = None
    span_id: str | None = None
    worker_id: str | None = None
    events: str | None = None


@dataclass(frozen=True)
class SpanRecord:
    """One finished span in Keel's built-in span store; attributes and events as decoded JSON."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    run_id: str | None
    name: str
    start_ns: int
    end_ns: int
    status: str
    attributes: dict[str, Any]
    events: list[dict[str, Any]]


@dataclass(frozen=True)
class Claim:
    """A lease on a run, valid while `fencing_token` is the run's current token."""

    run_id: str
    fencing_token: int
    takeover: bool
    # The run's row as the claim left it, so the engine need not read it back.
    run: RunRecord | None = None


@dataclass(frozen=True)
class CheckpointResult:
    """What a committed checkpoint learned about operator controls on the run."""

    paused: bool
    control: str | None


@dataclass(frozen=True)
class BreakerState:
    key: str
    state: str
    failures: int
    opened_at: float | None
    trial_until: float | None


class Deferred:
    """An op's result to be read once the whole batch has been sent (PostgreSQL pipelines it)."""

    __slots__ = ("finish",)

    def __init__(self, finish: Callable[[], Any]) -> None:
        self.finish = finish


class _Waiter:
    """Where a write's outcome goes: a concurrent future (sync callers) or an event loop's future."""

    __slots__ = ("future", "loop")

    def __init__(
        self, future: concurrent.futures.Future[Any] | asyncio.Future[Any], loop: asyncio.AbstractEventLoop | None
    ) -> None:
        self.future = future
        self.loop = loop

    def claim(self) -> bool:
        """False if the caller gave up (cancelled); else the outcome will be delivered."""
        if self.loop is None:
            return self.future.set_running_or_notify_cancel()  # type: ignore[union-attr]
        return not self.future.cancelled()


def _settle(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for fut, result, exc in outcomes:
        if fut.done():  # cancelled after the write was taken
            continue
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(result)


class _Committer:
    """One thread that commits queued write operations together."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._queue: queue.SimpleQueue[tuple[WriteOp, _Waiter] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="keel-committer", daemon=True)
        self._closed = False
        self._thread.start()

    def submit(self, op: WriteOp) -> concurrent.futures.Future[Any]:
        if self._closed:
            raise StoreError("the store is closed")
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._queue.put((op, _Waiter(fut, None)))
        return fut

    def submit_async(self, op: WriteOp) -> asyncio.Future[Any]:
        if self._closed:
            raise StoreError("the store is closed")
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._queue.put((op, _Waiter(fut, loop)))
        return fut

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            stop = False
            while len(batch) < _MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._run(batch)
            if stop:
                return

    def _run(self, batch: list[tuple[WriteOp, _Waiter]]) -> None:
        # Writes whose caller was cancelled are dropped; the others can no longer be cancelled,
        # so delivering their outcome cannot fail and kill this thread.
        batch = [(op, w) for op, w in batch if w.claim()]
        if not batch:
            return
        with self._store._writer_lock:
            outcomes = self._commit(batch)
        # One wake-up per event loop for the whole batch, not one per write.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}
        for (_, waiter), (result, exc) in zip(batch, outcomes, strict=True):
            if waiter.loop is None:
                fut = waiter.future
                if exc is not None:
                    fut.set_exception(exc)
                else:
                    fut.set_result(result)
            else:
                by_loop.setdefault(waiter.loop, []).append((waiter.future, result, exc))  # type: ignore[arg-type]
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, items)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass

    def _commit(self, batch: list[tuple[WriteOp, _Waiter]]) -> list[tuple[Any, BaseException | None]]:
        try:
            ops = [op for op, _ in batch]
            results = self._store._in_write_txn(lambda conn: self._store._run_batch(conn, ops))
            return [(r, None) for r in results]
        except BaseException as exc:  # noqa: BLE001 - isolate the failing op below
            if len(batch) == 1:
                return [(None, exc)]
        # One op failed and rolled back the whole batch: redo each alone so only it fails.
        outcomes: list[tuple[Any, BaseException | None]] = []
        for op, _ in batch:
            try:
                outcomes.append((self._store._in_write_txn(op), None))
            except BaseException as one_exc:  # noqa: BLE001 - handed to the caller
                outcomes.append((None, one_exc))
        return outcomes


class Store(abc.ABC):
    """Durable state of runs, journals, signals, breakers and blobs."""

    dialect_name = "generic"

    def __init__(self, url: str) -> None:
        self.url = url
        self._write_engine, self._read_engine = self._create_engines(url)
        self._writer: Connection | None = None
        self._writer_lock = threading.Lock()  # the writer connection: committer batches or inline writes
        self._inline_streak = 0
        self._committer = _Committer(self)
        # Audit events ride in the transactions that commit what they record (keel.store.outbox).
        self.audit_outbox = parse_bool("KEEL_AUDIT", True)
        # Set whenever this process committed outbox rows: the sealer's cue to look.
        self.outbox_written = threading.Event()

    # -- dialect hooks -------------------------------------------------------------------

    @abc.abstractmethod
    def _create_engines(self, url: str) -> tuple[Engine, Engine]:
        """The (writer, reader) engines for `url`, configured for this dialect."""

    @abc.abstractmethod
    def _insert(self, table: Any) -> Any:
        """An INSERT construct that supports on_conflict_do_nothing in this dialect."""

    def _migration_lock(self, conn: Connection) -> None:  # noqa: B027 - an optional hook
        """Serialise concurrent migrations (a no-op where the write transaction already does)."""

    # -- plumbing ------------------------------------------------------------------------

    def _in_write_txn(self, op: Callable[[Connection], T]) -> T:
        """Run `op` in one write transaction on the committer's own connection (its thread only)."""
        attempts = 0
        while True:
            # One connection kept for the committer's life: a pool checkout per batch costs
            # more than a commit on a fast disk.
            if self._writer is None or self._writer.invalidated or self._writer.closed:
                self._writer = self._write_engine.connect()
            conn = self._writer
            try:
                return self._transact(conn, op)
            except OperationalError as exc:
                # SQLite "database is locked" past busy_timeout, or a dropped PostgreSQL
                # connection: both are transient, and the transaction was rolled back whole.
                if exc.connection_invalidated:
                    conn.close()
                    self._writer = None
                attempts += 1
                if attempts >= 5 or not self._transient(exc):
                    raise
                log.warning(
                    "store write failed transiently, retrying",
                    extra={"event_type": "store.write_retry", "error_type": type(exc.orig).__name__},
                )
                time.sleep(0.05 * attempts)

    def _transact(self, conn: Connection, op: Callable[[Connection], T]) -> T:
        # Transaction control on the DBAPI connection: SQLAlchemy's begin/commit round costs
        # ~25 us, a tenth of a commit on a fast disk, and a write transaction is paid per step.
        # Core statements inside `op` still work: they join this transaction (see _begin_raw).
        raw: Any = conn.connection.driver_connection
        self._begin_raw(raw)
        try:
            result = op(conn)
            if isinstance(result, Deferred):
                result = result.finish()
        except BaseException:
            if conn.in_transaction():
                conn.rollback()
            else:
                raw.rollback()
            raise
        if conn.in_transaction():
            conn.commit()
        else:
            raw.commit()
        return result

    def _run_batch(self, conn: Connection, ops: Sequence[WriteOp]) -> list[Any]:
        """Run a committer batch in one transaction: every op sends, then deferred results are read."""
        results = [op(conn) for op in ops]
        return [r.finish() if isinstance(r, Deferred) else r for r in results]

    def _begin_raw(self, raw: Any) -> None:  # noqa: B027 - an optional hook
        """Open a write transaction on the DBAPI connection (PostgreSQL's driver does it itself)."""

    def _transient(self, exc: DBAPIError) -> bool:
        text = str(exc.orig).lower()
        return "locked" in text or "busy" in text or exc.connection_invalidated

    def write(self, op: Callable[[Connection], T]) -> T:
        """Run `op` in a write transaction (grouped with concurrent writes) and wait."""
        return self._committer.submit(op).result()  # type: ignore[no-any-return]

    async def awrite(self, op: Callable[[Connection], T], *, inline: bool = False) -> T:
        """`write` for async callers: the event loop stays free while the commit happens.

        With `inline`, commit on the caller's thread instead, blocking it: cheaper when there
        is nothing to group the write with (one run in flight), as two thread hand-offs and
        their futures cost about as much as the write itself.
        """
        if inline:
            with self._writer_lock:
                result = self._in_write_txn(op)
            # Now and then yield, as a queued write would, so one run of many trivial steps
            # cannot hold the event loop (and the heartbeats on it) for long.
            self._inline_streak += 1
            if self._inline_streak >= _INLINE_YIELD_EVERY:
                self._inline_streak = 0
                await asyncio.sleep(0)
            return result
        return await self._committer.submit_async(op)  # type: ignore[no-any-return]

    def read(self, op: Callable[[Connection], T]) -> T:
        with self._read_engine.connect() as conn:
            return op(conn)

    async def aread(self, op: Callable[[Connection], T]) -> T:
        return await asyncio.to_thread(self.read, op)

    def close(self) -> None:
        self._committer.close()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._write_engine.dispose()
        self._read_engine.dispose()

    # -- migrations ----------------------------------------------------------------------

    def upgrade(self) -> str:
        """Apply Alembic migrations up to head; returns the revision now applied."""
        from keel.store import migrate

        # Revisions only move forward, so a database already at head needs neither the lock nor Alembic.
        with self._read_engine.connect() as conn:
            if migrate.current(conn) == migrate.head():
                return migrate.head()
        with self._write_engine.connect() as conn, conn.begin():
            self._migration_lock(conn)
            migrate.upgrade(conn)
            return migrate.current(conn) or ""

    def check_schema(self) -> None:
        """Raise StoreError naming the fix when the schema is not at the code's revision."""
        from keel.store import migrate

        with self._read_engine.connect() as conn:
            have = migrate.current(conn)
        want = migrate.head()
        if have != want:
            raise StoreError(
                f"database schema is at revision {have or 'none'}, Keel needs {want}: run `keel db upgrade`",
                have=have,
                want=want,
            )

    # -- runs ----------------------------------------------------------------------------

    def create_run(self, **fields: Any) -> tuple[str, bool]:
        """Insert a run; with an idempotency key already used, return that run instead.

        Returns (run_id, created). See `_create_run_op` for the fields.
        """
        created: tuple[str, bool] = self.write(self._create_run_op(**fields))
        return created

    async def acreate_run(self, *, inline: bool = False, **fields: Any) -> tuple[str, bool]:
        return await self.awrite(self._create_run_op(**fields), inline=inline)

    def _create_run_op(
        self,
        *,
        run_id: str,
        workflow_name: str,
        workflow_version: str,
        input_json: str,
        idempotency_key: str | None,
        org_id: str | None,
        user_id: str | None,
        target: str | None,
        now: float,
        lease_owner: str | None = None,
        lease_ttl: float = 0.0,
        trace_id: str | None = None,
        span_id: str | None = None,
        parent_span_id: str | None = None,
    ) -> WriteOp:
        # With `lease_owner`, a new run is created already leased to it (fencing token 1), so
        # a process that starts a run to drive it saves the claim's transaction.
        leased = lease_owner is not None

        values = dict(
            run_id=run_id,
            workflow_name=workflow_name,
            workflow_version=workflow_version,
            status=RunStatus.RUNNING.value if leased else RunStatus.PENDING.value,
            input=input_json,
            idempotency_key=idempotency_key,
            org_id=org_id,
            user_id=user_id,
            target=target,
            created_at=now,
            updated_at=now,
            wake_at=now,
            lease_owner=lease_owner,
            lease_expires_at=now + lease_ttl if leased else None,
            fencing_token=1 if leased else 0,
            step_count=0,
            attempt=0,
            paused=False,
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=parent_span_id,
        )
        insert_sql = self._sql(_insert_run_sql(tuple(values)))
        transition_sql = self._sql(_INSERT_TRANSITION_SQL)
        outbox_sql = self._sql(outbox.INSERT_SQL)
        audited = self.audit_outbox

        def op(conn: Connection) -> tuple[str, bool]:
            cur = _cursor(conn)
            try:
                # RETURNING, not rowcount: drivers disagree on rowcount after ON CONFLICT DO NOTHING.
                cur.execute(insert_sql, values)
                if cur.fetchone() is not None:
                    cause = f"started by {lease_owner}" if leased else "started"
                    cur.execute(
                        transition_sql,
                        {
                            "run_id": run_id,
                            "from_status": None,
                            "to_status": values["status"],
                            "cause": cause,
                            "at": now,
                        },
                    )
                    if audited:
                        starter = ("user", user_id) if user_id else ("system", "keel")
                        cur.execute(
                            outbox_sql,
                            outbox.transition_row(run_id, None, str(values["status"]), cause, now, actor=starter),
                        )
                        self.outbox_written.set()
                    return run_id, True
            finally:
                cur.close()
            existing = conn.execute(
                select(t.runs.c.run_id).where(t.runs.c.idempotency_key == idempotency_key)
            ).scalar_one()
            return existing, False

        return op

    def get_run(self, run_id: str) -> RunRecord:
        row = self.read(lambda c: c.execute(select(t.runs).where(t.runs.c.run_id == run_id)).first())
        if row is None:
            raise RunNotFoundError(f"no run with id {run_id!r}", run_id=run_id)
        return RunRecord(**row._mapping)

    def find_run(self, run_id_prefix: str) -> RunRecord:
        """A run by its id or an unambiguous prefix of it (as `git` resolves short hashes)."""
        if len(run_id_prefix) >= 36:
            return self.get_run(run_id_prefix)
        rows = self.read(
            lambda c: c.execute(
                select(t.runs).where(t.runs.c.run_id.startswith(run_id_prefix, autoescape=True)).limit(2)
            ).all()
        )
        if not rows or not run_id_prefix:
            raise RunNotFoundError(f"no run with id {run_id_prefix!r}", run_id=run_id_prefix)
        if len(rows) > 1:
            raise RunNotFoundError(f"run id prefix {run_id_prefix!r} is ambiguous", run_id=run_id_prefix)
        return RunRecord(**rows[0]._mapping)

    def list_runs(self, *, status: str | None = None, workflow: str | None = None, limit: int = 50) -> list[RunRecord]:
        stmt = select(t.runs).order_by(t.runs.c.created_at.desc()).limit(limit)
        if status:
            stmt = stmt.where(t.runs.c.status == status)
        if workflow:
            stmt = stmt.where(t.runs.c.workflow_name == workflow)
        return [RunRecord(**r._mapping) for r in self.read(lambda c: c.execute(stmt).all())]

    def count_runs(self, status: str) -> int:
        stmt = select(func.count()).select_from(t.runs).where(t.runs.c.status == status)
        return int(self.read(lambda c: c.execute(stmt).scalar_one()))

    def load_journal(self, run_id: str) -> list[StepRecord]:
        stmt = select(t.steps).where(t.steps.c.run_id == run_id).order_by(t.steps.c.seq)
        return [StepRecord(**r._mapping) for r in self.read(lambda c: c.execute(stmt).all())]

    def transitions(self, run_id: str) -> list[dict[str, Any]]:
        stmt = select(t.transitions).where(t.transitions.c.run_id == run_id).order_by(t.transitions.c.id)
        return [dict(r._mapping) for r in self.read(lambda c: c.execute(stmt).all())]

    # -- leases ----------------------------------------------------------------------------

    def claim_runs(
        self,
        *,
        worker_id: str,
        limit: int,
        versions: Sequence[tuple[str, str]],
        now: float,
        lease_ttl: float,
        run_id: str | None = None,
    ) -> list[Claim]:
        """Lease up to `limit` runnable runs of the given (workflow, version) pairs."""
        if limit <= 0 or not versions:
            return []
        r = t.runs
        paused_wfs = select(t.workflow_controls.c.workflow_name).where(t.workflow_controls.c.paused.is_(True))
        cond = and_(
            r.c.status.in_(_CLAIMABLE),
            r.c.wake_at.is_not(None),
            r.c.wake_at <= now,
            or_(r.c.lease_expires_at.is_(None), r.c.lease_expires_at < now),
            or_(r.c.paused.is_(False), r.c.control.is_not(None)),
            r.c.workflow_name.not_in(paused_wfs),
            tuple_(r.c.workflow_name, r.c.workflow_version).in_(list(versions)),
        )
        if run_id is not None:
            cond = and_(cond, r.c.run_id == run_id)
        # Look first with a read: an idle worker polls often, and a write transaction per poll
        # would take SQLite's write lock (or a PostgreSQL transaction) for nothing.
        if self.read(lambda c: c.execute(select(r.c.run_id).where(cond).limit(1)).first()) is None:
            return []

        def op(conn: Connection) -> list[Claim]:
            rows = conn.execute(
                select(r.c.run_id, r.c.status, r.c.lease_owner)
                .where(cond)
                .order_by(r.c.wake_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            claims = []
            for row in rows:
                new_status = (
                    RunStatus.COMPENSATING.value
                    if row.status == RunStatus.COMPENSATING.value
                    else RunStatus.RUNNING.value
                )
                claimed = conn.execute(
                    update(r)
                    .where(r.c.run_id == row.run_id)
                    .values(
                        lease_owner=worker_id,
                        lease_expires_at=now + lease_ttl,
                        fencing_token=r.c.fencing_token + 1,
                        status=new_status,
                        updated_at=now,
                    )
                    .returning(*r.c)
                ).one()
                record = RunRecord(**claimed._mapping)
                takeover = row.lease_owner is not None
                cause = (
                    f"lease of {row.lease_owner} expired; taken over by {worker_id}"
                    if takeover
                    else f"claimed by {worker_id}"
                )
                if takeover or row.status != new_status:
                    _transition(conn, row.run_id, row.status, new_status, cause, now, audited=self.audit_outbox)
                claims.append(Claim(row.run_id, record.fencing_token, takeover, record))
            return claims

        return self.write(op)

    async def arenew_leases(self, claims: Iterable[Claim], *, worker_id: str, now: float, lease_ttl: float) -> set[str]:
        """Extend the leases still held; returns the run ids whose lease was lost."""
        held = list(claims)
        if not held:
            return set()

        def op(conn: Connection) -> set[str]:
            lost = set()
            for c in held:
                kept = conn.execute(
                    update(t.runs)
                    .where(t.runs.c.run_id == c.run_id, t.runs.c.fencing_token == c.fencing_token)
                    .values(lease_expires_at=now + lease_ttl)
                    .returning(t.runs.c.run_id)
                ).first()
                if kept is None:
                    lost.add(c.run_id)
            return lost

        return await self.awrite(op)

    # -- journal writes (all fenced) -----------------------------------------------------

    async def acheckpoint(
        self,
        claim: Claim,
        *,
        new_rows: Sequence[dict[str, Any]] = (),
        updated_rows: Sequence[dict[str, Any]] = (),
        run_values: dict[str, Any],
        transition: tuple[str, str, str] | None = None,
        consume_signal_id: int | None = None,
        now: float,
        spans: Sequence[dict[str, Any]] = (),
        audit: Sequence[dict[str, Any]] = (),
        inline: bool = False,
    ) -> CheckpointResult | None:
        """Commit journal rows and advance the run, only while `claim` is current; None if lost.

        `spans` (keel_spans rows) and `audit` (keel_audit_outbox rows) are committed in the same
        transaction, so the span and audit record of a step are stored exactly when the step is.
        """
        return await self.awrite(
            self._checkpoint_op(
                claim,
                new_rows=new_rows,
                updated_rows=updated_rows,
                run_values=run_values,
                transition=transition,
                consume_signal_id=consume_signal_id,
                now=now,
                spans=spans,
                audit=audit,
            ),
            inline=inline,
        )

    def _checkpoint_op(
        self,
        claim: Claim,
        *,
        new_rows: Sequence[dict[str, Any]] = (),
        updated_rows: Sequence[dict[str, Any]] = (),
        run_values: dict[str, Any],
        transition: tuple[str, str, str] | None = None,
        consume_signal_id: int | None = None,
        now: float,
        spans: Sequence[dict[str, Any]] = (),
        audit: Sequence[dict[str, Any]] = (),
    ) -> WriteOp:
        # Checkpoints are the hot path, so they are written as SQL on the DBAPI cursor:
        # building and cache-keying the equivalent Core statements costs ~200 us per
        # checkpoint, more than the commit itself on a fast disk. Column names come from
        # Keel's own code only, never from input.
        sets = {"updated_at": now, **run_values}
        update_sql = self._sql(
            _update_sql("keel_runs", tuple(sets), "run_id = :k_run_id AND fencing_token = :k_token", "paused, control")
        )
        params = {**{f"v_{k}": v for k, v in sets.items()}, "k_run_id": claim.run_id, "k_token": claim.fencing_token}
        step_rows = [{"run_id": claim.run_id, **{c: r.get(c) for c in STEP_COLUMNS[1:]}} for r in new_rows]
        step_updates = [
            (
                self._sql(
                    _update_sql("keel_steps", tuple(k for k in x if k != "seq"), "run_id = :k_run_id AND seq = :k_seq")
                ),
                {**{f"v_{k}": v for k, v in x.items() if k != "seq"}, "k_run_id": claim.run_id, "k_seq": x["seq"]},
            )
            for x in updated_rows
        ]
        consumed = None
        if consume_signal_id is not None:
            consumed = {"id": consume_signal_id, "seq": (new_rows or updated_rows)[-1]["seq"]}
        moved = None
        audit_rows = list(audit)
        if transition is not None:
            moved = {
                "run_id": claim.run_id,
                "from_status": transition[0],
                "to_status": transition[1],
                "cause": transition[2],
                "at": now,
            }
            if self.audit_outbox:
                audit_rows.append(outbox.transition_row(claim.run_id, *transition, now))
        outbox_sql = self._sql(outbox.INSERT_SQL)
        written = self.outbox_written

        def op(conn: Connection) -> CheckpointResult | None:
            cur = _cursor(conn)
            try:
                cur.execute(update_sql, params)
                row = cur.fetchone()
                if row is None:
                    return None
                if step_rows:
                    cur.executemany(self._sql(_INSERT_STEP_SQL), step_rows)
                for sql, values in step_updates:
                    cur.execute(sql, values)
                if consumed is not None:
                    cur.execute(self._sql("UPDATE keel_signals SET consumed_seq = :seq WHERE id = :id"), consumed)
                if moved is not None:
                    cur.execute(self._sql(_INSERT_TRANSITION_SQL), moved)
                if spans:
                    cur.executemany(self._sql(_INSERT_SPAN_SQL), spans)
                if audit_rows:
                    cur.executemany(outbox_sql, audit_rows)
                    written.set()
                return CheckpointResult(paused=bool(row[0]), control=row[1])
            finally:
                cur.close()

        return op

    def _sql(self, text: str) -> str:
        """SQL written with :name parameters, in this driver's parameter style."""
        return text

    async def acheckpoint_step(
        self,
        claim: Claim,
        *,
        rows: Sequence[dict[str, Any]],
        step_count: int,
        now: float,
        lease_expires_at: float,
        spans: Sequence[dict[str, Any]] = (),
        audit: Sequence[dict[str, Any]] = (),
        inline: bool = False,
    ) -> CheckpointResult | None:
        """The hot path of `acheckpoint`: journal rows plus the step counter (spans, audit records), nothing else."""
        return await self.awrite(
            self._step_checkpoint_op(claim, rows, step_count, now, lease_expires_at, spans, audit), inline=inline
        )

    def _step_checkpoint_op(
        self,
        claim: Claim,
        rows: Sequence[dict[str, Any]],
        step_count: int,
        now: float,
        lease_expires_at: float,
        spans: Sequence[dict[str, Any]] = (),
        audit: Sequence[dict[str, Any]] = (),
    ) -> WriteOp:
        return self._checkpoint_op(
            claim,
            new_rows=rows,
            run_values={
                "lease_expires_at": lease_expires_at,
                "step_count": step_count,
                "attempt": 0,
                "failed_step": None,
            },
            now=now,
            spans=spans,
            audit=audit,
        )

    # -- signals -------------------------------------------------------------------------

    def send_signal(self, run_id: str, name: str, payload_json: str, *, now: float) -> None:
        """Store a signal for a run and wake the run if it is waiting."""

        def op(conn: Connection) -> None:
            status = conn.execute(select(t.runs.c.status).where(t.runs.c.run_id == run_id)).scalar_one_or_none()
            if status is None:
                raise RunNotFoundError(f"no run with id {run_id!r}", run_id=run_id)
            if RunStatus(status).terminal:
                raise InvalidStateError(f"run {run_id} is {status}; it takes no more signals", run_id=run_id)
            conn.execute(insert(t.signals).values(run_id=run_id, name=name, payload=payload_json, created_at=now))
            conn.execute(
                update(t.runs)
                .where(t.runs.c.run_id == run_id, t.runs.c.status == RunStatus.WAITING.value)
                .values(wake_at=now, updated_at=now)
            )

        self.write(op)

    def send_wakeup(self, run_id: str, *, now: float) -> None:
        """Make a waiting run claimable now (a signal arrived for it)."""
        r = t.runs
        self.write(
            lambda c: c.execute(
                update(r)
                .where(
                    r.c.run_id == run_id,
                    r.c.status == RunStatus.WAITING.value,
                    or_(r.c.wake_at.is_(None), r.c.wake_at > now),
                )
                .values(wake_at=now)
            )
        )

    async def afirst_signal(self, run_id: str, name: str) -> tuple[int, str | None] | None:
        s = t.signals
        stmt = (
            select(s.c.id, s.c.payload)
            .where(s.c.run_id == run_id, s.c.name == name, s.c.consumed_seq.is_(None))
            .order_by(s.c.id)
            .limit(1)
        )
        row = await self.aread(lambda c: c.execute(stmt).first())
        return None if row is None else (row.id, row.payload)

    # -- operator controls -----------------------------------------------------------------

    def request_control(self, run_id: str, control: str, *, allowed_from: Iterable[str], now: float) -> RunRecord:
        """Ask the worker holding a run (or the next to claim it) to cancel or abort it."""
        allowed = tuple(allowed_from)

        def op(conn: Connection) -> None:
            status = _locked_status(conn, run_id)
            if status not in allowed:
                raise InvalidStateError(
                    f"run {run_id} is {status}; {control} applies to runs that are {', '.join(allowed)}",
                    run_id=run_id,
                    status=status,
                )
            conn.execute(
                update(t.runs).where(t.runs.c.run_id == run_id).values(control=control, wake_at=now, updated_at=now)
            )
            if status == RunStatus.DEAD_LETTER.value:
                _set_status(
                    conn,
                    run_id,
                    status,
                    RunStatus.COMPENSATING.value,
                    f"operator requested {control}",
                    now,
                    audited=self.audit_outbox,
                )

        self.write(op)
        return self.get_run(run_id)

    def resume(self, run_id: str, *, now: float) -> RunRecord:
        """Send a dead-lettered run back to the queue with a fresh attempt budget."""

        def op(conn: Connection) -> None:
            status = _locked_status(conn, run_id)
            if status != RunStatus.DEAD_LETTER.value:
                raise InvalidStateError(
                    f"run {run_id} is {status}; only dead_letter runs can be resumed", run_id=run_id
                )
            conn.execute(
                update(t.runs)
                .where(t.runs.c.run_id == run_id)
                .values(attempt=0, wake_at=now, updated_at=now, error=None, failed_step=None)
            )
            _set_status(
                conn,
                run_id,
                status,
                RunStatus.PENDING.value,
                "operator resumed the run",
                now,
                audited=self.audit_outbox,
            )

        self.write(op)
        return self.get_run(run_id)

    def set_paused(self, run_id: str, paused: bool, *, now: float) -> RunRecord:
        def op(conn: Connection) -> None:
            status = _locked_status(conn, run_id)
            if RunStatus(status).terminal:
                raise InvalidStateError(f"run {run_id} is {status}; it cannot be paused or unpaused", run_id=run_id)
            values: dict[str, Any] = {"paused": paused, "updated_at": now}
            if not paused:
                values["wake_at"] = func.coalesce(t.runs.c.wake_at, now)
            conn.execute(update(t.runs).where(t.runs.c.run_id == run_id).values(**values))
            _transition(
                conn,
                run_id,
                status,
                status,
                "operator paused the run" if paused else "operator unpaused the run",
                now,
                audited=self.audit_outbox,
            )

        self.write(op)
        return self.get_run(run_id)

    def set_workflow_paused(self, workflow_name: str, paused: bool, *, now: float) -> None:
        audited = self.audit_outbox
        change = outbox.row(
            None,
            now,
            event_type="config.change",
            action="workflow:pause" if paused else "workflow:unpause",
            actor_kind="system",
            actor_id="keel",
            resource=f"workflow:{workflow_name}",
        )

        def op(conn: Connection) -> None:
            conn.execute(delete(t.workflow_controls).where(t.workflow_controls.c.workflow_name == workflow_name))
            conn.execute(insert(t.workflow_controls).values(workflow_name=workflow_name, paused=paused, updated_at=now))
            if audited:
                outbox.insert(conn, [change])

        self.write(op)
        if audited:
            self.outbox_written.set()

    def audit_record(self, rows: Sequence[dict[str, Any]]) -> None:
        """Commit audit records (keel.store.outbox rows) on their own, for a process's sealer to chain."""
        if self.audit_outbox and rows:
            self.write(lambda conn: outbox.insert(conn, rows))
            self.outbox_written.set()

    def paused_workflows(self) -> set[str]:
        wc = t.workflow_controls
        stmt = select(wc.c.workflow_name).where(wc.c.paused.is_(True))
        return set(self.read(lambda c: c.execute(stmt).scalars().all()))

    def workflow_summary(self) -> list[dict[str, Any]]:
        """Runs per (workflow, version, status), for `keel workflows list`."""
        r = t.runs
        stmt = select(r.c.workflow_name, r.c.workflow_version, r.c.status, func.count().label("n")).group_by(
            r.c.workflow_name, r.c.workflow_version, r.c.status
        )
        return [dict(x._mapping) for x in self.read(lambda c: c.execute(stmt).all())]

    def runs_without_worker(
        self, versions: Sequence[tuple[str, str]], names: Iterable[str]
    ) -> list[tuple[str, str, int]]:
        """Queued runs of the given workflows whose version is not among `versions`."""
        r = t.runs
        names = list(names)
        if not names:
            return []
        stmt = (
            select(r.c.workflow_name, r.c.workflow_version, func.count())
            .where(
                r.c.status.in_(_CLAIMABLE),
                r.c.workflow_name.in_(names),
                tuple_(r.c.workflow_name, r.c.workflow_version).not_in(list(versions)),
            )
            .group_by(r.c.workflow_name, r.c.workflow_version)
        )
        return [(str(n), str(v), int(k)) for n, v, k in self.read(lambda c: c.execute(stmt).all())]

    # -- circuit breakers ------------------------------------------------------------------

    def get_breaker(self, key: str) -> BreakerState | None:
        row = self.read(lambda c: c.execute(select(t.breakers).where(t.breakers.c.key == key)).first())
        if row is None:
            return None
        return BreakerState(row.key, row.state, row.failures, row.opened_at, row.trial_until)

    async def abreaker_acquire(self, key: str, *, now: float, reset_timeout: float, trial_ttl: float) -> float | None:
        """May a call go through? None if yes; else seconds to wait before asking again."""

        def op(conn: Connection) -> float | None:
            b = t.breakers
            row = conn.execute(select(b).where(b.c.key == key).with_for_update()).first()
            if row is None or row.state == "closed":
                return None
            if row.state == "open":
                ready_at = (row.opened_at or now) + reset_timeout
                if now < ready_at:
                    return float(ready_at - now)
            elif row.trial_until is not None and row.trial_until > now:
                # Half-open with a trial in flight: everyone else waits for its outcome.
                return min(1.0, float(row.trial_until) - now)
            conn.execute(
                update(b).where(b.c.key == key).values(state="half_open", trial_until=now + trial_ttl, updated_at=now)
            )
            return None

        return await self.awrite(op)

    async def abreaker_record(self, key: str, *, success: bool, threshold: int, now: float) -> str:
        """Count a call's outcome; returns the breaker state after it."""

        def op(conn: Connection) -> str:
            b = t.breakers
            row = conn.execute(select(b).where(b.c.key == key).with_for_update()).first()
            if success:
                if row is not None and (row.state != "closed" or row.failures):
                    conn.execute(
                        update(b)
                        .where(b.c.key == key)
                        .values(state="closed", failures=0, trial_until=None, updated_at=now)
                    )
                return "closed"
            failures = (row.failures if row is not None else 0) + 1
            opens = failures >= threshold or (row is not None and row.state == "half_open")
            values = dict(
                state="open" if opens else "closed",
                failures=failures,
                opened_at=now if opens else None,
                trial_until=None,
                updated_at=now,
            )
            if row is None:
                conn.execute(insert(b).values(key=key, **values))
            else:
                conn.execute(update(b).where(b.c.key == key).values(**values))
            return str(values["state"])

        return await self.awrite(op)

    # -- budgets ---------------------------------------------------------------------------

    async def abudget_reserve(
        self,
        hold_id: str,
        ledgers: Sequence[budgets.Ledger],
        *,
        usd: float,
        tokens: int,
        run_id: str | None,
        now: float,
        expires_at: float,
    ) -> budgets.Refusal | None:
        """Hold `usd`/`tokens` on every ledger at once, or on none: then why not (see keel.store.budgets)."""
        op = budgets.reserve_op(
            hold_id,
            ledgers,
            usd=usd,
            tokens=tokens,
            run_id=run_id,
            now=now,
            expires_at=expires_at,
            insert_ignore=self._insert,
        )
        return await self.awrite(op)

    async def abudget_settle(
        self, hold_id: str, keys: Sequence[str], *, usd: float, tokens: int, thresholds: Sequence[float], now: float
    ) -> list[budgets.Crossed]:
        """Charge a call's real usage, release its hold; returns alert thresholds crossed for the first time."""
        return await self.awrite(
            budgets.settle_op(hold_id, keys, usd=usd, tokens=tokens, thresholds=thresholds, now=now)
        )

    def budget_ledgers(self, prefix: str | None = None, limit: int = 200) -> list[budgets.LedgerState]:
        """Budget ledgers, most recently used first (optionally those whose key starts with `prefix`)."""
        stmt = budgets.ledgers_query(prefix, limit)
        return [budgets.state_of(r) for r in self.read(lambda c: c.execute(stmt).all())]

    # -- tool credentials ------------------------------------------------------------------
    # keel_tool_revocations keys: "*" and "org:<id>" count revoke-alls (a credential carries the
    # counts it was minted under); "jti:<id>" is one revoked credential, "kid:<kid>" a retired key.

    def credential_publish_key(self, kid: str, public_key: str, *, algorithm: str, now: float) -> None:
        """Publish a signing key's public half under `kid`; publishing it again changes nothing."""
        values = dict(kid=kid, algorithm=algorithm, public_key=public_key, created_at=now)
        self.write(
            lambda conn: conn.execute(
                self._insert(t.tool_keys).values(**values).on_conflict_do_nothing(index_elements=["kid"])
            )
        )

    def credential_public_key(self, kid: str) -> tuple[str, str] | None:
        """(algorithm, public key) published under `kid`, or None."""
        k = t.tool_keys.c
        row = self.read(lambda conn: conn.execute(select(k.algorithm, k.public_key).where(k.kid == kid)).first())
        return (str(row.algorithm), str(row.public_key)) if row is not None else None

    def _credential_mint_op(
        self, org_id: str, quota: int, window_start: float, now: float
    ) -> Callable[[Connection], tuple[int, int] | None]:
        from sqlalchemy import case

        q = t.tool_quotas
        stmt = self._insert(q).values(org_id=org_id, window_start=window_start, minted=1, updated_at=now)
        # A fixed window per org in one conditional upsert, so concurrent workers can never
        # overshoot: a later window restarts the count; in the current one (or an earlier one,
        # seen by a worker whose clock lags) the count grows only while under the quota.
        newer = stmt.excluded.window_start > q.c.window_start
        stmt = stmt.on_conflict_do_update(
            index_elements=["org_id"],
            set_={
                "window_start": case((newer, stmt.excluded.window_start), else_=q.c.window_start),
                "minted": case((newer, 1), else_=q.c.minted + 1),
                "updated_at": now,
            },
            where=or_(newer, q.c.minted < quota),
        ).returning(q.c.minted)

        def op(conn: Connection) -> tuple[int, int] | None:
            if conn.execute(stmt).first() is None:
                return None
            return self._credential_generations(conn, org_id)

        return op

    def _credential_rows(self, conn: Connection, keys: dict[str, str]) -> dict[str, int]:
        # Once per tool call and per verification, so SQL on the DBAPI cursor: Core's expanding
        # IN is rendered again on every execution and cost three times the read itself.
        sql = self._sql(
            f"SELECT key, generation FROM keel_tool_revocations WHERE key IN ({', '.join(':' + k for k in keys)})"
        )
        cur = _cursor(conn)
        try:
            cur.execute(sql, keys)
            return {str(key): int(generation) for key, generation in cur.fetchall()}
        finally:
            cur.close()

    def _credential_generations(self, conn: Connection, org_id: str) -> tuple[int, int]:
        found = self._credential_rows(conn, {"every": "*", "org": f"org:{org_id}"})
        return found.get("*", 0), found.get(f"org:{org_id}", 0)

    def credential_mint(
        self, org_id: str, *, quota: int | None, window_start: float, now: float
    ) -> tuple[int, int] | None:
        """Before a credential for `org_id` is minted: count it against the org's quota and return the
        revoke-all generations (of every org, of this org) it must carry; None if the quota is used up.

        At most `quota` per window beginning at `window_start`; with `quota` None nothing is written.
        """
        if quota is None:
            return self.read(lambda conn: self._credential_generations(conn, org_id))
        return self.write(self._credential_mint_op(org_id, quota, window_start, now))

    async def acredential_mint(
        self, org_id: str, *, quota: int | None, window_start: float, now: float
    ) -> tuple[int, int] | None:
        """`credential_mint` for async callers."""
        if quota is None:
            return await self.aread(lambda conn: self._credential_generations(conn, org_id))
        return await self.awrite(self._credential_mint_op(org_id, quota, window_start, now))

    def credential_revocation(self, *, org_id: str, jti: str, kid: str) -> tuple[int, int, bool]:
        """(revoke-all generation of every org, of `org_id`, whether `jti` or `kid` is revoked): one indexed read."""
        keys = {"every": "*", "org": f"org:{org_id}", "jti": f"jti:{jti}", "kid": f"kid:{kid}"}
        found = self.read(lambda conn: self._credential_rows(conn, keys))
        return found.get("*", 0), found.get(keys["org"], 0), keys["jti"] in found or keys["kid"] in found

    def credential_revoke(
        self, *, jti: str | None = None, kid: str | None = None, now: float, expires_at: float | None = None
    ) -> None:
        """Refuse one credential (`jti`, until `expires_at`, after which it has expired anyway) or every
        credential signed by a retired key (`kid`, for good)."""
        if (jti is None) == (kid is None):
            raise ValueError("revoke one credential (jti) or one key (kid)")
        key = f"jti:{jti}" if jti is not None else f"kid:{kid}"
        r = t.tool_revocations

        def op(conn: Connection) -> None:
            # Revoking is rare, so it is also when rows for credentials now expired are dropped.
            conn.execute(delete(r).where(r.c.expires_at < now))
            conn.execute(
                self._insert(r)
                .values(key=key, generation=0, revoked_at=now, expires_at=expires_at if jti is not None else None)
                .on_conflict_do_nothing(index_elements=["key"])
            )

        self.write(op)

    def _credential_revoke_all_op(self, org_id: str | None, now: float) -> Callable[[Connection], int]:
        r = t.tool_revocations
        stmt = self._insert(r).values(key="*" if org_id is None else f"org:{org_id}", generation=1, revoked_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"], set_={"generation": r.c.generation + 1, "revoked_at": now}
        ).returning(r.c.generation)
        return lambda conn: int(conn.execute(stmt).scalar_one())

    def credential_revoke_all(self, *, org_id: str | None = None, now: float) -> int:
        """Refuse every credential minted until now, of one org or (None) of all: effective at the next
        verification in any process on this database. Returns the new generation."""
        return self.write(self._credential_revoke_all_op(org_id, now))

    async def acredential_revoke_all(self, *, org_id: str | None = None, now: float) -> int:
        """`credential_revoke_all` for async callers (the kill switch)."""
        return await self.awrite(self._credential_revoke_all_op(org_id, now))

    # -- blobs -----------------------------------------------------------------------------

    def blob_put_op(self, data: bytes, now: float) -> tuple[str, WriteOp]:
        """A write op storing `data` content-addressed, to run inside a checkpoint's batch."""
        blob_id = hashlib.sha256(data).hexdigest()

        def op(conn: Connection) -> None:
            conn.execute(
                self._insert(t.blobs)
                .values(blob_id=blob_id, data=data, size=len(data), created_at=now)
                .on_conflict_do_nothing(index_elements=["blob_id"])
            )

        return blob_id, op

    async def aput_blob(self, data: bytes, *, now: float) -> str:
        blob_id, op = self.blob_put_op(data, now)
        await self.awrite(op)
        return blob_id

    def get_blob(self, blob_id: str) -> bytes:
        data = self.read(
            lambda c: c.execute(select(t.blobs.c.data).where(t.blobs.c.blob_id == blob_id)).scalar_one_or_none()
        )
        if data is None:
            raise StoreError(f"blob {blob_id} is missing", blob_id=blob_id)
        return bytes(data)

    # -- spans ---------------------------------------------------------------------------

    def submit_spans(self, rows: Sequence[dict[str, Any]]) -> concurrent.futures.Future[Any]:
        """Queue finished spans (keel_spans rows) to be written with the next group commit."""
        sql = self._sql(_INSERT_SPAN_SQL)
        batch = [{c: r.get(c) for c in SPAN_COLUMNS} for r in rows]

        def op(conn: Connection) -> None:
            cur = _cursor(conn)
            try:
                cur.executemany(sql, batch)
            finally:
                cur.close()

        return self._committer.submit(op)

    def spans_for_trace(self, trace_id: str) -> list[SpanRecord]:
        """Every span of a trace, in start order: from keel_spans, and from its runs' journals."""
        from keel.store.spans import journal_spans  # spans.py builds on this module's records

        stored = select(t.spans).where(t.spans.c.trace_id == trace_id)
        runs = select(t.runs).where(t.runs.c.trace_id == trace_id)

        def read(conn: Connection) -> tuple[Sequence[Any], Sequence[Any], Sequence[Any]]:
            run_rows = conn.execute(runs).all()
            ids = [r.run_id for r in run_rows]
            steps = conn.execute(select(t.steps).where(t.steps.c.run_id.in_(ids))).all() if ids else []
            return conn.execute(stored).all(), run_rows, steps

        span_rows, run_rows, step_rows = self.read(read)
        spans = [
            SpanRecord(
                **{
                    **r._mapping,
                    "attributes": json.loads(r.attributes or "{}"),
                    "events": json.loads(r.events or "[]"),
                }
            )
            for r in span_rows
        ]
        journals: dict[str, list[StepRecord]] = {}
        for r in step_rows:
            journals.setdefault(r.run_id, []).append(StepRecord(**r._mapping))
        for r in run_rows:
            run = RunRecord(**r._mapping)
            spans.extend(journal_spans(run, sorted(journals.get(run.run_id, []), key=lambda e: e.seq)))
        return sorted(spans, key=lambda s: (s.start_ns, s.end_ns))

    # -- the model gateway's cache -------------------------------------------------------------

    def cache_get(self, org_key: str, request_hash: str, *, now: float) -> str | None:
        """A cached answer (JSON) that has not expired, or None."""
        # On the DBAPI cursor, as checkpoints are: a hit is the whole cost of a cached call, and
        # SQLAlchemy's statement handling was most of it (~300 us of a ~400 us read).
        sql = self._sql(_CACHE_GET_SQL)
        params = {"org_key": org_key, "request_hash": request_hash, "now": now}

        def op(conn: Connection) -> Any:
            cur = _cursor(conn)
            try:
                cur.execute(sql, params)
                return cur.fetchone()
            finally:
                cur.close()

        row = self.read(op)
        return str(row[0]) if row is not None else None

    async def acache_put(
        self, org_key: str, request_hash: str, *, route: str, answer: str, now: float, ttl_s: float
    ) -> None:
        """Store (or replace) an answer for `ttl_s` seconds."""
        values = dict(
            org_key=org_key,
            request_hash=request_hash,
            route=route,
            answer=answer,
            created_at=now,
            expires_at=now + ttl_s,
        )

        def op(conn: Connection) -> None:
            stmt = self._insert(t.llm_cache).values(**values)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["org_key", "request_hash"],
                    set_={k: stmt.excluded[k] for k in ("route", "answer", "created_at", "expires_at")},
                )
            )

        await self.awrite(op)

    def semcache_scan(self, org_key: str, route: str, *, now: float, limit: int) -> list[tuple[bytes, str]]:
        """The semantic cache's unexpired entries of one org and route, newest first, at most `limit`.

        Each is (vector, answer): the encoded embedding and the answer's JSON.
        """
        c = t.llm_semcache.c
        stmt = (
            select(c.vector, c.answer)
            .where(c.org_key == org_key, c.route == route, c.expires_at > now)
            .order_by(c.created_at.desc())
            .limit(limit)
        )
        rows = self.read(lambda conn: conn.execute(stmt).all())
        return [(bytes(vector), str(answer)) for vector, answer in rows]

    async def asemcache_put(
        self, org_key: str, route: str, request_hash: str, vector: bytes, *, answer: str, now: float, ttl_s: float
    ) -> None:
        """Store (or replace) a semantic cache entry for `ttl_s` seconds; drops its org and route's expired ones."""
        c = t.llm_semcache.c
        values = dict(
            org_key=org_key,
            route=route,
            request_hash=request_hash,
            vector=vector,
            answer=answer,
            created_at=now,
            expires_at=now + ttl_s,
        )

        def op(conn: Connection) -> None:
            # Prune first, then upsert: every writer locks expired rows in index order before its
            # own row, so two PostgreSQL writers of one org and route cannot deadlock.
            conn.execute(delete(t.llm_semcache).where(c.org_key == org_key, c.route == route, c.expires_at <= now))
            stmt = self._insert(t.llm_semcache).values(**values)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["org_key", "route", "request_hash"],
                    set_={k: stmt.excluded[k] for k in ("vector", "answer", "created_at", "expires_at")},
                )
            )

        await self.awrite(op)

    def queue_stats(self, now: float) -> dict[str, int]:
        """Run counts for the metrics endpoint: `queued` (claimable now), `waiting`, `dead_letter`.

        A paused run counts as waiting, not queued: no worker takes it, and counting it as backlog
        would keep a queue-depth alert firing for as long as an operator holds it.
        """
        r = t.runs
        paused_wfs = select(t.workflow_controls.c.workflow_name).where(t.workflow_controls.c.paused.is_(True))
        claimable = r.c.status.in_(_CLAIMABLE)
        held = or_(and_(r.c.paused.is_(True), r.c.control.is_(None)), r.c.workflow_name.in_(paused_wfs))
        stmt = select(
            func.count().filter(
                claimable,
                r.c.wake_at <= now,
                or_(r.c.lease_expires_at.is_(None), r.c.lease_expires_at < now),
                ~held,
            ),
            func.count().filter(claimable, or_(r.c.wake_at.is_(None), r.c.wake_at > now, held)),
            func.count().filter(r.c.status == RunStatus.DEAD_LETTER.value),
        ).where(r.c.status.in_(_ACTIVE))
        queued, waiting, dead = self.read(lambda c: c.execute(stmt).one())
        return {"queued": int(queued), "waiting": int(waiting), "dead_letter": int(dead)}

    # -- estimates -------------------------------------------------------------------------

    # Transition causes (prefixes) of the cost gate: a run held until its cost is approved, and
    # the approval. The hold is the run's `paused` flag, so no claim query changes.
    APPROVAL_HOLD = "awaiting approval"
    APPROVAL_GIVEN = "cost approved"
    _UNPAUSED = "operator unpaused"

    def run_usage_history(self, workflow_name: str, workflow_version: str, *, limit: int) -> list[dict[str, Any]]:
        """Model usage of up to `limit` recent succeeded runs of one workflow version, newest first.

        Only the version's `20 * limit` most recent runs are looked at, so the read is bounded
        however many runs the version has. One dict per run: `run_id`, `input_size` (characters
        of its input JSON), `calls` (its `llm:` steps), and `tokens_input`, `tokens_output`,
        `cost_usd` summed over its journal.
        """
        r, s = t.runs, t.steps
        # ix_keel_runs_workflow gives the version's runs; the journal is read by its primary key
        # for the `limit` runs kept only, and each kept run's input is read once, for its size.
        window = (
            select(r.c.run_id, r.c.status, r.c.created_at)
            .where(r.c.workflow_name == workflow_name, r.c.workflow_version == workflow_version)
            .order_by(r.c.created_at.desc())
            .limit(20 * limit)
            .subquery()
        )
        recent = (
            select(window.c.run_id, window.c.created_at)
            .where(window.c.status == RunStatus.SUCCEEDED.value)
            .order_by(window.c.created_at.desc())
            .limit(limit)
            .subquery()
        )
        is_call = and_(s.c.kind == "step", s.c.name.startswith("llm:"))
        stmt = (
            select(
                recent.c.run_id,
                func.max(func.length(r.c.input)).label("input_size"),
                func.count(s.c.seq).filter(is_call).label("calls"),
                func.coalesce(func.sum(s.c.tokens_input), 0).label("tokens_input"),
                func.coalesce(func.sum(s.c.tokens_output), 0).label("tokens_output"),
                func.coalesce(func.sum(s.c.cost_usd), 0.0).label("cost_usd"),
            )
            .select_from(recent.join(r, r.c.run_id == recent.c.run_id).outerjoin(s, s.c.run_id == recent.c.run_id))
            .group_by(recent.c.run_id, recent.c.created_at)
            .order_by(recent.c.created_at.desc())
        )
        return [
            {
                "run_id": row.run_id,
                "input_size": int(row.input_size or 0),
                "calls": int(row.calls or 0),
                "tokens_input": int(row.tokens_input or 0),
                "tokens_output": int(row.tokens_output or 0),
                "cost_usd": float(row.cost_usd or 0.0),
            }
            for row in self.read(lambda c: c.execute(stmt).all())
        ]

    def create_run_gated(self, *, note: str, hold: bool, **fields: Any) -> tuple[str, bool]:
        """`create_run`, with the cost gate's decision recorded as a transition in the same transaction.

        With `hold`, the new run is created paused, so no worker can claim it before
        `approve_run`: pausing it after the insert would leave a window for a claim.
        """
        create = self._create_run_op(**fields)
        status = RunStatus.RUNNING.value if fields.get("lease_owner") else RunStatus.PENDING.value
        now = float(fields["now"])

        def op(conn: Connection) -> tuple[str, bool]:
            run_id, created = create(conn)
            if created:
                if hold:
                    conn.execute(update(t.runs).where(t.runs.c.run_id == run_id).values(paused=True))
                _transition(conn, run_id, status, status, note, now, audited=self.audit_outbox)
            return run_id, created

        created: tuple[str, bool] = self.write(op)
        return created

    def awaiting_approval(self, run_id: str) -> str | None:
        """The cause a live run is held with for cost approval; None when it is not held for it."""
        return self.read(lambda conn: self._approval_hold(conn, run_id))

    def approve_run(self, run_id: str, *, cause: str, now: float) -> RunRecord:
        """Let a run held for cost approval start: unpause it and record `cause` (who approved)."""

        def op(conn: Connection) -> None:
            status = _locked_status(conn, run_id)
            if self._approval_hold(conn, run_id) is None:
                raise InvalidStateError(f"run {run_id} is {status} and not awaiting cost approval", run_id=run_id)
            conn.execute(
                update(t.runs)
                .where(t.runs.c.run_id == run_id)
                .values(paused=False, wake_at=func.coalesce(t.runs.c.wake_at, now), updated_at=now)
            )
            _transition(conn, run_id, status, status, cause, now, audited=self.audit_outbox)

        self.write(op)
        return self.get_run(run_id)

    def _approval_hold(self, conn: Connection, run_id: str) -> str | None:
        r, tr = t.runs, t.transitions
        run = conn.execute(select(r.c.status, r.c.paused).where(r.c.run_id == run_id)).first()
        if run is None:
            raise RunNotFoundError(f"no run with id {run_id!r}", run_id=run_id)
        if not run.paused or RunStatus(run.status).terminal:
            return None
        # Held for approval when the latest hold/approval/unpause mark is a hold (an operator's
        # pause of a held run keeps it held).
        marks = or_(*(tr.c.cause.startswith(p) for p in (self.APPROVAL_HOLD, self.APPROVAL_GIVEN, self._UNPAUSED)))
        cause = conn.execute(
            select(tr.c.cause).where(tr.c.run_id == run_id, marks).order_by(tr.c.id.desc()).limit(1)
        ).scalar_one_or_none()
        return str(cause) if cause is not None and str(cause).startswith(self.APPROVAL_HOLD) else None

    # -- the guard's PII vault (SQL in keel.store.guard, cryptography in keel.guard.vault) ------

    def guard_lookup(self, run_id: str, macs: Sequence[bytes]) -> dict[bytes, str]:
        """The placeholders the run already holds for these value MACs (read only)."""
        return self.read(guard.lookup_op(run_id, macs))

    async def aguard_lookup(self, run_id: str, macs: Sequence[bytes]) -> dict[bytes, str]:
        return await self.aread(guard.lookup_op(run_id, macs))

    def _guard_placeholders_op(
        self,
        run_id: str,
        subject: str,
        items: Sequence[tuple[str, bytes]],
        *,
        new_key: guard.NewKey,
        seal: guard.Seal,
        now: float,
    ) -> Callable[[Connection], list[str]]:
        return guard.placeholders_op(
            run_id, subject, items, new_key=new_key, seal=seal, insert_ignore=self._insert, now=now
        )

    def guard_placeholders(
        self,
        run_id: str,
        subject: str,
        items: Sequence[tuple[str, bytes]],
        *,
        new_key: guard.NewKey,
        seal: guard.Seal,
        now: float,
    ) -> list[str]:
        """The run's placeholder for each (pii_type, value MAC), new ones numbered and stored: one transaction."""
        return self.write(self._guard_placeholders_op(run_id, subject, items, new_key=new_key, seal=seal, now=now))

    async def aguard_placeholders(
        self,
        run_id: str,
        subject: str,
        items: Sequence[tuple[str, bytes]],
        *,
        new_key: guard.NewKey,
        seal: guard.Seal,
        now: float,
    ) -> list[str]:
        return await self.awrite(
            self._guard_placeholders_op(run_id, subject, items, new_key=new_key, seal=seal, now=now)
        )

    def guard_run_values(self, run_id: str, placeholders: Sequence[str] | None = None) -> list[guard.SealedValue]:
        """The run's sealed values (only `placeholders`, when given), with their subjects' wrapped keys."""
        return self.read(guard.run_values_op(run_id, placeholders))

    async def aguard_run_values(
        self, run_id: str, placeholders: Sequence[str] | None = None
    ) -> list[guard.SealedValue]:
        return await self.aread(guard.run_values_op(run_id, placeholders))

    def guard_subject_values(self, subject: str) -> list[guard.SealedValue]:
        """Every sealed value held for `subject`, with its wrapped key."""
        return self.read(guard.subject_values_op(subject))

    async def aguard_subject_values(self, subject: str) -> list[guard.SealedValue]:
        return await self.aread(guard.subject_values_op(subject))

    def guard_forget(self, subject: str) -> int:
        """Delete the subject's data key and wipe its values; how many values that shredded."""
        return self.write(guard.forget_op(subject))

    async def aguard_forget(self, subject: str) -> int:
        return await self.awrite(guard.forget_op(subject))

    def guard_key_id(self) -> str | None:
        """The master key id the vault's data keys are wrapped under; None while it holds none."""
        return self.read(guard.key_id_sample_op())

    async def aguard_key_id(self) -> str | None:
        return await self.aread(guard.key_id_sample_op())

    # -- the governance audit log (SQL in keel.store.audit, cryptography in keel.governance) -----

    def _audit_append_op(
        self, planner: audit.Planner, publish: dict[str, Any] | None, now: float
    ) -> Callable[[Connection], audit.Plan]:
        return audit.append_op(planner, publish=publish, insert_ignore=self._insert, now=now)

    def audit_append(self, planner: audit.Planner, *, publish: dict[str, Any] | None, now: float) -> audit.Plan:
        """Lock the chain's head, insert what `planner` builds from it, move the head: one transaction."""
        op = self._audit_append_op(planner, publish, now)
        # With the writer idle, commit on the caller's thread: the hand-off to the committer and
        # back costs about as much as the statements. While it is busy, queue, so concurrent
        # appends still share its transactions.
        if self._writer_lock.acquire(blocking=False):
            try:
                return self._in_write_txn(op)
            finally:
                self._writer_lock.release()
        return self.write(op)

    async def aaudit_append(self, planner: audit.Planner, *, publish: dict[str, Any] | None, now: float) -> audit.Plan:
        return await self.awrite(self._audit_append_op(planner, publish, now))

    def audit_seal_outbox(
        self, planner_for: outbox.PlannerFor, *, limit: int, publish: dict[str, Any] | None, now: float
    ) -> tuple[audit.Plan | None, int]:
        """Chain up to `limit` outbox rows under the head lock; the plan and how many were sealed."""
        return self.write(
            outbox.seal_op(planner_for, limit=limit, publish=publish, insert_ignore=self._insert, now=now)
        )

    def audit_outbox_backlog(self) -> tuple[int, float | None]:
        """Audit events committed but not yet sealed into the chain, and the oldest one's commit time."""
        return self.read(outbox.backlog_op())

    def audit_head(self) -> audit.Head:
        """The chain's head as last committed."""
        return self.read(audit.head_op())

    def audit_entries(self, after_seq: int, limit: int, columns: Sequence[str] = audit.ENTRY_COLUMNS) -> list[Any]:
        """Up to `limit` entries after `after_seq`, in chain order."""
        return self.read(audit.entries_op(after_seq, limit, columns))

    def audit_entry(self, event_id: str) -> Any:
        """The entry with this event id, or None."""
        return self.read(audit.entry_op(event_id))

    def audit_leaves(self, first_seq: int, last_seq: int) -> list[tuple[int, str, str]]:
        """(seq, hash, signature) of entries first_seq..last_seq."""
        return self.read(audit.leaves_op(first_seq, last_seq))

    def audit_checkpoints(self) -> list[Any]:
        """Every signed checkpoint, by size."""
        return self.read(audit.checkpoints_op())

    def audit_keys(self) -> dict[str, tuple[str, str]]:
        """key_id -> (algorithm, public key hex) of every key that signed the log."""
        return self.read(audit.keys_op())

    # -- GDPR: a data subject's rows (SQL in keel.store.gdpr, policy in keel.governance.gdpr) ------

    def gdpr_live_runs(self, subject: str) -> list[tuple[str, str]]:
        """(run_id, status) of the subject's runs that are not terminal."""
        return self.read(gdpr.live_runs_op(subject))

    def gdpr_collect(self, subject: str) -> gdpr.SubjectRows:
        """The subject's runs and every row stored under them, audit entries that concern them included."""
        return self.read(gdpr.collect_op(subject))

    async def agdpr_collect(self, subject: str) -> gdpr.SubjectRows:
        return await self.aread(gdpr.collect_op(subject))

    def gdpr_erase(self, subject: str, *, at: str) -> gdpr.ErasureCounts:
        """Overwrite the values stored under the subject's (terminal) runs with tombstones: one transaction."""
        return self.write(gdpr.erase_op(subject, at=at))

    async def agdpr_erase(self, subject: str, *, at: str) -> gdpr.ErasureCounts:
        return await self.awrite(gdpr.erase_op(subject, at=at))

    # -- retention (SQL in keel.store.retention, policy in keel.governance.retention) --------------

    def retention_purge_runs(
        self, scope: retention.RunScope, *, cutoff: float, limit: int, journal: bool
    ) -> tuple[int, retention.RunCounts]:
        """Purge one batch of finished runs of `scope` last updated before `cutoff`: (runs, rows per table)."""
        return self.write(retention.purge_runs_op(scope, cutoff, limit, journal=journal))

    def retention_count_runs(
        self, scope: retention.RunScope, *, cutoff: float, limit: int, journal: bool, after: tuple[float, str] | None
    ) -> tuple[int, retention.RunCounts]:
        """What the batch after `after` would purge (a dry run; nothing changes)."""
        return self.read(retention.count_runs_op(scope, cutoff, limit, journal=journal, after=after))

    def audit_horizon(self) -> int:
        """The audit log's retention horizon: entries 1..horizon were purged (0: none)."""
        return self.read(retention.horizon_op())

    def audit_pruned_leaves(self, first_seq: int, last_seq: int) -> list[tuple[int, str, str]]:
        """(seq, hash, signature) of purged entries first_seq..last_seq, in order."""
        return self.read(retention.pruned_leaves_op(first_seq, last_seq))

    def audit_record_export(self, first_seq: int, last_seq: int, sink: str, *, now: float) -> None:
        """Record that a sealed segment was written to `sink` (retention purges only exported segments)."""
        self.write(retention.record_export_op(first_seq, last_seq, sink, now=now, insert_ignore=self._insert))

    def audit_exports(self) -> dict[tuple[int, int], list[str]]:
        """(first_seq, last_seq) -> sinks each exported segment was written to."""
        return self.read(retention.exports_op())

    def audit_entry_timestamp(self, seq: int) -> str | None:
        return self.read(retention.entry_timestamp_op(seq))

    def audit_prune(self, upto: int, *, now: float) -> int:
        """Move the audit horizon forward to `upto`, keeping the entries' hashes; entries removed."""
        return self.write(retention.prune_audit_op(upto, now=now))

    # -- the kill switch (SQL in keel.store.killswitch, policy in keel.governance.killswitch) -----

    def kill_switch_reason(self) -> str | None:
        """Why the kill switch is engaged, or None: one primary-key read (each worker poll, each run start)."""
        return self.read(killswitch.engaged_op())

    async def akill_switch_reason(self) -> str | None:
        return await self.aread(killswitch.engaged_op())

    def kill_switch_state(self) -> killswitch.State:
        """The kill switch's whole row: engaged or not, by whom, why, any release awaiting its second approver."""
        return self.read(killswitch.state_op())

    def kill_switch_engage(self, *, reason: str, operator: str, now: float) -> tuple[killswitch.Change, int]:
        """Engage the kill switch and revoke every tool credential of every org, in one transaction:
        (the change, the new revoke-all generation)."""
        revoke = self._credential_revoke_all_op(None, now)
        engage = killswitch.engage_op(reason, operator, now=now, insert_ignore=self._insert)

        def op(conn: Connection) -> tuple[killswitch.Change, int]:
            # Revocations first: every engage locks the revocation row, then the switch's, in that order.
            generation = revoke(conn)
            return engage(conn), generation

        return self.write(op)

    def kill_switch_approve_release(self, *, operator: str, now: float) -> killswitch.Change:
        """Record one approval of a release; the second, by another approver, releases the switch.
        InvalidStateError when it is not engaged or `operator` already approved."""
        return self.write(killswitch.approve_release_op(operator, now=now, insert_ignore=self._insert))

    # -- human review of risky actions (SQL in keel.store.review, rules in keel.governance.review) -----

    def review_request(self, **fields: Any) -> reviews.Request:
        """Create a review request unless it exists (same id: the same action asking again); the stored
        row, and whether this call created it."""
        return self.write(reviews.request_op(**fields, insert_ignore=self._insert))

    async def areview_request(self, **fields: Any) -> reviews.Request:
        return await self.awrite(reviews.request_op(**fields, insert_ignore=self._insert))

    def review_get(self, review_id: str) -> reviews.Review | None:
        return self.read(reviews.get_op(review_id))

    def review_list(
        self, *, pending_only: bool = True, limit: int = 100, run_id: str | None = None
    ) -> list[reviews.Review]:
        """Pending reviews oldest first (the queue); with pending_only=False every review, newest first."""
        return self.read(reviews.list_op(pending_only=pending_only, limit=limit, run_id=run_id))

    def review_pending_count(self) -> int:
        """How many reviews wait for a decision (the gauge agent_human_review_queue_depth)."""
        return self.read(reviews.pending_count_op())

    async def areview_pending_count(self) -> int:
        return await self.aread(reviews.pending_count_op())

    def review_approve(self, review_id: str, *, by: str, reason: str | None, now: float) -> reviews.Change:
        """One approval, and the run's signal when it decides the review, in one transaction.
        UsageError for an unknown id; InvalidStateError when decided already or `by` approved already."""
        return self.write(reviews.approve_op(review_id, by=by, reason=reason, now=now))

    def review_reject(self, review_id: str, *, by: str, reason: str, now: float) -> reviews.Change:
        """Reject a review and signal its run, in one transaction (UsageError, InvalidStateError as approve)."""
        return self.write(reviews.reject_op(review_id, by=by, reason=reason, now=now))

    async def arisk_history(self, run_id: str, prefix: str) -> tuple[float, int]:
        """(USD the run spent so far, its highest risk score in journal steps named `prefix`...)."""
        return await self.aread(reviews.risk_history_op(run_id, prefix))

    # -- Cedar policy versions (SQL in keel.store.policy, rules in keel.governance.policy) -------------

    def policy_active_version(self) -> str | None:
        """The active policy version's hash, or None: one primary-key read (tells a worker it changed)."""
        return self.read(policies.active_version_op())

    async def apolicy_active_version(self) -> str | None:
        return await self.aread(policies.active_version_op())

    def policy_version(self, version: str) -> policies.VersionRow | None:
        """One policy version's row (files, status, who proposed and approved it), or None."""
        return self.read(policies.get_op(version))

    def policy_history(self, limit: int = 100) -> list[policies.VersionRow]:
        """Policy versions, the most recently proposed first."""
        return self.read(policies.history_op(limit))

    def policy_propose(self, version: str, files: str, *, operator: str, now: float) -> policies.Proposal:
        """Record a policy version as awaiting a second person's approval."""
        return self.write(policies.propose_op(version, files, operator, now=now, insert_ignore=self._insert))

    def policy_approve(self, version: str, *, operator: str, now: float) -> policies.Activation:
        """Activate a proposed version (approver != proposer), superseding the active one, in one transaction."""
        return self.write(policies.approve_op(version, operator, now=now, insert_ignore=self._insert))

    def policy_reject(self, version: str, *, operator: str, now: float) -> policies.VersionRow:
        """Reject a proposed version."""
        return self.write(policies.reject_op(version, operator, now=now, insert_ignore=self._insert))


STEP_COLUMNS = (
    "run_id",
    "seq",
    "name",
    "kind",
    "status",
    "result",
    "result_ref",
    "args",
    "error",
    "attempts",
    "wake_at",
    "started_at",
    "finished_at",
    "tokens_input",
    "tokens_output",
    "cost_usd",
    "span_id",
    "worker_id",
    "events",
)

_INSERT_STEP_SQL = (
    f"INSERT INTO keel_steps ({', '.join(STEP_COLUMNS)}) VALUES ({', '.join(':' + c for c in STEP_COLUMNS)})"
)
SPAN_COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "run_id",
    "name",
    "start_ns",
    "end_ns",
    "status",
    "attributes",
    "events",
)
# A span exported twice (a retried export) is the same span: keep the first.
_CACHE_GET_SQL = (
    "SELECT answer FROM keel_llm_cache WHERE org_key = :org_key AND request_hash = :request_hash AND expires_at > :now"
)
_INSERT_SPAN_SQL = (
    f"INSERT INTO keel_spans ({', '.join(SPAN_COLUMNS)}) VALUES ({', '.join(':' + c for c in SPAN_COLUMNS)}) "
    "ON CONFLICT (trace_id, span_id) DO NOTHING"
)
_INSERT_TRANSITION_SQL = (
    "INSERT INTO keel_transitions (run_id, from_status, to_status, cause, at) "
    "VALUES (:run_id, :from_status, :to_status, :cause, :at)"
)


@functools.lru_cache(maxsize=256)
def _update_sql(table: str, columns: tuple[str, ...], where: str, returning: str | None = None) -> str:
    sets = ", ".join(f"{c} = :v_{c}" for c in columns)
    return f"UPDATE {table} SET {sets} WHERE {where}" + (f" RETURNING {returning}" if returning else "")


@functools.lru_cache(maxsize=8)
def _insert_run_sql(columns: tuple[str, ...]) -> str:
    # The conflict target names the partial unique index; runs without a key never conflict.
    return (
        f"INSERT INTO keel_runs ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)}) "
        "ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING run_id"
    )


def _cursor(conn: Connection) -> Any:
    raw: Any = conn.connection.driver_connection
    return raw.cursor()


def _transition(
    conn: Connection, run_id: str, from_status: str | None, to_status: str, cause: str, now: float, *, audited: bool
) -> None:
    conn.execute(
        insert(t.transitions).values(run_id=run_id, from_status=from_status, to_status=to_status, cause=cause, at=now)
    )
    # Changes made outside a run's own execution (cancel, pause, recovery) are the system's or an operator's.
    if audited:
        outbox.insert(
            conn, [outbox.transition_row(run_id, from_status, to_status, cause, now, actor=("system", "keel"))]
        )


def _set_status(
    conn: Connection, run_id: str, from_status: str, to_status: str, cause: str, now: float, *, audited: bool
) -> None:
    conn.execute(update(t.runs).where(t.runs.c.run_id == run_id).values(status=to_status, updated_at=now))
    _transition(conn, run_id, from_status, to_status, cause, now, audited=audited)


def _locked_status(conn: Connection, run_id: str) -> str:
    status = conn.execute(
        select(t.runs.c.status).where(t.runs.c.run_id == run_id).with_for_update()
    ).scalar_one_or_none()
    if status is None:
        raise RunNotFoundError(f"no run with id {run_id!r}", run_id=run_id)
    return str(status)
