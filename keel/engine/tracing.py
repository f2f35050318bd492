"""The engine's spans of one run: steps, waits and the run itself, exported and read back as one trace.

A completed step's or wait's span is its journal entry (keel_steps holds its span id, worker and
failed attempts) and a run's span is its row, so tracing adds no write of its own to a
checkpoint; `keel.store.spans` reads them back with the same attribute builders used here for
export. Only spans the journal cannot hold (a step that failed for good or was interrupted) are
rows of keel_spans, committed with the next checkpoint. Spans built here skip the SDK's live-span
machinery (sampler, attribute validation, a lock per attribute), which costs more than the rest
of a step: every field is known when the span ends. `bench/engine.py` measures the overhead.
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import NonRecordingSpan, SpanContext, Status, StatusCode

from keel.observe.context import Usage
from keel.observe.redact import scrub
from keel.observe.tracing import JSON, SAMPLED, STATUS_NAMES, SpanSource, Tracing, run_span_ids
from keel.store import RunRecord
from keel.store.spans import (
    entry_span_attributes,
    entry_span_name,
    ns,
    run_attributes,
    run_span_attributes,
    usage_attributes,
)

_OK = Status(StatusCode.OK)
_UNSET = Status(StatusCode.UNSET)


class StepSpan:
    """A step's span while the step runs: its id (children parent on it) and failed attempts."""

    __slots__ = ("events", "span_id", "start_ns")

    def __init__(self, span_id: int, start_ns: int) -> None:
        self.span_id = span_id
        self.start_ns = start_ns
        self.events: list[dict[str, Any]] = []


# A keel_spans row to commit with the next checkpoint, and/or a span to export once it has
# committed; `True` marks the run's own span, which only the worker that ends the run may export.
_Pending = tuple[dict[str, Any] | None, SpanSource | None, bool]


