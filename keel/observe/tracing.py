"""Tracing: one OpenTelemetry trace per run, exported to Keel's own span store and to OTEL_* exporters.

A run outlives the processes that drive it, but an OpenTelemetry span lives in one process.
So the run's `workflow.run` span has ids fixed when the run is created (stored with the run),
every worker that drives the run parents its spans on those ids, and the worker that finishes
the run emits the `workflow.run` span itself, with those same ids and the run's creation as
its start. Replayed steps emit nothing: their spans were emitted when they executed.
"""

from __future__ import annotations

import collections
import functools
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NonRecordingSpan, Span, StatusCode, TraceFlags

from keel.errors import ConfigError
from keel.observe import context as obs_context
from keel.observe.context import RunScope
from keel.observe.metrics import METRICS, org_label
from keel.observe.redact import scrub

log = logging.getLogger("keel.observe")

SAMPLED = TraceFlags(TraceFlags.SAMPLED)


def new_run_trace(run_id: str) -> tuple[str, str, str | None]:
    """(trace_id, span_id, parent_span_id) for a new run, as hex.

    A run started inside a traced request joins that trace under the request's span;
    otherwise the trace id is the run id's 128 bits, so one can be found from the other.
    """
    parent = obs_context.active_span_context()
    span_id = f"{random.getrandbits(64) or 1:016x}"
    if parent.is_valid:
        return f"{parent.trace_id:032x}", span_id, f"{parent.span_id:016x}"
    return run_id.replace("-", "").lower(), span_id, None


def run_span_ids(run_id: str, trace_id: str | None, span_id: str | None) -> tuple[int, int]:
    """The run's trace and root span ids; runs created before tracing get ids derived from their id."""
    if trace_id and span_id:
        return int(trace_id, 16), int(span_id, 16)
    digits = run_id.replace("-", "").lower()
    return int(digits, 16) or 1, int(digits[:16], 16) or 1


# -- the span store ------------------------------------------------------------------------


STATUS_NAMES = {StatusCode.OK: "ok", StatusCode.ERROR: "error", StatusCode.UNSET: "unset"}
# One encoder for every row: json.dumps(..., default=str) builds a new one per call.
JSON = json.JSONEncoder(default=str, separators=(",", ":"))


def span_row(span: ReadableSpan) -> dict[str, Any]:
    """A finished span as a keel_spans row."""
    ctx = span.context
    assert ctx is not None  # every SDK span has a context
    attrs = dict(span.attributes) if span.attributes else {}
    if span.status.description:
        attrs.setdefault("error.message", span.status.description)  # the store has no column for it
    parent = span.parent
    events = span.events
    return {
        "trace_id": f"{ctx.trace_id:032x}",
        "span_id": f"{ctx.span_id:016x}",
        "parent_span_id": f"{parent.span_id:016x}" if parent is not None else None,
        "run_id": attrs.get("run.id"),
        "name": span.name,
        "start_ns": span.start_time or 0,
        "end_ns": span.end_time or span.start_time or 0,
        "status": STATUS_NAMES[span.status.status_code],
        "attributes": JSON.encode(attrs),
        "events": JSON.encode(
            [{"name": e.name, "time_ns": e.timestamp, "attributes": dict(e.attributes or {})} for e in events]
        )
        if events
        else None,
    }


