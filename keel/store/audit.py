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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, select, update

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


def append_op(
    planner: Planner, *, publish: dict[str, Any] | None, insert_ignore: Callable[[Any], Any], now: float
) -> Callable[[Connection], Plan]:
    """A write op: lock the head, let `planner` build the rows from it, insert them, move the head."""

    def op(conn: Connection) -> Plan:
        if publish is not None:
            conn.execute(
                insert_ignore(t.audit_keys).values(**publish).on_conflict_do_nothing(index_elements=["key_id"])
            )
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

    return op


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
