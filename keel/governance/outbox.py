"""Sealing the audit outbox: the engine's events, committed with its checkpoints, chained and signed in batches.

The engine never takes the chain's head lock (keel.store.outbox says why). A `Sealer` thread per
process wakes when that process committed audit rows (and every few seconds, for rows other
processes committed), and chains what is waiting, `batch` rows per transaction. Sealers in several
processes take turns on the head lock; each row is chained exactly once, as it is deleted from the
outbox in the transaction that chains it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from keel.errors import KeelError
from keel.governance.audit import AuditEvent, AuditLog, _prepare, _Prepared
from keel.store.outbox import PendingRow

if TYPE_CHECKING:
    from keel.store.audit import Planner

log = logging.getLogger("keel.governance.outbox")

BATCH = 500
IDLE_S = 5.0  # how often to look for rows other processes committed
COALESCE_S = 0.2


def _event(row: PendingRow) -> _Prepared:
    _id, run_id, text, workflow, trace_id, _user = row
    try:
        raw: dict[str, Any] = json.loads(text)
        actor = dict(raw.get("actor") or {})
        if not actor.get("id"):
            actor["id"] = workflow or "keel"
        return _prepare(
            AuditEvent(
                event_type=raw["event_type"],
                actor=actor,
                action=raw["action"],
                resource=raw.get("resource"),
                decision=raw.get("decision"),
                policy_version=raw.get("policy_version"),
                risk_score=raw.get("risk_score"),
                trace_id=raw.get("trace_id") or trace_id,
                data=raw.get("data") or {},
                event_id=raw.get("event_id"),
            )
        )
    except (KeelError, ValueError, KeyError, TypeError) as exc:
        # A malformed record must not wedge the outbox: chain the fact that it was malformed instead.
        return _prepare(
            AuditEvent(
                event_type="audit.malformed",
                actor={"kind": "system", "id": "keel"},
                action="seal",
                resource=f"run:{run_id}" if run_id else None,
                trace_id=trace_id,
                data={"error": f"{type(exc).__name__}: {exc}"[:500]},
            )
        )


def seal(audit_log: AuditLog, *, batch: int = BATCH, limit: int | None = None) -> int:
    """Chain every waiting outbox row (or up to `limit`); how many were sealed."""
    sealed = 0

    def planner_for(rows: Sequence[PendingRow]) -> Planner:
        return audit_log._planner([_event(r) for r in rows])

    while limit is None or sealed < limit:
        size = batch if limit is None else min(batch, limit - sealed)
        plan, count = audit_log.store.audit_seal_outbox(
            planner_for, limit=size, publish=audit_log._publish(), now=audit_log.clock.time()
        )
        if plan is not None:
            audit_log._entries(plan)
        sealed += count
        if count < size:
            break
    return sealed


class Sealer:
    """A daemon thread that seals the outbox of `audit_log.store` until stopped (then seals what is left)."""

    def __init__(self, audit_log: AuditLog, *, idle_s: float = IDLE_S, batch: int = BATCH) -> None:
        self.log = audit_log
        self.idle_s = idle_s
        self.batch = batch
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="keel-audit-sealer", daemon=True)
        self.sealed = 0
        self.failures = 0

    def start(self) -> Sealer:
        self._thread.start()
        return self

    def _once(self) -> None:
        try:
            self.sealed += seal(self.log, batch=self.batch)
        except Exception:  # noqa: BLE001 - the rows stay in the outbox; the next round retries them
            self.failures += 1
            if self.failures in (1, 10) or self.failures % 100 == 0:
                log.exception(
                    "sealing the audit outbox failed; the events stay queued",
                    extra={"event_type": "audit.seal_failed", "failures": self.failures},
                )

    def _loop(self) -> None:
        written = self.log.store.outbox_written
        while not self._stop.is_set():
            written.wait(self.idle_s)
            if self._stop.is_set():
                break
            written.clear()
            # Let the events of the next few checkpoints gather: one head lock for the lot.
            self._stop.wait(COALESCE_S)
            self._once()

    def stop(self, *, flush: bool = True) -> None:
        """Stop the thread; with `flush`, seal what this process committed before returning."""
        self._stop.set()
        self.log.store.outbox_written.set()
        self._thread.join(timeout=30)
        if flush:
            self._once()
