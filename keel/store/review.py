"""The SQL of human review: one `keel_reviews` row per action the governor sent to review.

A run creates its request (insert-or-ignore: the id is `<run_id>:<step>`, so a replay or a second
worker finds the same row, and is told it did not create it) and then waits on the signal
`keel.review:<id>`. A decision locks the row (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's
BEGIN IMMEDIATE already serialises writers), so two approvers at the same moment take turns: an
override (two approvals needed) records the first as pending and decides on the second, and the
same person twice is refused whichever order the transactions commit in. The signal that resumes
the run is written in the same transaction as the decision. Who may decide and what is audited
live in keel.governance.review.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from keel.errors import InvalidStateError, UsageError
from keel.store import schema as t
from keel.types import RunStatus

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
REVIEW, OVERRIDE = "review", "override"
SIGNAL_PREFIX = "keel.review:"


@dataclass(frozen=True, slots=True)
class Review:
    """One review request as stored, with its decision once there is one."""

    review_id: str
    run_id: str
    step: int
    action: str
    risk_score: int
    policy_version: str | None
    kind: str  # review | override
    status: str  # pending | approved | rejected
    requested_at: float
    approvals: tuple[dict[str, Any], ...] = ()  # {"by", "at"}, in order
    rejected_by: str | None = None
    reason: str | None = None
    decided_at: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def needed(self) -> int:
        """Approvals that decide it: two different people for an override, one otherwise."""
        return 2 if self.kind == OVERRIDE else 1

    @property
    def signal(self) -> str:
        return SIGNAL_PREFIX + self.review_id

    def as_dict(self) -> dict[str, Any]:
        return {
            "review_id": self.review_id,
            "run_id": self.run_id,
            "step": self.step,
            "action": self.action,
            "risk_score": self.risk_score,
            "policy_version": self.policy_version,
            "kind": self.kind,
            "status": self.status,
            "requested_at": self.requested_at,
            "approvals": [dict(a) for a in self.approvals],
            "approvals_needed": self.needed,
            "rejected_by": self.rejected_by,
            "reason": self.reason,
            "decided_at": self.decided_at,
            "details": dict(self.details),
        }


@dataclass(frozen=True, slots=True)
class Request:
    """A review request as stored, and whether this call created it (False: a replay or another worker had)."""

    review: Review
    created: bool


@dataclass(frozen=True, slots=True)
class Change:
    """What one approval or rejection did: the review before and after it, and whether the run was signalled."""

    before: Review
    after: Review
    signalled: bool

    @property
    def decided(self) -> bool:
        return self.after.status != PENDING


def _review(row: Any) -> Review:
    return Review(
        review_id=row.review_id,
        run_id=row.run_id,
        step=int(row.step),
        action=row.action,
        risk_score=int(row.risk_score),
        policy_version=row.policy_version,
        kind=row.kind,
        status=row.status,
        requested_at=float(row.requested_at),
        approvals=tuple(json.loads(row.approvals or "[]")),
        rejected_by=row.rejected_by,
        reason=row.reason,
        decided_at=row.decided_at,
        details=json.loads(row.details) if row.details else {},
    )


def request_op(
    *,
    review_id: str,
    run_id: str,
    step: int,
    action: str,
    risk_score: int,
    policy_version: str | None,
    kind: str,
    details: dict[str, Any],
    now: float,
    insert_ignore: Callable[[Any], Any],
) -> Callable[[Connection], Request]:
    """Create the request unless it exists (the same action asks again after a replay); the row as stored."""
    if kind not in (REVIEW, OVERRIDE):
        raise UsageError(f"a review is of kind review or override, not {kind!r}")
    r = t.reviews

    def op(conn: Connection) -> Request:
        inserted = conn.execute(
            insert_ignore(r)
            .values(
                review_id=review_id,
                run_id=run_id,
                step=step,
                action=action,
                risk_score=risk_score,
                policy_version=policy_version,
                kind=kind,
                status=PENDING,
                requested_at=now,
                approvals="[]",
                details=json.dumps(details, sort_keys=True),
            )
            .on_conflict_do_nothing(index_elements=["review_id"])
            # RETURNING, not rowcount: drivers disagree on rowcount after ON CONFLICT DO NOTHING.
            .returning(r.c.review_id)
        ).first()
        stored = _review(conn.execute(select(r).where(r.c.review_id == review_id)).one())
        return Request(stored, created=inserted is not None)

    return op


def get_op(review_id: str) -> Callable[[Connection], Review | None]:
    r = t.reviews

    def op(conn: Connection) -> Review | None:
        row = conn.execute(select(r).where(r.c.review_id == review_id)).first()
        return None if row is None else _review(row)

    return op


def list_op(*, pending_only: bool, limit: int, run_id: str | None = None) -> Callable[[Connection], list[Review]]:
    """Reviews oldest first when pending only (the queue), newest first otherwise."""
    r = t.reviews
    stmt = select(r)
    if pending_only:
        stmt = stmt.where(r.c.status == PENDING).order_by(r.c.requested_at, r.c.review_id)
    else:
        stmt = stmt.order_by(r.c.requested_at.desc(), r.c.review_id)
    if run_id is not None:
        stmt = stmt.where(r.c.run_id == run_id)
    stmt = stmt.limit(limit)
    return lambda conn: [_review(row) for row in conn.execute(stmt)]


def pending_count_op() -> Callable[[Connection], int]:
    """How many reviews wait for a decision: the queue's depth (a count on the status index)."""
    r = t.reviews
    stmt = select(func.count()).select_from(r).where(r.c.status == PENDING)
    return lambda conn: int(conn.execute(stmt).scalar_one())