class RunTrace:
    """The spans of one execution of a run; every method is cheap when tracing is off."""

    def __init__(self, tracing: Tracing | None, run: RunRecord, *, worker_id: str | None = None) -> None:
        self.tracing = tracing
        self.run_id = run.run_id
        self.worker_id = worker_id
        self.base = run_attributes(run.run_id, run.workflow_name, run.workflow_version, run.org_id, run.user_id)
        self._trace_id, self._span_id = run_span_ids(run.run_id, run.trace_id, run.span_id)
        self._trace_hex = f"{self._trace_id:032x}"
        self._parent_span_id = int(run.parent_span_id, 16) if run.parent_span_id else None
        self._root = SpanContext(self._trace_id, self._span_id, is_remote=True, trace_flags=SAMPLED)
        # The OpenTelemetry context the run's code runs in: under the run's span.
        self.context = trace.set_span_in_context(NonRecordingSpan(self._root), Context())
        self._store = tracing is not None and tracing.sink is not None
        self._exporting = tracing is not None and bool(tracing.exporting)
        self._pending: list[_Pending] = []
        self._inflight: list[_Pending] = []

    @property
    def trace_id(self) -> str:
        return self._trace_hex

    # -- handing spans over ----------------------------------------------------------------

    def take_rows(self) -> list[dict[str, Any]]:
        """keel_spans rows for the checkpoint about to be written (usually none)."""
        if not self._pending:
            return []
        self._inflight.extend(self._pending)
        self._pending = []
        return [row for row, _, _ in self._inflight if row is not None]

    def committed(self) -> None:
        """The checkpoint carrying what was pending committed: export those spans."""
        if self._inflight:
            assert self.tracing is not None
            for _, source, _ in self._inflight:
                if source is not None:
                    self.tracing.emit(source)
            self._inflight = []

    def leftovers(self) -> list[dict[str, Any]]:
        """At the end of an execution: spans no checkpoint carried (the lease or the store was lost).

        They describe work that did happen, so they are exported and returned for the store;
        the run's own span is dropped, since another worker will end the run and emit it.
        """
        left = [*self._inflight, *self._pending]
        self._pending, self._inflight = [], []
        rows: list[dict[str, Any]] = []
        for row, source, is_run in left:
            if is_run:
                continue
            if source is not None and self.tracing is not None:
                self.tracing.emit(source)
            if row is not None:
                rows.append(row)
        return rows

    def _readable(
        self,
        name: str,
        span_id: int,
        parent: int | None,
        start_ns: int,
        end_ns: int,
        attributes: Mapping[str, Any],
        status: Status,
        events: Sequence[Mapping[str, Any]] = (),
    ) -> ReadableSpan:
        assert self.tracing is not None
        return ReadableSpan(
            name,
            context=SpanContext(self._trace_id, span_id, is_remote=False, trace_flags=SAMPLED),
            parent=(
                self._root
                if parent == self._span_id
                else SpanContext(self._trace_id, parent, is_remote=True, trace_flags=SAMPLED)
                if parent
                else None
            ),
            resource=self.tracing.resource,
            attributes=attributes,
            events=[Event(e["name"], e["attributes"], e["time_ns"]) for e in events],
            status=status,
            start_time=start_ns,
            end_time=end_ns,
            instrumentation_scope=self.tracing.scope,
        )

    # -- steps -------------------------------------------------------------------------------

    def start_step(self, now: float) -> StepSpan | None:
        if self.tracing is None:
            return None
        return StepSpan(random.getrandbits(64) or 1, ns(now))

    def attempt_failed(
        self, span: StepSpan | None, attempt: int, exc: BaseException, now: float, retry_delay: float | None
    ) -> None:
        """An attempt failed; `retry_delay` is the backoff before the next one (None: no retry)."""
        if span is None:
            return
        attrs: dict[str, Any] = {
            "step.attempt": attempt,
            "error.type": type(exc).__name__,
            "error.message": scrub(str(exc), 500),
        }
        if retry_delay is not None:
            attrs["retry.delay_s"] = round(retry_delay, 6)
        name = "retry" if retry_delay is not None else "attempt failed"
        span.events.append({"name": name, "time_ns": ns(now), "attributes": attrs})

    def entry_columns(self, span: StepSpan | None = None) -> dict[str, Any]:
        """The span columns of a journal entry about to be written (a new span id if `span` is None)."""
        if self.tracing is None:
            return {}
        if span is None:
            return {"span_id": f"{random.getrandbits(64) or 1:016x}", "worker_id": self.worker_id}
        events = JSON.encode(span.events) if span.events else None
        return {"span_id": f"{span.span_id:016x}", "worker_id": self.worker_id, "events": events}

    def entry_done(self, entry: Mapping[str, Any]) -> None:
        """A journal entry with span columns is being committed: export its span once it is."""
        if self._exporting and entry.get("span_id") is not None:
            # Built on the export thread: the entry is not changed after its checkpoint.
            self._pending.append((None, functools.partial(self._entry_readable, entry), False))

    def _entry_readable(self, entry: Mapping[str, Any]) -> ReadableSpan:
        name = entry_span_name(entry["kind"], entry["name"]) or entry["name"]
        return self._readable(
            name,
            int(entry["span_id"], 16),
            self._span_id,
            ns(entry.get("started_at") or 0.0),
            ns(entry.get("finished_at") or 0.0),
            entry_span_attributes(self.base, entry),
            _OK,
            json.loads(entry["events"]) if entry.get("events") else (),
        )

    def step_not_done(
        self,
        span: StepSpan | None,
        *,
        name: str,
        seq: int,
        kind: str,
        attempts: int,
        started: float,
        now: float,
        usage: Usage,
        error: BaseException | None = None,
        interrupted: str | None = None,
    ) -> None:
        """A step that failed for good or was interrupted: no journal entry, so a keel_spans row."""
        if span is None:
            return
        attrs: dict[str, Any] = {**self.base}
        if self.worker_id:
            attrs["worker.id"] = self.worker_id
        attrs.update(
            {
                "step.name": name,
                "step.seq": seq,
                "step.kind": kind,
                "step.attempt": attempts,
                "step.retries": max(0, attempts - 1),
                "latency.ms": round((now - started) * 1000, 3),
                "success": False,
            }
        )
        if usage.input_tokens or usage.output_tokens or usage.cost_usd:
            attrs.update(usage_attributes(usage.input_tokens, usage.output_tokens, usage.cost_usd))
        status = _UNSET
        if error is not None:
            cause = error.__cause__ or error
            attrs["error.type"] = type(cause).__name__
            status = Status(StatusCode.ERROR, scrub(str(cause), 500))
        if interrupted is not None:
            attrs["step.interrupted"] = interrupted
        span_name = entry_span_name(kind, name) or name
        end = ns(now)
        row = None
        if self._store:
            stored = {**attrs, "error.message": status.description} if status.description else attrs
            row = {
                "trace_id": self._trace_hex,
                "span_id": f"{span.span_id:016x}",
                "parent_span_id": f"{self._span_id:016x}",
                "run_id": self.run_id,
                "name": span_name,
                "start_ns": span.start_ns,
                "end_ns": end,
                "status": STATUS_NAMES[status.status_code],
                "attributes": JSON.encode(stored),
                "events": JSON.encode(span.events) if span.events else None,
            }
        readable = None
        if self._exporting:
            readable = self._readable(
                span_name, span.span_id, self._span_id, span.start_ns, end, attrs, status, span.events
            )
        self._pending.append((row, readable, False))

    # -- the run -----------------------------------------------------------------------------

    def finish_run(
        self, *, status: str, created_at: float, now: float, totals: tuple[int, int, float], error_type: str | None
    ) -> None:
        """Export the run's span (the store reads it from the run's row) once the run's end commits."""
        if not self._exporting:
            return
        attrs = run_span_attributes(
            self.base, status=status, created_at=created_at, ended_at=now, totals=totals, error_type=error_type
        )
        run_status = _OK if status == "succeeded" else Status(StatusCode.ERROR, f"run {status}")
        readable = self._readable(
            "workflow.run", self._span_id, self._parent_span_id, ns(created_at), ns(now), attrs, run_status
        )
        self._pending.append((None, readable, True))
