"""Keel's own engine metrics (prometheus_client, default registry; served by `keel worker`)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Histogram


@dataclass(frozen=True)
class _EngineMetrics:
    steps: Counter
    retries: Counter
    dead_letters: Counter
    lease_takeovers: Counter
    payload_bytes: Histogram
    runs_finished: Counter


METRICS = _EngineMetrics(
    steps=Counter("keel_steps_total", "Steps executed to completion", ["workflow", "kind"]),
    retries=Counter("keel_step_retries_total", "Failed step attempts that were retried", ["workflow", "step"]),
    dead_letters=Counter("keel_dead_letters_total", "Runs parked in the dead-letter queue", ["workflow"]),
    lease_takeovers=Counter("keel_lease_takeovers_total", "Runs taken over after another worker's lease lapsed"),
    payload_bytes=Histogram(
        "keel_step_payload_bytes",
        "Size of journaled step results",
        buckets=(256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216),
    ),
    runs_finished=Counter("keel_runs_finished_total", "Runs that reached a final state", ["workflow", "status"]),
)
