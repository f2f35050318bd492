"""The kill switch: stop every agent at once; start them again only when two people agree.

Engaging it is one transaction: every tool credential of every org is revoked (the credentials'
revoke-all generation moves on, so a credential minted before is refused at its next
verification, in every process) and the switch's row says engaged. From then on:

- no run starts: `App.start`, `run`, `run_sync` and `keel run` raise `KillSwitchEngaged`;
- no run is claimed, and every run in flight finishes its current step and holds at the next step
  boundary, as a paused run does (status `waiting`, not failed): each worker reads the switch on
  every claim poll (`KEEL_POLL_INTERVAL_S`, 0.2 s by default), and an in-process run at its
  heartbeat, so a step that ends within that interval of the engage may still be followed by one
  more;
- every worker process sets `agent_kill_switch_active` to 1 from what it read.

Then the alert webhook is posted (when `KEEL_ALERT_WEBHOOK_URL` is set; signed with HMAC-SHA256 in
`x-keel-signature` when `KEEL_ALERT_WEBHOOK_SECRET_ENV` names a variable holding the secret) and the
engage is audited with its operator and reason. Both come after the commit, so neither can delay
or prevent the stop; their failures are reported, never raised.

Releasing needs two approvals by different people (`approve_release`, twice). The first is
recorded as pending; the same person again is refused; another person's releases the switch, and
held runs are claimed again at the workers' next poll. Revoked credentials stay revoked: each tool
call mints a new one anyway. Every step, refusals included, is audited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from keel.engine.estimate import current_user
from keel.errors import ConfigError, InvalidStateError, UsageError
from keel.governance.audit import Actor, AuditEvent, AuditLog, OperatorRecord
from keel.observe import metrics
from keel.observe.alerts import Webhook
from keel.store import Store
from keel.store.killswitch import State
from keel.types import Clock, SystemClock

log = logging.getLogger("keel.governance.killswitch")

MAX_REASON_CHARS = 2000
MAX_OPERATOR_CHARS = 200
RESOURCE = "kill_switch"


@dataclass(frozen=True)
class Outcome:
    """What one kill-switch command did, and whether its audit entry and webhook went out."""

    state: State  # the switch after the command
    operator: str
    audit_seq: int | None = None  # the audit entry written, None when it could not be
    audit_error: str | None = None
    webhook: str = "not configured"  # "sent", "not configured", or "failed: why"
    already_engaged: bool = False  # engage: it was engaged before (credentials revoked again)
    credentials_generation: int | None = None  # engage: the revoke-all generation now in force
    released: bool = False  # release: this approval released the switch (else it awaits a second)

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.as_dict(),
            "operator": self.operator,
            "audit_seq": self.audit_seq,
            "audit_error": self.audit_error,
            "webhook": self.webhook,
            "already_engaged": self.already_engaged,
            "credentials_generation": self.credentials_generation,
            "released": self.released,
        }


_FROM_ENV: Any = object()


class KillSwitch:
    """Engage, release and read the kill switch of the agents on `store`'s database.

    `audit`: the log engagements and approvals are written to (default: `AuditLog.from_env(store)`,
    built on first use). `webhook`: where alerts go (default: from the environment; None: nowhere).
    """

    def __init__(
        self,
        store: Store,
        *,
        audit: AuditLog | None = None,
        webhook: Webhook | None = _FROM_ENV,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self._record = OperatorRecord(
            store, audit=audit, clock=self.clock, what="kill switch event", failed_event="kill_switch.audit_failed"
        )
        self._webhook = webhook

    def status(self) -> State:
        """The switch as every worker sees it."""
        return self.store.kill_switch_state()

    def engage(self, reason: str, operator: str | None = None) -> Outcome:
        """Stop every agent now: revoke all tool credentials, refuse new runs, hold runs in flight at
        their next step boundary. `operator` defaults to the OS user. Engaging it again revokes the
        credentials again and voids a release in progress."""
        reason = _text("reason", reason, MAX_REASON_CHARS)
        operator = _operator(operator)
        change, generation = self.store.kill_switch_engage(reason=reason, operator=operator, now=self.clock.time())
        state, already = change.after, change.before.engaged
        metrics.set_kill_switch(True)
        log.critical(
            "kill switch engaged by %s: %s",
            operator,
            reason,
            extra={
                "event_type": "kill_switch.engaged",
                "operator": operator,
                "incident": state.incident,
                "already_engaged": already,
                "credentials_generation": generation,
            },
        )
        seq, audit_error = self._audit_event(
            "kill_switch.engaged",
            operator,
            action="kill_switch:engage",
            decision="engaged",
            data={
                "reason": reason,
                "incident": state.incident,
                "already_engaged": already,
                "credentials_generation": generation,
            },
        )
        webhook = self._alert(
            {
                "event": "kill_switch.engaged",
                "reason": reason,
                "operator": operator,
                "incident": state.incident,
                "already_engaged": already,
                "engaged_at": _iso(state.engaged_at),
                "at": _iso(self.clock.time()),
            }
        )
        return Outcome(
            state=state,
            operator=operator,
            audit_seq=seq,
            audit_error=audit_error,
            webhook=webhook,
            already_engaged=already,
            credentials_generation=generation,
        )

    def approve_release(self, operator: str | None = None) -> Outcome:
        """One of the two approvals a release needs (`operator` defaults to the OS user). The first is
        recorded; the second, by a different person, releases the switch. InvalidStateError when the
        switch is not engaged or this person already approved (the refusal is audited too)."""
        operator = _operator(operator)
        try:
            change = self.store.kill_switch_approve_release(operator=operator, now=self.clock.time())
        except InvalidStateError as exc:
            self._audit_event(
                "kill_switch.release_refused",
                operator,
                action="kill_switch:release",
                decision="refused",
                data={"why": exc.message},
            )
            raise
        state = change.after
        released = not state.engaged
        if not released:
            log.warning(
                "kill switch release approved by %s; a second, different approver must release it",
                operator,
                extra={"event_type": "kill_switch.release_approved", "operator": operator, "incident": state.incident},
            )
            seq, audit_error = self._audit_event(
                "kill_switch.release_approved",
                operator,
                action="kill_switch:release",
                decision="pending",
                data={"incident": state.incident, "reason": state.reason},
            )
            return Outcome(state=state, operator=operator, audit_seq=seq, audit_error=audit_error, webhook="not sent")
        metrics.set_kill_switch(False)
        approvers = list(state.released_by)
        log.warning(
            "kill switch released by %s",
            " and ".join(approvers),
            extra={"event_type": "kill_switch.released", "approvers": approvers, "incident": state.incident},
        )
        seq, audit_error = self._audit_event(
            "kill_switch.released",
            operator,
            action="kill_switch:release",
            decision="released",
            data={"incident": state.incident, "approvers": approvers, "reason": change.before.reason},
        )
        webhook = self._alert(
            {
                "event": "kill_switch.released",
                "approvers": approvers,
                "incident": state.incident,
                "reason": change.before.reason,
                "at": _iso(state.released_at),
            }
        )
        return Outcome(
            state=state, operator=operator, audit_seq=seq, audit_error=audit_error, webhook=webhook, released=True
        )

    # -- after the commit: the record and the alert ------------------------------------------------

    def _audit_event(
        self, event_type: str, operator: str, *, action: str, decision: str, data: dict[str, Any]
    ) -> tuple[int | None, str | None]:
        event = AuditEvent(
            event_type=event_type,
            actor=Actor("user", operator),
            action=action,
            resource=RESOURCE,
            decision=decision,
            data=data,
        )
        return self._record.append(event, kill_switch_event=event_type)

    def _alert(self, body: dict[str, Any]) -> str:
        # Read from the environment only now: a bad webhook setting must not stop the switch engaging.
        if self._webhook is _FROM_ENV:
            try:
                self._webhook = Webhook.from_env()
            except ConfigError as exc:
                log.error(
                    "kill switch webhook not sent: %s", exc.message, extra={"event_type": "kill_switch.webhook_failed"}
                )
                return f"failed: {exc.message}"
        if self._webhook is None:
            return "not configured"
        return self._webhook.post(body)


def _text(name: str, value: object, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"the kill switch needs a {name}")
    value = value.strip()
    if len(value) > limit:
        raise UsageError(f"the {name} is longer than {limit} characters")
    return value


def _operator(operator: str | None) -> str:
    return _text("operator", current_user() if operator is None else operator, MAX_OPERATOR_CHARS)


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


# Webhook lives in keel.observe.alerts (review requests post to it too); still importable from here.
__all__ = ["KillSwitch", "Outcome", "State", "Webhook"]
