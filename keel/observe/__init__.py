"""Observability: one trace per run, JSON logs, Prometheus metrics, alert rules and a dashboard.

What the other layers call, each one line:

    with llm_call("gpt-4o", system="openai") as call: ...; call.usage(input_tokens=..., ...)
    with tool_call("search"): ...
    with span("guard.scan", detector="pii"): ...
    pii_detected("EMAIL"); pii_scanned(); set_review_queue_depth(n); set_kill_switch(True)
"""

from keel.observe.context import RunScope, Usage, current, current_run_id
from keel.observe.logging import configure_logging
from keel.observe.metrics import (
    METRICS,
    pii_detected,
    pii_scanned,
    set_kill_switch,
    set_review_queue_depth,
    set_run_budget,
)
from keel.observe.redact import scrub, set_redactor
from keel.observe.tracing import LlmCall, Tracing, llm_call, span, tool_call

__all__ = [
    "METRICS",
    "LlmCall",
    "RunScope",
    "Tracing",
    "Usage",
    "configure_logging",
    "current",
    "current_run_id",
    "llm_call",
    "pii_detected",
    "pii_scanned",
    "scrub",
    "set_kill_switch",
    "set_redactor",
    "set_review_queue_depth",
    "set_run_budget",
    "span",
    "tool_call",
]
