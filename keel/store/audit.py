"""The governance audit log's SQL: one hash chain appended under a lock on its head row, and reads for verify.

No cryptography happens here: keel.governance.audit hands in a `Plan`, a function from the chain's
head to the rows to insert (already hashed and signed), and gets the plan's result back once it is
committed. What lives here is the ordering.

Ordering: every append transaction first reads the one row of `keel_audit_head` FOR UPDATE, so
appends from any number of processes on PostgreSQL take turns, each seeing the tip its predecessor
committed: one chain, no forks, no gaps. On SQLite, BEGIN IMMEDIATE already makes writers take
turns (FOR UPDATE is not emitted). The plan runs while the lock is held because an entry's hash
covers its position and its predecessor's hash, which are known only then. Appends queued together
in one process's committer share its transaction, each op reading the head the previous op left.
On PostgreSQL, a connection whose last append left the head plans on that head without reading it,
and writes only if an UPDATE conditioned on every field of it (the same row lock) finds it
unchanged; otherwise nothing was written and it reads the head under the lock as above.
"""

from __future__ import annotations

import contextlib
import json
import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import DBAPIError

from keel.errors import StoreError
from keel.store import schema as t

ENTRY_COLUMNS = tuple(c.name for c in t.audit_entries.columns)
HASH_HEX = 64


@dataclass(frozen=True, slots=True)
class Head:
    """The chain's tip: its last entry, the Merkle compact range over all entries, the checkpoint timer."""

    seq: int
    hash: str
    frontier: tuple[bytes, ...]
    checkpoint_size: int
    checkpoint_at: float | None


@dataclass(frozen=True, slots=True)
class Plan:
    """What one append writes: entry rows, perhaps a checkpoint row, and the head after them."""

    entries: list[dict[str, Any]]
    head: Head
    checkpoint: dict[str, Any] | None = None
    extra: Any = field(default=None)  # whatever the planner wants back after the commit


Planner = Callable[[Head], Plan]


def _frontier_text(nodes: Sequence[bytes]) -> str:
    return "".join(node.hex() for node in nodes)


def _frontier_nodes(text: str) -> tuple[bytes, ...]:
    return tuple(bytes.fromhex(text[i : i + HASH_HEX]) for i in range(0, len(text), HASH_HEX))


def _head(conn: Connection, *, lock: bool) -> Head:
    h = t.audit_head.c
    stmt = select(h.seq, h.hash, h.frontier, h.checkpoint_size, h.checkpoint_at).where(h.id == 1)
    if lock:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    if row is None:
        raise StoreError("the audit log's head row is missing: the database was not migrated by Keel")
    return Head(
        seq=int(row.seq),
        hash=str(row.hash),
        frontier=_frontier_nodes(str(row.frontier)),
        checkpoint_size=int(row.checkpoint_size),
        checkpoint_at=None if row.checkpoint_at is None else float(row.checkpoint_at),
    )


def lock_head(conn: Connection) -> None:
    """Take the chain's head lock for the rest of the transaction (PostgreSQL; SQLite's BEGIN IMMEDIATE has it)."""
    _head(conn, lock=True)


# The append path's SQL, on the DBAPI cursor: building and cache-keying the Core statements cost
# more than the CPU work of an entry. Written with :name parameters (sqlite3's named style) and
# turned into psycopg's %(name)s below. Column names are Keel's own, never input.
_ENTRY_LIST = ", ".join(f'"{c}"' for c in ENTRY_COLUMNS)  # quoted: "timestamp"
_INSERT_ENTRY = f"INSERT INTO keel_audit_entries ({_ENTRY_LIST}) VALUES ({', '.join(':' + c for c in ENTRY_COLUMNS)})"
_INSERT_CHECKPOINT = (
    "INSERT INTO keel_audit_checkpoints (size, root, timestamp, key_id, signature) "
    "VALUES (:size, :root, :timestamp, :key_id, :signature)"
)
_UPDATE_HEAD = (
    "UPDATE keel_audit_head SET seq = :seq, hash = :hash, frontier = :frontier, checkpoint_size = :checkpoint_size, "
    "checkpoint_at = :checkpoint_at, updated_at = :updated_at WHERE id = 1"
)
_SELECT_HEAD = "SELECT seq, hash, frontier, checkpoint_size, checkpoint_at FROM keel_audit_head WHERE id = 1"


def _pyformat(text: str) -> str:
    return re.sub(r":([a-z_]+)", r"%(\1)s", text)


