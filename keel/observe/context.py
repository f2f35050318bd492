"""What the code running right now belongs to: the run and step, for spans, logs and usage."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanContext, TraceFlags


@dataclass
class Usage:
    """Tokens and cost of model calls made inside one step, journaled with the step."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, input_tokens: int, output_tokens: int, cost_usd: float) -> None:
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.cost_usd += cost_usd


@dataclass
class RunScope:
    """The run a piece of code works for; set by the engine around each step it executes."""

    run_id: str
    workflow: str
    version: str
    org_id: str | None
    user_id: str | None
    tracer: Any = None  # the run's opentelemetry Tracer, or None when tracing is off
    clock: Any = None  # the engine's Clock: spans inside a run keep to its time
    capture_content: bool = False  # KEEL_TRACE_CONTENT: prompts and completions on spans, scrubbed
    step: str | None = None
    usage: Usage = field(default_factory=Usage)
    trace_id: int = 0  # the run's trace, and the running step's span: parents of spans made inside it
    step_span_id: int = 0

    def for_step(self, step: str, usage: Usage, span_id: int = 0) -> RunScope:
        """This scope for one step's code (dataclasses.replace costs several times more)."""
        scope = object.__new__(RunScope)
        scope.__dict__.update(self.__dict__)
        scope.step = step
        scope.usage = usage
        scope.step_span_id = span_id
        return scope

    def attributes(self) -> dict[str, Any]:
        """The span attributes every span of this run carries."""
        attrs: dict[str, Any] = {
            "workflow.name": self.workflow,
            "workflow.version": self.version,
            "run.id": self.run_id,
        }
        if self.org_id is not None:
            attrs["org.id"] = self.org_id
        if self.user_id is not None:
            attrs["user.id"] = self.user_id
        return attrs


_current: ContextVar[RunScope | None] = ContextVar("keel_run_scope", default=None)


def current() -> RunScope | None:
    """The run (and step) the calling code works for, or None outside any run."""
    return _current.get()


def active_span_context() -> SpanContext:
    """The span the calling code runs under: an open span, else the running step's, else the run's.

    The engine does not make each step's span current (that would cost every step, traced or
    not); it records the step's span id in the run scope instead, and it counts here.
    """
    current = trace.get_current_span()
    ctx = current.get_span_context()
    scope = _current.get()
    if scope is None or not scope.step_span_id or not scope.trace_id:
        return ctx
    if current.is_recording() and ctx.trace_id == scope.trace_id:
        return ctx  # a span opened inside the step
    return SpanContext(scope.trace_id, scope.step_span_id, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))


def current_run_id() -> str | None:
    scope = _current.get()
    return scope.run_id if scope is not None else None
