"""Spans read from the journal: a completed step's or wait's span is its journal entry, a run's its row.

The engine exports exactly these spans (built by the same functions from the same rows), so the
span store never writes a second copy of what the journal already holds on the hot path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from keel.store.base import RunRecord, SpanRecord, StepRecord
from keel.types import RunStatus

_ENDED = (RunStatus.SUCCEEDED.value, RunStatus.FAILED.value, RunStatus.CANCELLED.value)


def ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


def run_attributes(run_id: str, workflow: str, version: str, org_id: str | None, user_id: str | None) -> dict[str, Any]:
    """The attributes every span of a run carries."""
    attrs: dict[str, Any] = {"workflow.name": workflow, "workflow.version": version, "run.id": run_id}
    if org_id is not None:
        attrs["org.id"] = org_id
    if user_id is not None:
        attrs["user.id"] = user_id
    return attrs


def usage_attributes(tokens_input: int, tokens_output: int, cost_usd: float) -> dict[str, Any]:
    return {"tokens.input": tokens_input, "tokens.output": tokens_output, "cost.usd": round(cost_usd, 6)}


def entry_span_name(kind: str, name: str) -> str | None:
    """The span name of a journal entry of this kind; None for kinds with no span (`now`)."""
    if kind == "step":
        return f"step {name}"
    if kind == "compensation":
        return f"compensate {name}"
    if kind == "sleep":
        return "sleep"
    if kind == "signal":
        return "signal.wait"
    return None


def entry_span_attributes(base: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    """A completed journal entry's span attributes (`entry` holds keel_steps columns)."""
    attrs = dict(base)
    if entry.get("worker_id"):
        attrs["worker.id"] = entry["worker_id"]
    kind, seq = entry["kind"], entry["seq"]
    started, finished = entry.get("started_at") or 0.0, entry.get("finished_at") or 0.0
    if kind in ("step", "compensation"):
        attempts = entry.get("attempts") or 1
        attrs.update(
            {
                "step.name": entry["name"],
                "step.seq": seq,
                "step.kind": kind,
                "step.attempt": attempts,
                "step.retries": max(0, attempts - 1),
            }
        )
        if entry.get("tokens_input") or entry.get("tokens_output") or entry.get("cost_usd"):
            attrs.update(
                usage_attributes(
                    entry.get("tokens_input") or 0, entry.get("tokens_output") or 0, entry["cost_usd"] or 0
                )
            )
    else:
        attrs["step.seq"] = seq
        if kind == "signal":
            attrs["signal.name"] = str(entry["name"]).removeprefix("keel.signal:")
            attrs["timed_out"] = bool(json.loads(entry.get("result") or "{}").get("timed_out"))
    attrs["latency.ms"] = round((finished - started) * 1000, 3)
    attrs["success"] = True
    return attrs


def run_span_attributes(
    base: Mapping[str, Any],
    *,
    status: str,
    created_at: float,
    ended_at: float,
    totals: tuple[int, int, float],
    error_type: str | None,
) -> dict[str, Any]:
    attrs = {
        **base,
        "run.status": status,
        "success": status == RunStatus.SUCCEEDED.value,
        "latency.ms": round((ended_at - created_at) * 1000, 3),
        **usage_attributes(*totals),
    }
    if error_type is not None:
        attrs["error.type"] = error_type
    return attrs


def journal_totals(entries: Iterable[StepRecord]) -> tuple[int, int, float]:
    """Tokens in, tokens out and cost of every journaled step of a run."""
    tin = tout = 0
    cost = 0.0
    for e in entries:
        tin += e.tokens_input or 0
        tout += e.tokens_output or 0
        cost += e.cost_usd or 0.0
    return tin, tout, cost


def journal_spans(run: RunRecord, journal: list[StepRecord]) -> list[SpanRecord]:
    """The spans a run's row and journal stand for: its completed entries, and itself once ended."""
    if run.trace_id is None or run.span_id is None:
        return []  # created before tracing: nothing was recorded for it
    base = run_attributes(run.run_id, run.workflow_name, run.workflow_version, run.org_id, run.user_id)
    out: list[SpanRecord] = []
    for e in journal:
        name = entry_span_name(e.kind, e.name)
        if name is None or e.span_id is None or e.status != "succeeded":
            continue
        entry = {c: getattr(e, c) for c in ("kind", "seq", "name", "attempts", "started_at", "finished_at", "result")}
        entry.update(worker_id=e.worker_id, tokens_input=e.tokens_input, tokens_output=e.tokens_output)
        entry["cost_usd"] = e.cost_usd
        out.append(
            SpanRecord(
                trace_id=run.trace_id,
                span_id=e.span_id,
                parent_span_id=run.span_id,
                run_id=run.run_id,
                name=name,
                start_ns=ns(e.started_at or 0.0),
                end_ns=ns(e.finished_at or 0.0),
                status="ok",
                attributes=entry_span_attributes(base, entry),
                events=json.loads(e.events) if e.events else [],
            )
        )
    if run.status in _ENDED:
        error_type = json.loads(run.error).get("type") if run.error else None
        out.append(
            SpanRecord(
                trace_id=run.trace_id,
                span_id=run.span_id,
                parent_span_id=run.parent_span_id,
                run_id=run.run_id,
                name="workflow.run",
                start_ns=ns(run.created_at),
                end_ns=ns(run.updated_at),
                status="ok" if run.status == RunStatus.SUCCEEDED.value else "error",
                attributes=run_span_attributes(
                    base,
                    status=run.status,
                    created_at=run.created_at,
                    ended_at=run.updated_at,
                    totals=journal_totals(journal),
                    error_type=error_type,
                ),
                events=[],
            )
        )
    return out
