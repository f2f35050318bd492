"""Human review of risky actions: the reviewer's side (`keel review list | show | approve | reject`).

A run whose next action scored at or above `review_at` waits, durably, on the review's signal; at
or above `block_at` it waits on an emergency override, which two different people must approve.
A decision is one transaction (the row, locked, and the signal that resumes the run: see
keel.store.review), then an audit entry `review.decision` with the reviewer as its actor. The entry
comes after the commit, as the kill switch's do: a log that cannot be written does not undo the
decision, and the outcome says so for the command to exit 1.

People are told a review waits by the run that requested it (keel.engine.executor: the log event
`review.requested` and the alert webhook), and the gauge `agent_human_review_queue_depth` counts
the pending reviews: each worker re-reads it every few seconds and right after one of its runs
asked for a review, and a decision made here sets it in this process.

Who may decide: the names `[governance] reviewers` lists (an override: `override_approvers`,
by default the reviewers; per org in `[governance.orgs.ORG]`), compared as the two-person rule
compares them. Anyone else is refused, audited, and the review stays pending. With no list
configured anyone may decide, as before there were lists, and each such decision logs a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from keel.config import GovernanceSettings
from keel.errors import InvalidStateError, UsageError
from keel.governance.audit import Actor, AuditEvent, AuditLog, OperatorRecord
from keel.governance.governor import ReviewerRoles, reviewer_roles
from keel.observe import metrics
from keel.store import Store
from keel.store.review import OVERRIDE, Review
from keel.types import Clock, SystemClock

log = logging.getLogger("keel.governance.review")

MAX_NAME_CHARS = 200
MAX_REASON_CHARS = 2000


class NotAReviewer(InvalidStateError):
    """A decision by someone the configured reviewer (or override approver) list does not name."""

    code = "governance.not_a_reviewer"


@dataclass(frozen=True)
class Outcome:
    """What one approval or rejection did, and whether its audit entry was written."""

    review: Review  # after the decision
    operator: str
    decided: bool  # False: an override's first approval, waiting for a second approver
    signalled: bool  # the run was sent its signal (False when it had already ended)
    audit_seq: int | None = None
    audit_error: str | None = None
    anyone_may_decide: bool = False  # no reviewer list is configured for this review

    def as_dict(self) -> dict[str, Any]:
        return {
            "review": self.review.as_dict(),
            "operator": self.operator,
            "decided": self.decided,
            "signalled": self.signalled,
            "audit_seq": self.audit_seq,
            "audit_error": self.audit_error,
            "anyone_may_decide": self.anyone_may_decide,
        }


class ReviewDesk:
    """Lists, approves and rejects review requests; every decision and refusal is audited."""

    def __init__(
        self,
        store: Store,
        *,
        audit: AuditLog | None = None,
        clock: Clock | None = None,
        reviewers: ReviewerRoles | None = None,
    ) -> None:
        """`audit`: where decisions are recorded (default: `AuditLog.from_env(store)`, made when first
        needed). `reviewers`: who may decide (default: the `[governance]` table of keel.toml, or of
        the file KEEL_CONFIG names, read at the first decision)."""
        self.store = store
        self.clock = clock or SystemClock()
        self._record_log = OperatorRecord(
            store, audit=audit, clock=self.clock, what="review decision", failed_event="review.audit_failed"
        )
        self._reviewers = reviewers

    def pending(self, limit: int = 100) -> list[Review]:
        """The reviews waiting for a decision, oldest first."""
        return self.store.review_list(pending_only=True, limit=limit)

    def all(self, limit: int = 100) -> list[Review]:
        """Every review, newest first."""
        return self.store.review_list(pending_only=False, limit=limit)

    def get(self, review_id: str) -> Review:
        review = self.store.review_get(review_id)
        if review is None:
            raise UsageError(
                f"no review with id {review_id!r} (keel review list --all shows them)", review_id=review_id
            )
        return review

    def approve(self, review_id: str, by: str, reason: str | None = None) -> Outcome:
        """Approve: the action runs (an override's first approval waits for a second, different person).
        UsageError for an unknown id; InvalidStateError when decided already or `by` approved already;
        NotAReviewer when a configured list does not name `by`."""
        by = _text("reviewer name (--by)", by, MAX_NAME_CHARS)
        reason = _text("reason", reason, MAX_REASON_CHARS) if reason is not None and reason.strip() else None
        listed = self._check_reviewer(review_id, by)
        try:
            change = self.store.review_approve(review_id, by=by, reason=reason, now=self.clock.time())
        except InvalidStateError as exc:
            self._refused(review_id, by, exc.message)
            raise
        if not listed:
            _warn_unlisted(review_id, by)
        self._update_queue_depth()
        after = change.after
        decision = "approved" if change.decided else "pending"
        seq, error = self._record(
            after,
            by,
            decision,
            {
                "approvals": [a["by"] for a in after.approvals],
                "needed": after.needed,
                "reason": reason,
                "run_signalled": change.signalled,
            },
        )
        return Outcome(after, by, change.decided, change.signalled, seq, error, anyone_may_decide=not listed)

    def reject(self, review_id: str, by: str, reason: str) -> Outcome:
        """Reject: the run's call fails with ToolNotAllowed carrying `reason` (required)."""
        by = _text("reviewer name (--by)", by, MAX_NAME_CHARS)
        reason = _text("reason (--reason)", reason, MAX_REASON_CHARS)
        listed = self._check_reviewer(review_id, by)
        try:
            change = self.store.review_reject(review_id, by=by, reason=reason, now=self.clock.time())
        except InvalidStateError as exc:
            self._refused(review_id, by, exc.message)
            raise
        if not listed:
            _warn_unlisted(review_id, by)
        self._update_queue_depth()
        seq, error = self._record(change.after, by, "rejected", {"reason": reason, "run_signalled": change.signalled})
        return Outcome(change.after, by, True, change.signalled, seq, error, anyone_may_decide=not listed)

    def _check_reviewer(self, review_id: str, by: str) -> bool:
        """Whether a configured list names `by` (False: none is configured, anyone may decide).
        NotAReviewer, audited, when a list is configured and `by` is not on it."""
        review = self.get(review_id)
        if self._reviewers is None:
            # Read at the first decision, not in __init__: listing and showing reviews need no configuration.
            self._reviewers = reviewer_roles(GovernanceSettings.from_env())
        override = review.kind == OVERRIDE
        deciders = self._reviewers.deciders(review.details.get("org"), override=override)
        if deciders.names is None:
            return False
        if deciders.allows(by):
            return True
        role = "an override approver" if override else "a reviewer"
        why = f"{by} is not {role}: {deciders.key} does not name them, so review {review_id} stays pending"
        self._record(review, by, "refused", {"why": why})
        raise NotAReviewer(why, review_id=review_id, operator=by)

    # -- after the commit: the gauge and the record -----------------------------------------------

    def _update_queue_depth(self) -> None:
        # For a process that decides and serves metrics itself (an App embedding the desk): the
        # workers re-read the depth on their own. The decision has committed, so a failed read is
        # only logged.
        try:
            metrics.set_review_queue_depth(self.store.review_pending_count())
        except Exception as exc:  # noqa: BLE001 - a gauge must not make a decision look failed
            log.warning("review queue depth not read: %s", exc, extra={"event_type": "review.queue_depth_failed"})

    def _refused(self, review_id: str, by: str, why: str) -> None:
        review = self.store.review_get(review_id)
        if review is not None:
            self._record(review, by, "refused", {"why": why})

    def _record(self, review: Review, by: str, decision: str, data: dict[str, Any]) -> tuple[int | None, str | None]:
        event = AuditEvent(
            event_type="review.decision",
            actor=Actor("user", by),
            action=review.action,
            resource=f"review:{review.review_id}",
            decision=decision,
            policy_version=review.policy_version,
            risk_score=review.risk_score,
            data={"run_id": review.run_id, "step": review.step, "kind": review.kind, **data},
        )
        return self._record_log.append(event, review_id=review.review_id)


def _warn_unlisted(review_id: str, by: str) -> None:
    log.warning(
        "review %s decided by %s with no reviewer list configured: anyone may decide "
        "([governance] reviewers says who may)",
        review_id,
        by,
        extra={"event_type": "review.reviewers_not_configured", "review_id": review_id, "operator": by},
    )


def _text(name: str, value: object, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"a review decision needs a {name}")
    value = value.strip()
    if len(value) > limit:
        raise UsageError(f"the {name} is longer than {limit} characters")
    return value


__all__ = ["NotAReviewer", "Outcome", "Review", "ReviewDesk"]
