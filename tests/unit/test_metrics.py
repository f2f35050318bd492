"""Metrics: the names and labels dashboards and alert rules read, the helpers, the queue collector,
the endpoint, and processes sharing one multiprocess directory.

The default registry is process-wide and other tests move its values, so checks compare a value
before and after.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Counter, generate_latest
from sqlalchemy import update

from keel.errors import UsageError
from keel.observe import metrics
from keel.observe.metrics import METRICS, QueueCollector
from keel.store import Store, open_store
from keel.store import schema as t

# attribute: (metric name as scraped, type, label names)
SPEC: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "steps": ("keel_steps_total", "counter", ("workflow", "kind")),
    "retries": ("keel_step_retries_total", "counter", ("workflow", "step")),
    "dead_letters": ("keel_dead_letters_total", "counter", ("workflow",)),
    "lease_takeovers": ("keel_lease_takeovers_total", "counter", ()),
    "payload_bytes": ("keel_step_payload_bytes", "histogram", ()),
    "runs_finished": ("keel_runs_finished_total", "counter", ("workflow", "status")),
    "run_duration": ("agent_run_duration_seconds", "histogram", ("workflow", "org", "success")),
    "run_cost": ("agent_run_cost_usd", "histogram", ("workflow", "org")),
    "run_budget": ("agent_run_budget_usd", "gauge", ("workflow",)),
    "tokens": ("agent_tokens_total", "counter", ("model", "org", "direction")),
    "cost": ("agent_cost_usd_total", "counter", ("workflow", "org")),
    "tool_duration": ("agent_tool_duration_seconds", "histogram", ("tool",)),
    "tool_errors": ("agent_tool_errors_total", "counter", ("tool", "error_type")),
    "review_queue_depth": ("agent_human_review_queue_depth", "gauge", ()),
    "kill_switch_active": ("agent_kill_switch_active", "gauge", ()),
    "pii_detections": ("agent_pii_detections_total", "counter", ("type",)),
    "pii_scans": ("agent_pii_scans_total", "counter", ()),
    "injection_detections": ("agent_injection_detections_total", "counter", ("source", "decision")),
    "injection_scans": ("agent_injection_scans_total", "counter", ("source",)),
    "budget_alerts": ("agent_budget_alerts_total", "counter", ("level", "percent")),
    "budget_refusals": ("agent_budget_refusals_total", "counter", ("level",)),
}


def value(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def test_metrics_has_exactly_the_specified_attributes() -> None:
    assert set(type(METRICS).__annotations__) == set(SPEC)


@pytest.mark.parametrize("attr", SPEC)
def test_each_metric_has_its_exact_name_type_and_labels(attr: str) -> None:
    name, kind, labels = SPEC[attr]
    metric = getattr(METRICS, attr)
    (family,) = metric.describe()
    assert (family.name, family.type) == (name.removesuffix("_total") if kind == "counter" else name, kind)

    label_values = {label: f"test-{label}" for label in labels}
    child = metric.labels(**label_values) if labels else metric
    sample = name + "_count" if kind == "histogram" else name
    before = value(sample, label_values)
    if kind == "counter":
        child.inc(2)
    elif kind == "gauge":
        child.set(before + 2)
    else:
        child.observe(0.5)
    # get_sample_value matches the label set exactly, so this also pins the label names.
    assert value(sample, label_values) == before + (1 if kind == "histogram" else 2)
    with pytest.raises(ValueError):
        if labels:
            metric.labels(**label_values, extra="x")
        else:
            metric.labels("x")


@pytest.mark.parametrize(
    ("attr", "lowest", "highest_at_least"),
    [("run_duration", 0.05, 4 * 3600.0), ("run_cost", 0.001, 100.0), ("tool_duration", 0.005, 60.0)],
)
def test_histogram_buckets_span_the_documented_range(attr: str, lowest: float, highest_at_least: float) -> None:
    name, _, labels = SPEC[attr]
    label_values = {label: "bucket-test" for label in labels}
    getattr(METRICS, attr).labels(**label_values).observe(0)
    bounds = sorted(
        float(s.labels["le"])
        for family in REGISTRY.collect()
        if family.name == name
        for s in family.samples
        if s.name == name + "_bucket" and all(s.labels.get(k) == v for k, v in label_values.items())
    )
    finite = [b for b in bounds if b != float("inf")]
    assert finite[0] == lowest
    assert finite[-1] >= highest_at_least
    if attr == "run_cost":
        assert finite[-1] == 100.0


def test_helpers_move_their_metric() -> None:
    before = value("agent_pii_detections_total", {"type": "email_address"})
    metrics.pii_detected("email_address", 2)
    metrics.pii_detected("email_address")
    assert value("agent_pii_detections_total", {"type": "email_address"}) == before + 3

    before = value("agent_pii_scans_total")
    metrics.pii_scanned(5)
    metrics.pii_scanned()
    assert value("agent_pii_scans_total") == before + 6

    metrics.set_review_queue_depth(7)
    assert value("agent_human_review_queue_depth") == 7
    metrics.set_review_queue_depth(0)
    assert value("agent_human_review_queue_depth") == 0

    metrics.set_kill_switch(True)
    assert value("agent_kill_switch_active") == 1
    metrics.set_kill_switch(False)
    assert value("agent_kill_switch_active") == 0

    metrics.set_run_budget("budgeted", 0.25)
    assert value("agent_run_budget_usd", {"workflow": "budgeted"}) == 0.25

    assert metrics.org_label(None) == "none"
    assert metrics.org_label("acme") == "acme"


def test_use_multiprocess_dir_after_metrics_exist_is_refused(tmp_path: Path) -> None:
    METRICS.steps  # noqa: B018 - make sure the metrics exist
    env_before = os.environ.get(metrics.MULTIPROC_ENV)
    with pytest.raises(UsageError, match="before any metric is used"):
        metrics.use_multiprocess_dir(tmp_path / "shared")
    assert not (tmp_path / "shared").exists()
    assert os.environ.get(metrics.MULTIPROC_ENV) == env_before


def test_default_multiprocess_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(metrics.MULTIPROC_ENV, raising=False)
    assert metrics.default_multiprocess_dir(9464).name == "keel-metrics-9464"
    assert metrics.default_multiprocess_dir(9464) != metrics.default_multiprocess_dir(9465)
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(tmp_path))
    assert metrics.default_multiprocess_dir(9464) == tmp_path


# -- the queue collector ------------------------------------------------------------------------


def test_queue_collector_reads_the_stats_at_each_scrape() -> None:
    stats = {"queued": 3, "waiting": 2, "dead_letter": 1}
    registry = CollectorRegistry()
    registry.register(QueueCollector(lambda: stats))
    assert registry.get_sample_value("keel_queue_depth") == 3
    assert registry.get_sample_value("keel_runs_waiting") == 2
    assert registry.get_sample_value("keel_dead_letter_depth") == 1
    stats["queued"] = 9
    assert registry.get_sample_value("keel_queue_depth") == 9


def test_a_failing_stats_read_leaves_only_the_queue_out(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> dict[str, int]:
        raise RuntimeError("database is locked")

    registry = CollectorRegistry()
    registry.register(QueueCollector(broken))
    Counter("other_things_total", "Something else on the same endpoint", registry=registry).inc()
    with caplog.at_level("WARNING", logger="keel.observe.metrics"):
        text = generate_latest(registry).decode()
    assert "other_things_total 1.0" in text
    assert "keel_queue_depth" not in text
    assert "database is locked" in caplog.text


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = open_store(db_url)
    yield s
    s.close()


def test_queue_stats_counts_claimable_waiting_and_parked_runs(store: Store) -> None:
    now = 1_000_000.0

    def run(status: str | None = None, **fields: object) -> str:
        run_id, _ = store.create_run(
            run_id=str(uuid.uuid4()),
            workflow_name="wf",
            workflow_version="1",
            input_json="{}",
            idempotency_key=None,
            org_id=None,
            user_id=None,
            target=None,
            **fields,
        )
        if status is not None:
            store.write(lambda c: c.execute(update(t.runs).where(t.runs.c.run_id == run_id).values(status=status)))
        return run_id

    run(now=now - 5)  # pending and due: queued
    run(now=now - 100, lease_owner="gone", lease_ttl=30)  # lease lapsed: queued for a takeover
    run(now=now - 1, lease_owner="busy", lease_ttl=30)  # leased: in flight, neither
    run(now=now + 60)  # due later: waiting
    store.set_paused(run(now=now - 5), True, now=now)  # held by an operator: waiting
    run("dead_letter", now=now - 5)
    run("succeeded", now=now - 5)
    assert store.queue_stats(now) == {"queued": 2, "waiting": 2, "dead_letter": 1}


# -- the endpoint ---------------------------------------------------------------------------------


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as resp:
        return str(resp.read().decode())


def test_serve_answers_with_the_registry_and_the_extra_collectors() -> None:
    METRICS.steps.labels("served", "step").inc()
    server = metrics.serve(
        0, addr="127.0.0.1", collectors=[QueueCollector(lambda: {"queued": 4, "waiting": 0, "dead_letter": 0})]
    )
    try:
        text = scrape(server.port)
        assert 'keel_steps_total{kind="step",workflow="served"}' in text
        assert "keel_queue_depth 4.0" in text
    finally:
        server.close()
    with pytest.raises(urllib.error.URLError):
        scrape(server.port)


def test_serve_shares_its_port_with_other_servers_but_not_with_other_programs() -> None:
    first = metrics.serve(0, addr="127.0.0.1")
    try:
        second = metrics.serve(first.port, addr="127.0.0.1")
        second.close()
        assert "keel_steps_total" in scrape(first.port)
    finally:
        first.close()

    with socket.socket() as taken:  # bound without SO_REUSEPORT, as most programs do
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            metrics.serve(taken.getsockname()[1], addr="127.0.0.1")


# -- processes sharing a directory ----------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import os
    import sys
    from keel.observe import metrics

    metrics.use_multiprocess_dir(sys.argv[1])
    metrics.METRICS.steps.labels("wf", "step").inc(int(sys.argv[2]))
    metrics.set_kill_switch(True)
    print(os.getpid(), flush=True)
    if sys.argv[3] == "hold":
        sys.stdin.read()
    """
)


