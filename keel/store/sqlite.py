"""SQLite dialect: WAL with synchronous=FULL, writes under BEGIN IMMEDIATE."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url

from keel.store import outbox
from keel.store.base import (
    _INSERT_SPAN_SQL,
    _INSERT_STEP_SQL,
    STEP_COLUMNS,
    CheckpointResult,
    Claim,
    Store,
    WriteOp,
    _cursor,
)


def _configure(engine: Engine, begin: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN is ours to emit.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before it returns, so a checkpoint survives power loss too.
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front: a deferred transaction that later upgrades
        # can fail with SQLITE_BUSY without waiting, which busy_timeout cannot help. The
        # committer may have begun on the DBAPI connection already; Core then joins it.
        if not conn.connection.driver_connection.in_transaction:
            conn.exec_driver_sql(begin)


class SQLiteStore(Store):
    """The embedded default: one file, several worker processes on one machine."""

    dialect_name = "sqlite"

    def _create_engines(self, url: str) -> tuple[Engine, Engine]:
        parsed = make_url(url)
        path = parsed.database
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        write = create_engine(parsed, connect_args={"check_same_thread": False})
        read = create_engine(parsed, connect_args={"check_same_thread": False})
        _configure(write, "BEGIN IMMEDIATE")
        _configure(read, "BEGIN")
        return write, read

    def _insert(self, table: Any) -> Any:
        return sqlite_insert(table)

    def _begin_raw(self, raw: Any) -> None:
        raw.execute("BEGIN IMMEDIATE")

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
        # Check the fence with a SELECT instead of an UPDATE: under BEGIN IMMEDIATE no other
        # writer can move the token before COMMIT, and leaving the run's row untouched saves
        # writing its page to the WAL on every step. The heartbeat extends the lease, and the
        # step counter is brought up to date by the run's next other checkpoint.
        if any((r.get("attempts") or 1) > 1 for r in rows):
            # A retried step left its used attempts on the run's row (attempt, failed_step):
            # they must be cleared, or a later call of the same step would inherit them.
            return super()._step_checkpoint_op(claim, rows, step_count, now, lease_expires_at, spans, audit)
        params = {"run_id": claim.run_id, "token": claim.fencing_token}
        written = self.outbox_written
        step_rows = [{"run_id": claim.run_id, **{c: r.get(c) for c in STEP_COLUMNS[1:]}} for r in rows]

        def op(conn: Any) -> CheckpointResult | None:
            cur = _cursor(conn)
            try:
                cur.execute(_FENCE_SQL, params)
                row = cur.fetchone()
                if row is None:
                    return None
                cur.executemany(_INSERT_STEP_SQL, step_rows)
                if spans:
                    cur.executemany(_INSERT_SPAN_SQL, spans)
                if audit:
                    cur.executemany(outbox.INSERT_SQL, audit)
                    written.set()
                return CheckpointResult(paused=bool(row[0]), control=row[1])
            finally:
                cur.close()

        return op


_FENCE_SQL = "SELECT paused, control FROM keel_runs WHERE run_id = :run_id AND fencing_token = :token"
