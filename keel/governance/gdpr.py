"""GDPR access and erasure for a data subject: the user id their runs were started for.

`export_subject` gathers everything Keel holds about a subject into one JSON-ready bundle;
`delete_subject` erases it: the guard vault's data key is shredded, every value stored under the
subject's runs is overwritten with a tombstone, the gateway's cached answers of their model calls
are purged, and the deletion is audited. Both write a `gdpr.export` / `gdpr.delete` audit entry
(counts only). The audit log itself is never changed: it is append-only and holds redacted data,
so its chain still verifies after an erasure.

This is a service (level 3), so it does not import the guard or the gateway: the vault and any
cache outside the database (Redis) come in as the small Protocols below, composed by the caller
(`keel gdpr`, or an application).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import importlib.metadata
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from keel.errors import InvalidStateError, UsageError
from keel.governance.audit import Actor, AuditEvent, AuditLog
from keel.store import Store, migrate
from keel.store import gdpr as rows
from keel.types import Clock, RunStatus, SystemClock

BUNDLE_FORMAT = "keel.gdpr.export.v1"
_MAX_SUBJECT = 200


class SubjectVault(Protocol):
    """What GDPR needs of the guard's vault (keel.guard.vault.Vault)."""

    async def export_subject(self, subject: str) -> list[dict[str, str]]: ...

    async def forget_subject(self, subject: str) -> int: ...


class CachePurger(Protocol):
    """A cache kept outside Keel's database (the gateway's Redis backend)."""

    async def purge(self, keys: Sequence[tuple[str, str]]) -> int:
        """Remove the exact and semantic entries of these (org_key, request_hash); how many went."""
        ...


class SubjectBusyError(InvalidStateError):
    """The subject has runs in flight: erasing under a live run would break its replay."""

    code = "governance.gdpr_busy"


@dataclass
class DeletionReport:
    """What `delete_subject` erased (counts only: the report is audited as is)."""

    subject: str
    runs: int = 0
    steps: int = 0
    blobs_deleted: int = 0
    blobs_shared: int = 0
    signals: int = 0
    transitions: int = 0
    spans: int = 0
    cache_exact: int = 0
    cache_semantic: int = 0
    cache_external: int = 0
    vault_values: int = 0
    cancelled: list[str] = field(default_factory=list)
    audit_event_id: str | None = None

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in dataclasses.asdict(self).items() if isinstance(v, int) and not isinstance(v, bool)} | {
            "cancelled": len(self.cancelled)
        }

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _check_subject(subject: str) -> None:
    if not isinstance(subject, str) or not subject.strip() or len(subject) > _MAX_SUBJECT:
        raise UsageError(f"a data subject is a user id: a non-empty string of at most {_MAX_SUBJECT} characters")