class StoreSpanExporter(SpanExporter):
    """Writes finished spans into Keel's database (keel_spans), batched with the engine's commits."""

    def __init__(self, sink: Callable[[Sequence[dict[str, Any]]], Any], timeout_s: float = 30.0) -> None:
        self._sink = sink
        self._timeout_s = timeout_s

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            pending = self._sink([span_row(s) for s in spans])
            if hasattr(pending, "result"):
                pending.result(timeout=self._timeout_s)
        except Exception:  # noqa: BLE001 - losing spans must never fail a run; say so instead
            log.warning(
                "could not store %d span(s)", len(spans), exc_info=True, extra={"event_type": "trace.export_failed"}
            )
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing to release: the store belongs to the App, which closes it."""


def exporters_from_env() -> list[SpanExporter]:
    """The exporters OTEL_TRACES_EXPORTER names (otlp, console, none; default none)."""
    names = [n.strip().lower() for n in os.environ.get("OTEL_TRACES_EXPORTER", "none").split(",") if n.strip()]
    exporters: list[SpanExporter] = []
    for name in names:
        if name == "none":
            continue
        if name == "console":
            exporters.append(ConsoleSpanExporter())
        elif name == "otlp":
            protocol = os.environ.get(
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            )
            if protocol != "http/protobuf":
                raise ConfigError(
                    f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported: Keel exports OTLP over "
                    "http/protobuf (port 4318 on a collector)",
                    key="OTEL_EXPORTER_OTLP_PROTOCOL",
                )
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            # Endpoint, headers, timeout and compression come from the OTEL_EXPORTER_OTLP_* variables.
            exporters.append(OTLPSpanExporter())
        else:
            raise ConfigError(
                f"OTEL_TRACES_EXPORTER names {name!r}: Keel supports otlp, console and none",
                key="OTEL_TRACES_EXPORTER",
            )
    return exporters


# An engine span, or what builds it: built on the export thread, off the engine's hot path.
SpanSource = ReadableSpan | Callable[[], ReadableSpan]


class Tracing:
    """One App's tracing: the span store, the OTEL_* exporters, and the provider for other spans.

    The engine's own spans (steps, waits, runs) are read from the journal by the span store (see
    keel.store.spans) and handed to the exporters through `emit`; spans made through the SDK
    (model and tool calls, user spans) reach the store through a batch processor. Both kinds go
    to every exporter.
    """

    def __init__(
        self,
        *,
        sink: Callable[[Sequence[dict[str, Any]]], Any] | None = None,
        exporters: Sequence[SpanExporter] | None = None,
        content: bool = False,
    ) -> None:
        resource = Resource.create()
        if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
            resource = resource.merge(Resource({"service.name": "keel"}))
        self.resource = resource
        self.scope = InstrumentationScope("keel")
        self.provider = TracerProvider(resource=resource)
        self.sink = sink
        self.exporting: list[SpanProcessor] = []
        if sink is not None:
            self.provider.add_span_processor(
                # A queue deep enough for bursts: a full queue drops spans (the SDK logs it).
                BatchSpanProcessor(
                    StoreSpanExporter(sink),
                    max_queue_size=16384,
                    schedule_delay_millis=500,
                    max_export_batch_size=512,
                )
            )
        for exporter in exporters_from_env() if exporters is None else exporters:
            self.add_processor(BatchSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("keel")
        self.content = content
        self._outbox: collections.deque[SpanSource] = collections.deque()
        self._wake = threading.Event()
        self._drain_lock = threading.Lock()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def add_processor(self, processor: SpanProcessor) -> None:
        """Hand every span of this app to `processor` too (the engine's and the SDK's)."""
        self.exporting.append(processor)
        self.provider.add_span_processor(processor)

    def emit(self, span: SpanSource) -> None:
        """Queue a finished engine span for the exporters; the export thread builds and hands it on.

        Building spans (attributes, SDK objects) costs as much as a quarter of a trivial step, and
        the engine's thread is the bottleneck of a busy worker: the export thread does it instead,
        mostly while the engine waits for its commits.
        """
        if not self.exporting:
            return
        self._outbox.append(span)
        if self._thread is None:
            self._start()
        elif len(self._outbox) >= _OUTBOX_WAKE:
            self._wake.set()

    def _start(self) -> None:
        with self._drain_lock:
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._loop, name="keel-span-export", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while not self._stopped:
            self._wake.wait(_OUTBOX_INTERVAL_S)
            self._wake.clear()
            self._drain()

    def _drain(self) -> None:
        with self._drain_lock:
            while self._outbox:
                try:
                    source = self._outbox.popleft()
                    span = source if isinstance(source, ReadableSpan) else source()
                    for processor in self.exporting:
                        processor.on_end(span)
                except IndexError:
                    return
                except Exception:  # noqa: BLE001 - a broken exporter must not stop the others
                    log.warning("span export failed", exc_info=True, extra={"event_type": "trace.export_failed"})

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Hand every queued span to the exporters and wait until they have exported it."""
        self._drain()
        return self.provider.force_flush(int(timeout_s * 1000))

    def shutdown(self) -> None:
        self._stopped = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._drain()
        self.provider.shutdown()


_OUTBOX_WAKE = 1024  # queued engine spans that wake the export thread before its interval
_OUTBOX_INTERVAL_S = 0.2


# -- what later layers call ------------------------------------------------------------------


def _parent(scope: RunScope | None) -> Context | None:
    """Inside a step, spans parent on the step's span unless one of them is open already.

    The engine does not make each step's span current (that costs every step, traced or not);
    it records the step's span id in the run scope, and the span is built here when needed.
    """
    if scope is None or not scope.step_span_id:
        return None  # the current context: the run's span, or the host's own
    active = obs_context.active_span_context()
    if active.span_id != scope.step_span_id:
        return None  # a span of this step's is open: nest under it
    return trace.set_span_in_context(NonRecordingSpan(active), Context())


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


def _now_ns(scope: RunScope | None) -> int | None:
    # Spans inside a run follow the engine's clock, so a test clock gives a coherent trace.
    if scope is not None and scope.clock is not None:
        return _ns(scope.clock.time())
    return None


@functools.cache
def _global_tracer() -> trace.Tracer:
    # A proxy that follows whatever global provider is set later, so fetching it once is safe; the
    # gateway opens a span per model call, and the lookup was a tenth of its own cost per call.
    return trace.get_tracer("keel")


@functools.cache
def _child(metric: Any, *labels: str) -> Any:
    """A metric's child for these label values; `labels()` takes a lock and builds a tuple per call."""
    return metric.labels(*labels)


