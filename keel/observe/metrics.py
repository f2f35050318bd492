"""Prometheus metrics: Keel's engine counters and the agent metrics the alert rules read.

prometheus_client decides where a metric keeps its values (in the process, or in a memory-mapped
file shared with other processes) when the metric is created. So nothing is created at import:
`METRICS` builds every metric on first use, and a `keel worker` serving metrics first calls
`use_multiprocess_dir`. Then every worker on the host that uses the same directory serves the
sum over all of them from the same port (`serve`), whichever worker the kernel hands a scrape to.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    make_wsgi_app,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from keel.errors import ConfigError, UsageError

log = logging.getLogger("keel.observe.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
NO_ORG = "none"  # the org label of runs started without an org_id

_RUN_SECONDS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800)
_COST_USD_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100)
_TOOL_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


def _create() -> dict[str, Any]:
    return dict(
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
        run_duration=Histogram(
            "agent_run_duration_seconds",
            "Wall time from a run's start to its final state",
            ["workflow", "org", "success"],
            buckets=_RUN_SECONDS_BUCKETS,
        ),
        run_cost=Histogram(
            "agent_run_cost_usd", "Model cost of each finished run", ["workflow", "org"], buckets=_COST_USD_BUCKETS
        ),
        # Gauges in multiprocess mode: "live*" drops a process's value once it exits, so a dead
        # worker cannot hold a value up. The budget and the review queue are readings of shared
        # state, so the latest reading wins; the kill switch takes the max, so it reads active
        # while any live worker still sees it on.
        run_budget=Gauge("agent_run_budget_usd", "Budget per run", ["workflow"], multiprocess_mode="livemostrecent"),
        tokens=Counter("agent_tokens_total", "Model tokens", ["model", "org", "direction"]),
        cost=Counter("agent_cost_usd_total", "Model cost", ["workflow", "org"]),
        tool_duration=Histogram(
            "agent_tool_duration_seconds", "Duration of tool calls", ["tool"], buckets=_TOOL_SECONDS_BUCKETS
        ),
        tool_errors=Counter("agent_tool_errors_total", "Tool calls that failed", ["tool", "error_type"]),
        review_queue_depth=Gauge(
            "agent_human_review_queue_depth", "Items waiting for human review", multiprocess_mode="livemostrecent"
        ),
        kill_switch_active=Gauge(
            "agent_kill_switch_active", "1 while the kill switch is engaged", multiprocess_mode="livemax"
        ),
        pii_detections=Counter("agent_pii_detections_total", "PII entities detected", ["type"]),
        pii_scans=Counter("agent_pii_scans_total", "Texts scanned for PII"),
        injection_detections=Counter(
            "agent_injection_detections_total",
            "Texts the injection detector flagged or blocked, by where they came from",
            ["source", "decision"],
        ),
        injection_scans=Counter("agent_injection_scans_total", "Texts scanned for prompt injection", ["source"]),
        budget_alerts=Counter(
            "agent_budget_alerts_total",
            "Budget alert thresholds crossed (once per budget period)",
            ["level", "percent"],
        ),
        budget_refusals=Counter("agent_budget_refusals_total", "Model calls refused by a budget", ["level"]),
    )


class _Metrics:
    """Every metric Keel exports, created on first attribute access (see the module docstring)."""

    steps: Counter
    retries: Counter
    dead_letters: Counter
    lease_takeovers: Counter
    payload_bytes: Histogram
    runs_finished: Counter
    run_duration: Histogram
    run_cost: Histogram
    run_budget: Gauge
    tokens: Counter
    cost: Counter
    tool_duration: Histogram
    tool_errors: Counter
    review_queue_depth: Gauge
    kill_switch_active: Gauge
    pii_detections: Counter
    pii_scans: Counter
    injection_detections: Counter
    injection_scans: Counter
    budget_alerts: Counter
    budget_refusals: Counter

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built = False

    @property
    def built(self) -> bool:
        return self._built

    def __getattr__(self, name: str) -> Any:
        # Reached only while the attribute is missing, i.e. before the metrics exist; once built
        # they are plain instance attributes, so the engine's hot path pays nothing for laziness.
        if name not in _Metrics.__annotations__:
            raise AttributeError(name)
        with self._lock:
            self._build_locked()
        return self.__dict__[name]

    def _build_locked(self) -> None:
        if not self._built:
            self.__dict__.update(_create())
            self._built = True


METRICS = _Metrics()

_multiprocess_dir: Path | None = None


def org_label(org_id: str | None) -> str:
    return org_id or NO_ORG


def pii_detected(entity_type: str, count: int = 1) -> None:
    METRICS.pii_detections.labels(entity_type).inc(count)


def pii_scanned(count: int = 1) -> None:
    METRICS.pii_scans.inc(count)


def injection_scanned(source: str, decision: str) -> None:
    """One text scanned for injection from `source` (user, tool, model); `decision` allow, flag or block."""
    METRICS.injection_scans.labels(source).inc()
    if decision != "allow":
        METRICS.injection_detections.labels(source, decision).inc()


def set_review_queue_depth(n: int) -> None:
    METRICS.review_queue_depth.set(n)


def set_kill_switch(active: bool) -> None:
    METRICS.kill_switch_active.set(1 if active else 0)


def set_run_budget(workflow: str, usd: float) -> None:
    METRICS.run_budget.labels(workflow).set(usd)


# -- several processes, one port ------------------------------------------------------------------


def default_multiprocess_dir(port: int) -> Path:
    """PROMETHEUS_MULTIPROC_DIR if set, else one directory per metrics port in the system temp dir."""
    configured = os.environ.get(MULTIPROC_ENV)
    return Path(configured) if configured else Path(tempfile.gettempdir()) / f"keel-metrics-{port}"


def use_multiprocess_dir(path: str | os.PathLike[str]) -> Path:
    """Keep every metric's values in files under `path`, summed with those of other processes there."""
    global _multiprocess_dir
    directory = Path(path).absolute()
    with METRICS._lock:
        if METRICS.built and directory == _multiprocess_dir:
            return directory
        if METRICS.built:
            raise UsageError(
                "use_multiprocess_dir() must be called before any metric is used: "
                "metrics created already keep their values in this process only"
            )
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot use {directory} for metrics: {exc.strerror or exc}") from None
        # The default directory is in the shared temp dir, under a name anyone can guess: one
        # created by another user could feed this process's endpoint made-up samples.
        if hasattr(os, "getuid") and directory.stat().st_uid != os.getuid():
            raise ConfigError(f"metrics directory {directory} belongs to another user; set {MULTIPROC_ENV}")
        _remove_stale_files(directory)
        # MmapedValue reads the variable when it opens its file, so it has to be set, not only passed.
        os.environ[MULTIPROC_ENV] = str(directory)
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
        atexit.register(_on_exit, os.getpid())
        _multiprocess_dir = directory
        # Created now rather than on first use, so this process has files in the directory from
        # the start: that is how a worker starting later sees it is alive (`_remove_stale_files`).
        METRICS._build_locked()
    return directory