def _locked(conn: Connection, review_id: str) -> Review:
    r = t.reviews
    row = conn.execute(select(r).where(r.c.review_id == review_id).with_for_update()).first()
    if row is None:
        raise UsageError(f"no review with id {review_id!r}", review_id=review_id)
    review = _review(row)
    if review.status != PENDING:
        who = review.rejected_by if review.status == REJECTED else ", ".join(a["by"] for a in review.approvals)
        raise InvalidStateError(
            f"review {review_id} is already {review.status} (by {who}): a decision is final",
            review_id=review_id,
            status=review.status,
        )
    return review


def _signal(conn: Connection, review: Review, payload: dict[str, Any], now: float) -> bool:
    """Send the run the review's signal and wake it; False when the run is gone or already over."""
    status = conn.execute(select(t.runs.c.status).where(t.runs.c.run_id == review.run_id)).scalar_one_or_none()
    if status is None or RunStatus(status).terminal:
        return False
    conn.execute(
        insert(t.signals).values(run_id=review.run_id, name=review.signal, payload=json.dumps(payload), created_at=now)
    )
    conn.execute(
        update(t.runs)
        .where(t.runs.c.run_id == review.run_id, t.runs.c.status == RunStatus.WAITING.value)
        .values(wake_at=now, updated_at=now)
    )
    return True


def approve_op(review_id: str, *, by: str, reason: str | None, now: float) -> Callable[[Connection], Change]:
    """One approval: it decides a review; an override needs a second one by someone else."""

    def op(conn: Connection) -> Change:
        before = _locked(conn, review_id)
        if any(same_person(a["by"], by) for a in before.approvals):
            raise InvalidStateError(
                f"{by} already approved review {review_id}: an emergency override needs a second, "
                "different approver (two-person rule)",
                review_id=review_id,
                operator=by,
            )
        approvals = [*before.approvals, {"by": by, "at": now}]
        values: dict[str, Any] = {"approvals": json.dumps(approvals)}
        decided = len(approvals) >= before.needed
        if decided:
            values.update(status=APPROVED, decided_at=now, reason=reason)
        r = t.reviews
        conn.execute(update(r).where(r.c.review_id == review_id).values(**values))
        after = _review(conn.execute(select(r).where(r.c.review_id == review_id)).one())
        signalled = False
        if decided:
            payload = {"decision": APPROVED, "by": [a["by"] for a in approvals], "reason": reason}
            signalled = _signal(conn, after, payload, now)
        return Change(before, after, signalled)

    return op


def reject_op(review_id: str, *, by: str, reason: str, now: float) -> Callable[[Connection], Change]:
    """A rejection: one person's is enough, for an override too."""

    def op(conn: Connection) -> Change:
        before = _locked(conn, review_id)
        r = t.reviews
        conn.execute(
            update(r)
            .where(r.c.review_id == review_id)
            .values(status=REJECTED, rejected_by=by, reason=reason, decided_at=now)
        )
        after = _review(conn.execute(select(r).where(r.c.review_id == review_id)).one())
        signalled = _signal(conn, after, {"decision": REJECTED, "by": [by], "reason": reason}, now)
        return Change(before, after, signalled)

    return op


def risk_history_op(run_id: str, prefix: str) -> Callable[[Connection], tuple[float, int]]:
    """What a run spent so far (USD) and its highest risk score yet, from its journaled decisions."""
    s = t.steps
    cost_stmt = select(func.coalesce(func.sum(s.c.cost_usd), 0.0)).where(s.c.run_id == run_id)
    decisions = select(s.c.result).where(s.c.run_id == run_id, s.c.name.like(prefix + "%"), s.c.status == "succeeded")

    def op(conn: Connection) -> tuple[float, int]:
        cost = float(conn.execute(cost_stmt).scalar_one() or 0.0)
        highest = 0
        for (result,) in conn.execute(decisions):
            try:
                score = json.loads(result or "{}").get("risk_score")
            except (ValueError, AttributeError):
                continue
            if isinstance(score, int) and not isinstance(score, bool):
                highest = max(highest, score)
        return cost, highest

    return op


def same_person(a: str, b: str) -> bool:
    """Whether two approver names are one person (`Alice` and `alice ` are)."""
    return a.strip().casefold() == b.strip().casefold()
