"""Observability: engine metrics now; traces, structured logs and alert rules come with their issue."""

from keel.observe.metrics import METRICS

__all__ = ["METRICS"]