def multiprocess_dir() -> Path | None:
    """The directory metric values are shared through, or None when they live in this process only."""
    if _multiprocess_dir is not None:
        return _multiprocess_dir
    configured = os.environ.get(MULTIPROC_ENV)
    if configured and getattr(values.ValueClass, "_multiprocess", False):
        return Path(configured)
    return None


def _on_exit(pid: int) -> None:
    if _multiprocess_dir is not None and os.getpid() == pid:  # not in a forked child
        multiprocess.mark_process_dead(pid, str(_multiprocess_dir))  # type: ignore[no-untyped-call]


def _pid_of(file: Path) -> int | None:
    # prometheus_client names its files <type>[_<gauge mode>]_<pid>.db
    tail = file.stem.rpartition("_")[2]
    return int(tail) if tail.isdigit() else None


def _alive(pid: int) -> bool:
    if sys.platform == "win32":
        return True  # os.kill would terminate it there; never clean up rather than guess
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is just not ours to signal
    return True


def _remove_stale_files(directory: Path) -> None:
    """Remove the files of dead processes, unless a live process still counts on them.

    While one worker is alive, the files of workers that died stay: their counts are part of the
    totals that worker serves, and dropping them would make counters go backwards. Once every
    process is gone, the next one starts from zero, which Prometheus reads as a counter reset.
    """
    me = os.getpid()
    owned = [(file, _pid_of(file)) for file in directory.glob("*.db")]
    if any(pid is not None and pid != me and _alive(pid) for _, pid in owned):
        return
    for file, pid in owned:
        if pid is not None:
            file.unlink(missing_ok=True)


