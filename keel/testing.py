"""Keel's public test kit: a time-skipping clock and helpers for tests of workflows."""

from __future__ import annotations

import asyncio
from typing import Protocol

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from keel.errors import UsageError
from keel.observe.tracing import Tracing


class _Traced(Protocol):
    @property
    def tracing(self) -> Tracing | None: ...


class SkippingClock:
    """A clock whose sleeps return at once after advancing time (as Temporal's test server does).

    Lets a test observe every backoff and timer a workflow asks for without waiting for it.
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.now += seconds


def capture_spans(app: _Traced) -> InMemorySpanExporter:
    """Collect every span `app` emits from now on, in memory: `capture_spans(app).get_finished_spans()`."""
    tracing = app.tracing
    if tracing is None:
        raise UsageError("tracing is off for this app (KEEL_TRACING=false): there are no spans to capture")
    exporter = _Capture(tracing)
    tracing.add_processor(SimpleSpanProcessor(exporter))
    return exporter


class _Capture(InMemorySpanExporter):
    """Spans in memory; reading them first hands over the engine spans still queued for export."""

    def __init__(self, tracing: Tracing) -> None:
        super().__init__()
        self._tracing = tracing

    def get_finished_spans(self) -> tuple[ReadableSpan, ...]:
        self._tracing.flush()
        return super().get_finished_spans()


__all__ = ["SkippingClock", "capture_spans"]
