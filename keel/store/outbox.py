"""The audit outbox's SQL: events committed with the state change they record, sealed into the chain later.

Why an outbox: an audit entry's hash covers its predecessor's, so appending to the chain takes the
chain's head lock. Taking it inside every checkpoint would serialise every worker on one row. Instead
the checkpoint inserts a plain row here (no lock, same transaction, so the record is exactly as
durable as what it records), and a sealer (keel.governance.outbox) moves rows into the chain in
batches: one head lock, one transaction per batch, the rows deleted as they are chained.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, select

from keel.store import audit
from keel.store import schema as t

INSERT_SQL = "INSERT INTO keel_audit_outbox (run_id, created_at, event) VALUES (:run_id, :created_at, :event)"


def row(
    run_id: str | None,
    now: float,
    *,
    event_type: str,
    action: str,
    actor_kind: str = "agent",
    actor_id: str = "",
    resource: str | None = None,
    decision: str | None = None,
    policy_version: str | None = None,
    risk_score: int | None = None,
    trace_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One outbox row; an empty `actor_id` or `trace_id` is filled from the run when sealed."""
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "actor": {"kind": actor_kind, "id": actor_id},
        "action": action,
        "resource": resource,
        "decision": decision,
        "policy_version": policy_version,
        "risk_score": risk_score,
        "trace_id": trace_id,
        "data": data or {},
    }
    return {"run_id": run_id, "created_at": now, "event": json.dumps(event, separators=(",", ":"), default=str)}


def transition_row(
    run_id: str,
    from_status: str | None,
    to_status: str,
    cause: str,
    now: float,
    *,
    actor: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The audit record of a run's state change (run start, end, every wait and resume)."""
    kind, ident = actor or ("agent", "")
    return row(
        run_id,
        now,
        event_type="run.state",
        action=f"{from_status or 'new'}->{to_status}",
        actor_kind=kind,
        actor_id=ident,
        resource=f"run:{run_id}",
        data={"cause": cause},
    )


def insert(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(t.audit_outbox.insert(), list(rows))


# Each outbox row with what the sealer fills in from its run: (id, run_id, event, workflow, trace_id, user_id).
PendingRow = tuple[int, str | None, str, str | None, str | None, str | None]
# Given the rows taken, the chain's planner for them (keel.governance builds and signs the entries).
PlannerFor = Callable[[Sequence[PendingRow]], audit.Planner]


def seal_op(
    planner_for: PlannerFor,
    *,
    limit: int,
    publish: dict[str, Any] | None,
    insert_ignore: Callable[[Any], Any],
    now: float,
) -> Callable[[Connection], tuple[audit.Plan | None, int]]:
    """A write op: under the chain's head lock, chain up to `limit` outbox rows and delete them."""
    chain = audit.append_op

    def op(conn: Connection) -> tuple[audit.Plan | None, int]:
        # The head lock first: a second sealer waits here, then finds only the rows left over.
        audit.lock_head(conn)
        o, r = t.audit_outbox.c, t.runs.c
        taken = conn.execute(
            select(o.id, o.run_id, o.event, r.workflow_name, r.trace_id, r.user_id)
            .select_from(t.audit_outbox.outerjoin(t.runs, r.run_id == o.run_id))
            .order_by(o.id)
            .limit(limit)
        ).all()
        if not taken:
            return None, 0
        pending: list[PendingRow] = [tuple(x) for x in taken]
        plan = chain(planner_for(pending), publish=publish, insert_ignore=insert_ignore, now=now)(conn)
        conn.execute(delete(t.audit_outbox).where(o.id.in_([p[0] for p in pending])))
        return plan, len(pending)

    return op


def backlog_op() -> Callable[[Connection], tuple[int, float | None]]:
    """How many events wait to be sealed, and when the oldest was committed."""

    def op(conn: Connection) -> tuple[int, float | None]:
        o = t.audit_outbox.c
        count, oldest = conn.execute(select(func.count(), func.min(o.created_at))).one()
        return int(count), None if oldest is None else float(oldest)

    return op