class _Aggregate:
    """The sum over every process writing to a multiprocess directory."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._collector = multiprocess.MultiProcessCollector(None, str(directory))  # type: ignore[no-untyped-call]

    def collect(self) -> Iterable[Metric]:
        # A SIGKILLed worker never marks itself dead; do it here so its live gauges drop out.
        for file in self._directory.glob("gauge_live*_*.db"):
            pid = _pid_of(file)
            if pid is not None and not _alive(pid):
                multiprocess.mark_process_dead(pid, str(self._directory))  # type: ignore[no-untyped-call]
        return self._collector.collect()  # type: ignore[no-untyped-call,no-any-return]


class _Default:
    """What this process alone has: the default registry."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


# -- database readings ----------------------------------------------------------------------------


class QueueCollector:
    """Queue and dead-letter depth, read from the database at each scrape through `stats`.

    `stats` returns {"queued": …, "waiting": …, "dead_letter": …}, e.g. `Store.queue_stats`.
    """

    _FAMILIES = (
        ("keel_queue_depth", "queued", "Runs claimable by a worker now"),
        ("keel_runs_waiting", "waiting", "Runs waiting for a timer, a signal or an operator"),
        ("keel_dead_letter_depth", "dead_letter", "Runs parked in the dead-letter queue"),
    )

    def __init__(self, stats: Callable[[], Mapping[str, int]]) -> None:
        self._stats = stats

    def describe(self) -> list[Metric]:
        return [GaugeMetricFamily(name, doc) for name, _, doc in self._FAMILIES]

    def collect(self) -> list[Metric]:
        try:
            stats = self._stats()
            readings = [(name, doc, float(stats[key])) for name, key, doc in self._FAMILIES]
        except Exception as exc:  # noqa: BLE001 - a database outage must not take the engine metrics with it
            log.warning("queue depth left out of this scrape: %s: %s", type(exc).__name__, exc)
            return []
        return [GaugeMetricFamily(name, doc, value=value) for name, doc, value in readings]


# -- the endpoint ---------------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """A scrape every few seconds is not worth a log line."""


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in progress must not keep the process alive
    # Every worker of the host binds the same port; the kernel spreads connections over them and
    # each serves the same aggregate, so the port stays served while any one of them lives.
    allow_reuse_port = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class MetricsServer:
    """A metrics endpoint answered from a daemon thread; `close()` stops it."""

    def __init__(self, httpd: WSGIServer) -> None:
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="keel-metrics", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


def serve(port: int, *, addr: str = "0.0.0.0", collectors: Sequence[Collector] = ()) -> MetricsServer:
    """Serve /metrics on `port`: the multiprocess aggregate if one is in use, else this process's.

    Raises OSError when the port cannot be bound (taken by a process that did not set SO_REUSEPORT).
    """
    registry = CollectorRegistry()
    directory = multiprocess_dir()
    registry.register(_Aggregate(directory) if directory is not None else _Default())
    for collector in collectors:
        registry.register(collector)
    family = socket.getaddrinfo(addr, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    server_class = _Server6 if family == socket.AF_INET6 else _Server
    httpd = make_server(addr, port, make_wsgi_app(registry), server_class, handler_class=_QuietHandler)
    return MetricsServer(httpd)