class _SpanScope:
    """`with span(...)`: a class, not a generator, as the gateway opens one per model call.

    It does what `trace.use_span` does (make the span current) without the two generator frames
    and contextlib's bookkeeping, about a tenth of the gateway's own cost per call.
    """

    __slots__ = ("_attributes", "_name", "_scope", "_span", "_start", "_token")

    def __init__(self, name: str, attributes: dict[str, Any]) -> None:
        self._name = name
        self._attributes = attributes

    def __enter__(self) -> Span:
        scope = self._scope = obs_context.current()
        tracer = scope.tracer if scope is not None and scope.tracer is not None else _global_tracer()
        attrs = {**scope.attributes(), **self._attributes} if scope is not None else self._attributes
        self._start = _now_ns(scope)
        current = self._span = tracer.start_span(
            self._name, context=_parent(scope), attributes=attrs, start_time=self._start
        )
        self._token = otel_context.attach(trace.set_span_in_context(current))
        return current

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        current = self._span
        otel_context.detach(self._token)
        if exc is not None:
            current.set_attributes({"success": False, "error.type": type(exc).__name__})
            current.set_status(StatusCode.ERROR, scrub(str(exc), 500))
        else:
            attrs_now = getattr(current, "attributes", None) or {}
            if "success" not in attrs_now:
                current.set_attribute("success", True)
                current.set_status(StatusCode.OK)
        end = _now_ns(self._scope)
        if self._start is not None and end is not None:
            current.set_attribute("latency.ms", round((end - self._start) / 1e6, 3))
        current.end(end_time=end)


def span(name: str, **attributes: Any) -> _SpanScope:
    """A child span of whatever runs now (a step of a run, usually); failures mark it `success=false`."""
    return _SpanScope(name, attributes)


class LlmCall:
    """What a model call records on its span: usage (always) and content (redacted, when enabled)."""

    def __init__(self, span: Span, model: str, system: str) -> None:
        self.span = span
        self.model = model
        self.system = system

    def usage(
        self, *, input_tokens: int, output_tokens: int, cost_usd: float, response_model: str | None = None
    ) -> None:
        scope = obs_context.current()
        org = org_label(scope.org_id if scope is not None else None)
        workflow = scope.workflow if scope is not None else "none"
        if scope is not None:
            scope.usage.add(input_tokens, output_tokens, cost_usd)
        if self.span.is_recording():
            self.span.set_attributes(
                {
                    "tokens.input": input_tokens,
                    "tokens.output": output_tokens,
                    "cost.usd": round(cost_usd, 6),
                    "gen_ai.usage.input_tokens": input_tokens,
                    "gen_ai.usage.output_tokens": output_tokens,
                    "gen_ai.response.model": response_model or self.model,
                }
            )
        _child(METRICS.tokens, self.model, org, "input").inc(input_tokens)
        _child(METRICS.tokens, self.model, org, "output").inc(output_tokens)
        _child(METRICS.cost, workflow, org).inc(cost_usd)

    def failed(self, error: BaseException) -> None:
        """Mark the call failed without raising (a gateway that goes on to another model)."""
        self.span.set_attributes({"success": False, "error.type": type(error).__name__})
        self.span.set_status(StatusCode.ERROR, scrub(str(error), 500))

    def content(self, *, prompt: str | None = None, completion: str | None = None) -> None:
        """Put the prompt and the completion on the span, scrubbed, only if KEEL_TRACE_CONTENT is on."""
        scope = obs_context.current()
        if scope is None or not scope.capture_content:
            return
        if prompt is not None:
            self.span.set_attribute("gen_ai.prompt", scrub(prompt))
        if completion is not None:
            self.span.set_attribute("gen_ai.completion", scrub(completion))


class _LlmCallScope(_SpanScope):
    __slots__ = ("_model", "_system")

    def __init__(self, model: str, system: str, attributes: dict[str, Any]) -> None:
        super().__init__("llm.call", attributes)
        self._model = model
        self._system = system

    def __enter__(self) -> LlmCall:  # type: ignore[override]  # the span, wrapped for usage()
        return LlmCall(super().__enter__(), self._model, self._system)


def llm_call(model: str, *, system: str, operation: str = "chat", **attributes: Any) -> _LlmCallScope:
    """Trace one model call: `with llm_call("gpt-4o", system="openai") as call: ...; call.usage(...)`."""
    attrs = {
        "model.name": model,
        "gen_ai.system": system,
        "gen_ai.operation.name": operation,
        "gen_ai.request.model": model,
        **attributes,
    }
    return _LlmCallScope(model, system, attrs)


@contextmanager
def tool_call(tool: str, **attributes: Any) -> Iterator[Span]:
    """Trace one tool call and record its duration and errors as metrics."""
    t0 = time.perf_counter()
    try:
        with span("tool.call", **{"tool.name": tool, **attributes}) as current:
            yield current
    except BaseException as exc:
        METRICS.tool_errors.labels(tool, type(exc).__name__).inc()
        raise
    finally:
        METRICS.tool_duration.labels(tool).observe(time.perf_counter() - t0)
