"""Observability: one trace per run, JSON logs, Prometheus metrics, alert rules and a dashboard.

What the other layers call, each one line:

    with llm_call("gpt-4o", system="openai") as call: ...; call.usage(input_tokens=..., ...)
    with tool_call("search"): ...
    with span("guard.scan", detector="pii"): ...
    pii_detected("EMAIL"); pii_scanned(); set_review_queue_depth(n); set_kill_switch(True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from keel.types import lazy_exports as _lazy_exports

if TYPE_CHECKING:
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


# Resolved on first use (PEP 562): a module that needs only the run context or the redactor must not
# import the OpenTelemetry SDK, structlog and prometheus_client with it.
_LAZY = {
    "METRICS": "keel.observe.metrics",
    "LlmCall": "keel.observe.tracing",
    "RunScope": "keel.observe.context",
    "Tracing": "keel.observe.tracing",
    "Usage": "keel.observe.context",
    "configure_logging": "keel.observe.logging",
    "current": "keel.observe.context",
    "current_run_id": "keel.observe.context",
    "llm_call": "keel.observe.tracing",
    "pii_detected": "keel.observe.metrics",
    "pii_scanned": "keel.observe.metrics",
    "scrub": "keel.observe.redact",
    "set_kill_switch": "keel.observe.metrics",
    "set_redactor": "keel.observe.redact",
    "set_review_queue_depth": "keel.observe.metrics",
    "set_run_budget": "keel.observe.metrics",
    "span": "keel.observe.tracing",
    "tool_call": "keel.observe.tracing",
}


__getattr__, __dir__ = _lazy_exports("keel.observe", _LAZY, globals())