def writer_argv(directory: Path, steps: int, mode: str) -> list[str]:
    return [sys.executable, "-c", WRITER, str(directory), str(steps), mode]


def writer_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != metrics.MULTIPROC_ENV}


def write(directory: Path, steps: int) -> int:
    """Run a process that adds `steps` and exits; its pid."""
    proc = subprocess.run(
        writer_argv(directory, steps, "exit"), env=writer_env(), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout)


def totals(directory: Path) -> tuple[float, list[float]]:
    """keel_steps_total summed over processes, and the kill-switch samples, as a scrape sees them."""
    families = {f.name: f for f in metrics._Aggregate(directory).collect()}
    steps = sum(s.value for s in families["keel_steps"].samples if s.name == "keel_steps_total")
    switch = families.get("agent_kill_switch_active")
    return steps, [s.value for s in switch.samples] if switch else []


def test_processes_sharing_a_directory_are_summed_and_stale_files_go(tmp_path: Path) -> None:
    directory = tmp_path / "shared"
    argv = writer_argv(directory, 2, "hold")
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=writer_env(), text=True) as holder:
        try:
            assert holder.stdout is not None
            assert int(holder.stdout.readline()) == holder.pid
            short = write(directory, 3)
            # The holder was alive when `short` started, so nothing was cleaned up: the sum is both.
            assert totals(directory) == (5.0, [1.0])
            # `short` marked itself dead on exit: its live gauge left, its counts stayed.
            assert (directory / f"counter_{short}.db").exists()
            assert not list(directory.glob(f"gauge_live*_{short}.db"))
            assert (directory / f"gauge_livemax_{holder.pid}.db").exists()
        finally:
            holder.send_signal(signal.SIGKILL)
    # Killed, the holder could not mark itself dead; the next scrape does it for it.
    assert totals(directory) == (5.0, [])
    assert not list(directory.glob(f"gauge_live*_{holder.pid}.db"))

    # Nobody alive uses the directory any more: the next process starts from zero.
    last = write(directory, 4)
    assert totals(directory)[0] == 4.0
    assert {int(p.stem.rpartition("_")[2]) for p in directory.glob("*.db")} == {last}