def _now_text(clock: Clock) -> str:
    return dt.datetime.fromtimestamp(clock.time(), tz=dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _decoded(text: str | bytes | None) -> Any:
    """A stored JSON value as itself; text that is not JSON as the text."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        if isinstance(text, bytes):
            try:
                return text.decode("utf-8")
            except UnicodeDecodeError:
                return {"base64": base64.b64encode(text).decode("ascii")}
        return text


def keel_version() -> str:
    try:
        return importlib.metadata.version("keel-agents")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _run_json(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": run["run_id"],
        "workflow": run["workflow_name"],
        "workflow_version": run["workflow_version"],
        "status": run["status"],
        "org_id": run["org_id"],
        "user_id": run["user_id"],
        "idempotency_key": run["idempotency_key"],
        "created_at": _iso(run["created_at"]),
        "updated_at": _iso(run["updated_at"]),
        "flags": [f for f in (run["flags"] or "").split(",") if f],
        "failed_step": run["failed_step"],
        "trace_id": run["trace_id"],
        "input": _decoded(run["input"]),
        "result": _decoded(run["result"]),
        "error": _decoded(run["error"]),
    }


def _step_json(step: dict[str, Any], blobs: dict[str, bytes]) -> dict[str, Any]:
    ref = step["result_ref"]
    result: Any = _decoded(step["result"])
    if ref is not None:
        data = blobs.get(str(ref))
        result = _decoded(data) if data is not None else {"missing_blob": ref}
    return {
        "seq": step["seq"],
        "name": step["name"],
        "kind": step["kind"],
        "status": step["status"],
        "attempts": step["attempts"],
        "started_at": _iso(step["started_at"]),
        "finished_at": _iso(step["finished_at"]),
        "args": _decoded(step["args"]),
        "result": result,
        "error": _decoded(step["error"]),
        "failed_attempts": _decoded(step["events"]) or [],
        "tokens_input": step["tokens_input"],
        "tokens_output": step["tokens_output"],
        "cost_usd": step["cost_usd"],
    }


def _audit_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": row["seq"],
        "event_id": row["event_id"],
        "timestamp": row["timestamp"],
        "trace_id": row["trace_id"],
        "event_type": row["event_type"],
        "actor": {"kind": row["actor_kind"], "id": row["actor_id"]},
        "action": row["action"],
        "resource": row["resource"],
        "decision": row["decision"],
        "policy_version": row["policy_version"],
        "risk_score": row["risk_score"],
        "data": _decoded(row["data"]),
        "hash": row["hash"],
    }


def _bundle(
    subject: str,
    found: rows.SubjectRows,
    vault_values: list[dict[str, str]],
    *,
    generated_at: str,
    revision: str | None,
) -> dict[str, Any]:
    journal: dict[str, list[dict[str, Any]]] = {}
    for step in found.steps:
        journal.setdefault(str(step["run_id"]), []).append(_step_json(step, found.blobs))
    signals: dict[str, list[dict[str, Any]]] = {}
    for sig in found.signals:
        signals.setdefault(str(sig["run_id"]), []).append(
            {"name": sig["name"], "payload": _decoded(sig["payload"]), "sent_at": _iso(sig["created_at"])}
        )
    transitions: dict[str, list[dict[str, Any]]] = {}
    for tr in found.transitions:
        transitions.setdefault(str(tr["run_id"]), []).append(
            {"from": tr["from_status"], "to": tr["to_status"], "cause": tr["cause"], "at": _iso(tr["at"])}
        )
    spans: dict[str, list[dict[str, Any]]] = {}
    for sp in found.spans:
        spans.setdefault(str(sp["run_id"]), []).append(
            {
                "trace_id": sp["trace_id"],
                "span_id": sp["span_id"],
                "parent_span_id": sp["parent_span_id"],
                "name": sp["name"],
                "start_ns": sp["start_ns"],
                "end_ns": sp["end_ns"],
                "status": sp["status"],
                "attributes": _decoded(sp["attributes"]),
                "events": _decoded(sp["events"]) or [],
            }
        )
    runs = []
    for run in found.runs:
        run_id = str(run["run_id"])
        runs.append(
            _run_json(run)
            | {
                "journal": journal.get(run_id, []),
                "signals": signals.get(run_id, []),
                "transitions": transitions.get(run_id, []),
                "spans": spans.get(run_id, []),
            }
        )
    audit = [_audit_json(row) for row in found.audit]
    return {
        "manifest": {
            "format": BUNDLE_FORMAT,
            "generated_at": generated_at,
            "subject": subject,
            "keel_version": keel_version(),
            "schema_revision": revision,
            "counts": {
                "runs": len(runs),
                "journal_entries": len(found.steps),
                "blobs": len(found.blobs),
                "signals": len(found.signals),
                "transitions": len(found.transitions),
                "spans": len(found.spans),
                "vault_values": len(vault_values),
                "audit_entries": len(audit),
            },
        },
        "runs": runs,
        "vault": vault_values,
        "audit": audit,
    }


async def export_subject(
    store: Store,
    subject: str,
    *,
    vault: SubjectVault | None,
    audit: AuditLog,
    operator: str,
    clock: Clock | None = None,
) -> dict[str, Any]:
    """Everything held about `subject`, as one JSON-ready bundle; the export is audited (`gdpr.export`).

    `vault` None (the guard never ran here, or its key is not available) leaves the vault out, and
    the manifest says so. The bundle's `manifest.audit_event_id` is the audit entry of this export.
    """
    _check_subject(subject)
    clock = clock or SystemClock()
    found = await store.agdpr_collect(subject)
    vault_values = await vault.export_subject(subject) if vault is not None else []
    revision = await store.aread(migrate.current)
    bundle = _bundle(subject, found, vault_values, generated_at=_now_text(clock), revision=revision)
    bundle["manifest"]["vault_included"] = vault is not None
    entry = await audit.append(
        AuditEvent(
            event_type="gdpr.export",
            actor=Actor("user", operator),
            action="gdpr:export",
            resource=f"subject:{subject}",
            decision="done",
            data={"counts": bundle["manifest"]["counts"]},
        )
    )
    bundle["manifest"]["audit_event_id"] = entry.event_id
    return bundle


async def _cancel_live(store: Store, subject: str, clock: Clock, wait_s: float) -> list[str]:
    """Request cancellation of the subject's live runs and wait up to `wait_s` for them to end."""
    # As App.cancel: a compensating run is already on its way to an end.
    allowed = [s.value for s in RunStatus if not s.terminal and s != RunStatus.COMPENSATING]
    cancelled: list[str] = []
    for run_id, _ in await asyncio.to_thread(store.gdpr_live_runs, subject):
        try:
            await asyncio.to_thread(store.request_control, run_id, "cancel", allowed_from=allowed, now=clock.time())
        except InvalidStateError:
            continue  # it ended meanwhile
        cancelled.append(run_id)
    deadline = asyncio.get_running_loop().time() + wait_s
    while await asyncio.to_thread(store.gdpr_live_runs, subject):
        if asyncio.get_running_loop().time() >= deadline:
            break
        await asyncio.sleep(0.2)
    return cancelled


async def delete_subject(
    store: Store,
    subject: str,
    *,
    operator: str,
    vault: SubjectVault,
    audit: AuditLog,
    caches: Sequence[CachePurger] = (),
    cancel_running: bool = False,
    wait_s: float = 30.0,
    clock: Clock | None = None,
) -> DeletionReport:
    """Erase everything held about `subject` (see the module doc); the deletion is audited (`gdpr.delete`).

    Refused (SubjectBusyError, nothing erased, the refusal audited) while one of the subject's runs
    is not terminal. With `cancel_running`, their cancellation is requested first and the runs are
    given `wait_s` seconds to end: a worker carries a cancel out (compensations included), so a run
    no worker picks up in that time still refuses the deletion. Running it again is safe: what was
    erased already is not counted again.
    """
    _check_subject(subject)
    clock = clock or SystemClock()
    actor = Actor("user", operator)
    report = DeletionReport(subject=subject)
    if cancel_running:
        report.cancelled = await _cancel_live(store, subject, clock, wait_s)
    live = await asyncio.to_thread(store.gdpr_live_runs, subject)
    if live:
        await audit.append(
            AuditEvent(
                event_type="gdpr.delete",
                actor=actor,
                action="gdpr:delete",
                resource=f"subject:{subject}",
                decision="refused",
                data={"runs_in_flight": len(live), "cancel_requested": len(report.cancelled)},
            )
        )
        listed = ", ".join(f"{run_id} ({status})" for run_id, status in live)
        hint = (
            "a worker carries the cancellation out (`keel worker ...`); run the deletion again once they have ended"
            if cancel_running
            else "wait for them to end, or add --cancel-running"
        )
        raise SubjectBusyError(
            f"subject {subject!r} has {len(live)} run(s) in flight: {listed}; nothing was erased: {hint}",
            run_ids=[run_id for run_id, _ in live],
        )
    # Values first, then the key: a failure in between leaves values the next attempt still finds.
    counts = await store.agdpr_erase(subject, at=_now_text(clock))
    report.vault_values = await vault.forget_subject(subject)
    for cache in caches:
        report.cache_external += await cache.purge(counts.cache_keys)
    for name in (
        "runs",
        "steps",
        "blobs_deleted",
        "blobs_shared",
        "signals",
        "transitions",
        "spans",
        "cache_exact",
        "cache_semantic",
    ):
        setattr(report, name, getattr(counts, name))
    entry = await audit.append(
        AuditEvent(
            event_type="gdpr.delete",
            actor=actor,
            action="gdpr:delete",
            resource=f"subject:{subject}",
            decision="done",
            data={"counts": report.counts()},
        )
    )
    report.audit_event_id = entry.event_id
    return report


__all__ = [
    "BUNDLE_FORMAT",
    "CachePurger",
    "DeletionReport",
    "SubjectBusyError",
    "SubjectVault",
    "delete_subject",
    "export_subject",
    "keel_version",
]