# dialect -> (select head under the chain's lock, insert entry, insert checkpoint, update head)
_SQL = {
    "sqlite": (_SELECT_HEAD, _INSERT_ENTRY, _INSERT_CHECKPOINT, _UPDATE_HEAD),
    "postgresql": (
        _SELECT_HEAD + " FOR UPDATE",
        _pyformat(_INSERT_ENTRY),
        _pyformat(_INSERT_CHECKPOINT),
        _pyformat(_UPDATE_HEAD),
    ),
}


def _head_of(row: Sequence[Any] | None) -> Head:
    if row is None:
        raise StoreError("the audit log's head row is missing: the database was not migrated by Keel")
    return Head(
        seq=int(row[0]),
        hash=str(row[1]),
        frontier=_frontier_nodes(str(row[2])),
        checkpoint_size=int(row[3]),
        checkpoint_at=None if row[4] is None else float(row[4]),
    )


# PostgreSQL, one statement: move the head only if it is still the one this connection's last
# append left (every field compared, so a checkpoint forced elsewhere counts as a move), and insert
# the rows only if it moved. Another writer's append in between leaves `h` empty: nothing is
# written and the op falls back to reading the head under the lock. The row lock the UPDATE takes
# is the same lock as SELECT ... FOR UPDATE, so appends still take turns.
_PG_APPEND_IF_HEAD = (
    "WITH h AS (UPDATE keel_audit_head SET seq = %(seq)s, hash = %(hash)s, frontier = %(frontier)s, "
    "checkpoint_size = %(checkpoint_size)s, checkpoint_at = %(checkpoint_at)s::float8, updated_at = %(updated_at)s "
    "WHERE id = 1 AND seq = %(was_seq)s AND hash = %(was_hash)s AND frontier = %(was_frontier)s "
    "AND checkpoint_size = %(was_checkpoint_size)s "
    "AND checkpoint_at IS NOT DISTINCT FROM %(was_checkpoint_at)s::float8 RETURNING 1), "
    f"e AS (INSERT INTO keel_audit_entries ({_ENTRY_LIST}) SELECT {_ENTRY_LIST} "
    "FROM json_populate_recordset(NULL::keel_audit_entries, %(entries)s::json) WHERE EXISTS (SELECT 1 FROM h)), "
    "c AS (INSERT INTO keel_audit_checkpoints (size, root, timestamp, key_id, signature) "
    "SELECT size, root, timestamp, key_id, signature "
    "FROM json_populate_recordset(NULL::keel_audit_checkpoints, %(checkpoints)s::json) WHERE EXISTS (SELECT 1 FROM h)) "
    "SELECT count(*) FROM h"
)
# The head each PostgreSQL connection's last append left (a guess, checked by the statement above).
_last_head: weakref.WeakKeyDictionary[Any, Head] = weakref.WeakKeyDictionary()


def _moved(head: Head, now: float) -> dict[str, Any]:
    return {
        "seq": head.seq,
        "hash": head.hash,
        "frontier": _frontier_text(head.frontier),
        "checkpoint_size": head.checkpoint_size,
        "checkpoint_at": head.checkpoint_at,
        "updated_at": now,
    }


def append_op(
    planner: Planner, *, publish: dict[str, Any] | None, insert_ignore: Callable[[Any], Any], now: float
) -> Callable[[Connection], Plan]:
    """A write op: lock the head, let `planner` build the rows from it, insert them, move the head."""

    def op(conn: Connection) -> Plan:
        if publish is not None:  # once per AuditLog: Core is fine here
            conn.execute(
                insert_ignore(t.audit_keys).values(**publish).on_conflict_do_nothing(index_elements=["key_id"])
            )
        sql = _SQL.get(conn.dialect.name)
        if sql is None:
            return _core_append(conn, planner, now)
        select_head, insert_entry, insert_checkpoint, update_head = sql
        pg = conn.dialect.name == "postgresql"
        raw: Any = conn.connection.driver_connection
        dbapi_error: type[Exception] = conn.dialect.loaded_dbapi.Error
        cur = raw.cursor()
        statement = select_head
        try:
            guess = _last_head.get(raw) if pg else None
            if guess is not None:
                statement = _PG_APPEND_IF_HEAD
                plan = planner(guess)
                was = _moved(guess, now)
                params = {
                    **_moved(plan.head, now),
                    **{f"was_{k}": v for k, v in was.items() if k != "updated_at"},
                    "entries": json.dumps(plan.entries, ensure_ascii=False),
                    "checkpoints": json.dumps([] if plan.checkpoint is None else [plan.checkpoint]),
                }
                # In a pipeline the BEGIN goes out with the statement: one round trip before COMMIT.
                with raw.pipeline():
                    cur.execute(_PG_APPEND_IF_HEAD, params)
                row = cur.fetchone()
                if row is not None and row[0] == 1:
                    _last_head[raw] = plan.head
                    return plan
                _last_head.pop(raw, None)
                statement = select_head
            cur.execute(select_head)
            plan = planner(_head_of(cur.fetchone()))
            # PostgreSQL: the rows and the head's move go out together, one round trip.
            statement = insert_entry
            with raw.pipeline() if pg else contextlib.nullcontext():
                if len(plan.entries) == 1:
                    cur.execute(insert_entry, plan.entries[0])
                elif plan.entries:
                    cur.executemany(insert_entry, plan.entries)
                if plan.checkpoint is not None:
                    cur.execute(insert_checkpoint, plan.checkpoint)
                cur.execute(update_head, _moved(plan.head, now))
            if pg:
                _last_head[raw] = plan.head
        except dbapi_error as exc:
            if pg:
                _last_head.pop(raw, None)
            # As SQLAlchemy raises it, so callers and the committer's retry of a locked database
            # see the usual exception types; without the parameters (audit data) in the message.
            raise DBAPIError.instance(
                statement,
                None,
                exc,
                dbapi_error,
                hide_parameters=True,
                connection_invalidated=conn.dialect.is_disconnect(exc, raw, cur),  # type: ignore[arg-type]
                dialect=conn.dialect,
            ) from exc
        finally:
            cur.close()
        return plan

    return op


