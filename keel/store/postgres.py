"""PostgreSQL dialect: psycopg 3, FOR UPDATE SKIP LOCKED claims, synchronous_commit on."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import make_url

from keel.store.base import SPAN_COLUMNS, STEP_COLUMNS, CheckpointResult, Claim, Deferred, Store, WriteOp, _cursor

_STEP_TYPES = {
    "seq": "integer",
    "attempts": "integer",
    "wake_at": "float8",
    "started_at": "float8",
    "finished_at": "float8",
    "tokens_input": "integer",
    "tokens_output": "integer",
    "cost_usd": "float8",
}

# One statement, one round trip: advance the run (fenced) and journal the step only if the
# fence held. The casts type psycopg's untyped parameters inside INSERT ... SELECT.
_CHECKPOINT_ONE_SQL = (
    "WITH u AS (UPDATE keel_runs SET updated_at = %(now)s, lease_expires_at = %(lease_expires_at)s, "
    "step_count = %(step_count)s, attempt = 0, failed_step = NULL "
    "WHERE run_id = %(run_id)s AND fencing_token = %(token)s RETURNING paused, control), "
    f"i AS (INSERT INTO keel_steps ({', '.join(STEP_COLUMNS)}) SELECT "
    + ", ".join(f"%(r_{c})s::{_STEP_TYPES.get(c, 'text')}" for c in STEP_COLUMNS)
    + " FROM u) SELECT paused, control FROM u"
)
# The same with the step's spans, inserted only if the fence held; still one statement.
_CHECKPOINT_ONE_WITH_SPANS_SQL = _CHECKPOINT_ONE_SQL.replace(
    " SELECT paused, control FROM u",
    f", s AS (INSERT INTO keel_spans ({', '.join(SPAN_COLUMNS)}) SELECT {', '.join(SPAN_COLUMNS)} "
    "FROM json_populate_recordset(NULL::keel_spans, %(spans)s::json) WHERE EXISTS (SELECT 1 FROM u) "
    "ON CONFLICT DO NOTHING) SELECT paused, control FROM u",
)
# An arbitrary constant naming Keel's migration lock among the server's advisory locks.
_MIGRATION_LOCK_ID = 0x6B65656C


@functools.lru_cache(maxsize=512)
def _pyformat(text: str) -> str:
    """:name parameters as psycopg's %(name)s (a '::type' cast is left alone)."""
    return re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", r"%(\1)s", text)


def normalize_url(url: str) -> str:
    """postgresql:// and postgres:// select psycopg 3, the driver Keel pins."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return str(parsed.render_as_string(hide_password=False))


class PostgresStore(Store):
    """Many workers on many machines share one PostgreSQL database."""

    dialect_name = "postgresql"

    def _create_engines(self, url: str) -> tuple[Engine, Engine]:
        engine = create_engine(normalize_url(url), pool_size=10, max_overflow=20, pool_pre_ping=True)
        return engine, engine

    def _insert(self, table: Any) -> Any:
        return pg_insert(table)

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
        if len(rows) != 1 or audit:
            return super()._step_checkpoint_op(claim, rows, step_count, now, lease_expires_at, spans, audit)
        params: dict[str, Any] = {
            "now": now,
            "lease_expires_at": lease_expires_at,
            "step_count": step_count,
            "run_id": claim.run_id,
            "token": claim.fencing_token,
            **{f"r_{c}": rows[0].get(c) for c in STEP_COLUMNS[1:]},
            "r_run_id": claim.run_id,
        }
        sql = _CHECKPOINT_ONE_SQL
        if spans:
            sql = _CHECKPOINT_ONE_WITH_SPANS_SQL
            params["spans"] = json.dumps(list(spans))

        def op(conn: Connection) -> Deferred:
            cur = _cursor(conn)
            try:
                cur.execute(sql, params)
            except BaseException:
                cur.close()
                raise

            def finish() -> CheckpointResult | None:
                try:
                    row = cur.fetchone()
                    return None if row is None else CheckpointResult(paused=bool(row[0]), control=row[1])
                finally:
                    cur.close()

            return Deferred(finish)

        op.pipelined = True  # type: ignore[attr-defined]
        return op

    def _run_batch(self, conn: Connection, ops: Sequence[WriteOp]) -> list[Any]:
        # Step checkpoints of concurrent runs go out back to back and their results come back
        # together: one round trip for the batch instead of one per checkpoint.
        if len(ops) > 1 and all(getattr(op, "pipelined", False) for op in ops):
            raw: Any = conn.connection.driver_connection
            with raw.pipeline():
                return super()._run_batch(conn, ops)
        return super()._run_batch(conn, ops)

    def _sql(self, text: str) -> str:
        return _pyformat(text)

    def _migration_lock(self, conn: Connection) -> None:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_ID})