def _core_append(conn: Connection, planner: Planner, now: float) -> Plan:
    """The append through SQLAlchemy Core, for a dialect the cursor SQL above was not written for."""
    plan = planner(_head(conn, lock=True))
    if plan.entries:
        conn.execute(insert(t.audit_entries), plan.entries)
    if plan.checkpoint is not None:
        conn.execute(insert(t.audit_checkpoints).values(**plan.checkpoint))
    head = plan.head
    conn.execute(
        update(t.audit_head)
        .where(t.audit_head.c.id == 1)
        .values(
            seq=head.seq,
            hash=head.hash,
            frontier=_frontier_text(head.frontier),
            checkpoint_size=head.checkpoint_size,
            checkpoint_at=head.checkpoint_at,
            updated_at=now,
        )
    )
    return plan


def head_op() -> Callable[[Connection], Head]:
    """A read op: the head as last committed."""
    return lambda conn: _head(conn, lock=False)


def entries_op(after_seq: int, limit: int, columns: Sequence[str] = ENTRY_COLUMNS) -> Callable[[Connection], list[Any]]:
    """A read op: up to `limit` entries with seq > `after_seq`, in chain order (rows of `columns`)."""
    e = t.audit_entries.c
    stmt = select(*(e[c] for c in columns)).where(e.seq > after_seq).order_by(e.seq).limit(limit)
    return lambda conn: list(conn.execute(stmt).all())


def entry_op(event_id: str) -> Callable[[Connection], Any]:
    """A read op: the entry with this event id, or None."""
    stmt = select(t.audit_entries).where(t.audit_entries.c.event_id == event_id)
    return lambda conn: conn.execute(stmt).first()


def leaves_op(first_seq: int, last_seq: int) -> Callable[[Connection], list[tuple[int, str, str]]]:
    """A read op: (seq, hash, signature) of entries first_seq..last_seq, in order."""
    e = t.audit_entries.c
    stmt = select(e.seq, e.hash, e.signature).where(e.seq >= first_seq, e.seq <= last_seq).order_by(e.seq)
    return lambda conn: [(int(s), str(h), str(sig)) for s, h, sig in conn.execute(stmt).all()]


def checkpoints_op() -> Callable[[Connection], list[Any]]:
    """A read op: every checkpoint, by size."""
    c = t.audit_checkpoints.c
    stmt = select(c.size, c.root, c.timestamp, c.key_id, c.signature).order_by(c.size)
    return lambda conn: list(conn.execute(stmt).all())


def keys_op() -> Callable[[Connection], dict[str, tuple[str, str]]]:
    """A read op: key_id -> (algorithm, public key hex) for every key that ever signed the log."""
    k = t.audit_keys.c
    stmt = select(k.key_id, k.algorithm, k.public_key)
    return lambda conn: {str(kid): (str(alg), str(pub)) for kid, alg, pub in conn.execute(stmt).all()}


__all__ = [
    "ENTRY_COLUMNS",
    "Head",
    "Plan",
    "Planner",
    "append_op",
    "checkpoints_op",
    "entries_op",
    "entry_op",
    "head_op",
    "keys_op",
    "leaves_op",
]
