"""A real Prometheus scraping a real `keel worker`: every dashboard query returns data, the rules load.

The worker runs a small agent workload in two waves. The first creates every labelled series;
the second, once Prometheus has scraped the first, makes them grow, so that every rate() and
histogram_quantile() on the dashboard has an increase to work on (a series that appears with
its first value already counted shows no increase at all).

/usr/bin/prometheus missing: the test FAILS under CI=true and skips loudly elsewhere.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from needs import unavailable

from keel.observe.assets import dashboard_json, rules_yaml

# A hang guard only: every wait ends as soon as its condition holds.
HANG_GUARD_S = 120.0
# What the dashboard's template variables stand for here: every workflow and org, and a window
# that holds both waves at a 1 s scrape interval.
TEMPLATE_VALUES = {"workflow": ".*", "org": ".*", "__rate_interval": "1m", "datasource": "prometheus"}

WORKLOAD = textwrap.dedent(
    '''
    """An agent workload for the Prometheus test: model calls, a flaky tool, PII scans, failures."""
    import pathlib
    import sys
    import time

    from keel import App, Context, RetryPolicy
    from keel.observe.metrics import pii_detected, pii_scanned, set_run_budget
    from keel.observe.tracing import llm_call, tool_call

    app = App("observed")
    HERE = pathlib.Path(__file__).parent


    @app.step()
    def plan(task: str) -> str:
        set_run_budget("agent", 0.05)
        with llm_call("test-model", system="test") as call:
            call.usage(input_tokens=120, output_tokens=30, cost_usd=0.0125)
        pii_scanned(2)
        if "@" in task:
            pii_detected("email")
        return f"plan for {task}"


    @app.step(retry=RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.05))
    def search(task: str, *, idempotency_key: str) -> str:
        # Times out on the first attempt of every run, then succeeds.
        marker = HERE / ("tried-" + idempotency_key.replace(":", "-"))
        with tool_call("search"):
            if not marker.exists():
                marker.touch()
                raise TimeoutError("search backend timed out")
        return f"results for {task}"


    @app.step(retry=RetryPolicy(max_attempts=1))
    def publish(task: str) -> str:
        raise PermissionError(f"publishing {task} is not allowed")


    @app.step()
    def report(run_id: str, queue_depth: int) -> None:
        # Real pending reviews: every worker sets the gauge from the database's count.
        for i in range(queue_depth):
            app.store.review_request(
                review_id=f"{run_id}:probe{i}", run_id=run_id, step=1000 + i, action="tool:probe",
                risk_score=75, policy_version=None, kind="review", details={}, now=time.time(),
            )


    @app.workflow()
    async def agent(ctx: Context, task: str, outcome: str = "ok") -> str:
        await ctx.run(plan, task)
        found = await ctx.run(search, task)
        if outcome == "fail":  # the run ends failed
            raise ValueError(f"cannot act on {found}")
        if outcome == "park":  # the run is parked in the dead-letter queue
            await ctx.run(publish, task)
        return found


    @app.workflow()
    async def operator(ctx: Context, queue_depth: int) -> None:
        await ctx.run(report, ctx.run_id, queue_depth)


    if __name__ == "__main__":
        # python THIS_FILE WAVE: enqueue one wave of runs for the worker.
        wave = sys.argv[1]
        app.start(agent, f"summarise inbox {wave}", org_id="acme")
        app.start(agent, f"reply to ada@example.com {wave}", org_id="globex")
        app.start(agent, f"book travel {wave}", outcome="fail", org_id="acme")
        app.start(agent, f"publish report {wave}", outcome="park", org_id="acme")
        if wave == "2":
            app.start(operator, 3)
        app.close()
    '''
)
# Runs ended (finished or dead-lettered) once each wave is done.
RUNS_AFTER_WAVE = {"1": 4, "2": 9}


def require_prometheus() -> str:
    """/usr/bin/prometheus (or one on PATH), or fail (CI) / skip loudly (elsewhere)."""
    path = shutil.which("prometheus") or shutil.which("prometheus", path="/usr/bin")
    if path is None:
        unavailable("`prometheus` is not installed (Debian: apt-get install prometheus; `make test` does it as root)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, probe: Callable[[], Any], explain: Callable[[], str] = lambda: "") -> Any:
    """Poll `probe` until it returns something truthy; fail with `what` (and `explain()`) after the guard.

    `probe` may call pytest.fail itself to give up early.
    """
    deadline = time.monotonic() + HANG_GUARD_S
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what} (last: {last!r})\n{explain()}", pytrace=False)


class Prometheus:
    def __init__(self, port: int) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str, **params: str) -> dict[str, Any]:
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}" if params else self.base + path
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:  # 400 for a bad query: its JSON says why
            body = exc.read()
        result: dict[str, Any] = json.loads(body)
        return result

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.base + "/-/ready", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = self.get("/api/v1/query", query=expr)
        assert answer.get("status") == "success", f"{expr}\n{answer}"
        samples: list[dict[str, Any]] = answer["data"]["result"]
        return samples

    def value(self, expr: str) -> float | None:
        samples = self.query(expr)
        return float(samples[0]["value"][1]) if samples else None


def substitute(expr: str) -> str:
    """A panel's query as Grafana would send it with "All" selected."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in TEMPLATE_VALUES, f"the dashboard uses an unknown template variable ${name} in {expr}"
        return TEMPLATE_VALUES[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, expr)


def dashboard_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(dashboard_json())
    queries = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            queries.append((f"{panel['title']} [{target['refId']}]", substitute(target["expr"])))
    return queries


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"({path.name}: nothing)"
    return f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class Stack:
    """The worker and Prometheus processes, their logs, and waits that give up when one of them dies."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.db = tmp_path / "keel.db"
        self.app_file = tmp_path / "observed.py"
        self.env = {
            **os.environ,
            "KEEL_DATABASE_URL": f"sqlite:///{self.db}",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
            "NO_COLOR": "1",
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.prom = Prometheus(free_port())

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        with (self.dir / f"{name}.log").open("wb") as out:
            self.procs[name] = subprocess.Popen(argv, cwd=self.dir, env=env, stdout=out, stderr=subprocess.STDOUT)

    def explain(self) -> str:
        return "\n".join(tail(self.dir / f"{name}.log") for name in self.procs)

    def wait(self, what: str, probe: Callable[[], Any]) -> Any:
        def checked() -> Any:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    pytest.fail(f"{name} exited {proc.returncode} before {what}\n{self.explain()}", pytrace=False)
            return probe()

        return wait_for(what, checked, self.explain)

    def stop(self) -> None:
        for proc in reversed(self.procs.values()):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """A `keel worker` serving metrics, and a Prometheus scraping it with the shipped rules."""
    prometheus_bin = require_prometheus()
    stack = Stack(tmp_path)
    stack.app_file.write_text(WORKLOAD)
    metrics_port = free_port()
    (tmp_path / "rules.yml").write_text(rules_yaml())
    (tmp_path / "prometheus.yml").write_text(
        textwrap.dedent(
            f"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files: [rules.yml]
            scrape_configs:
              - job_name: keel
                static_configs:
                  - targets: ["127.0.0.1:{metrics_port}"]
            """
        )
    )
    try:
        stack.spawn(
            "worker",
            [sys.executable, "-m", "keel.cli", "worker", str(stack.app_file), "--metrics-port", str(metrics_port)],
            stack.env,
        )
        stack.spawn(
            "prometheus",
            [
                prometheus_bin,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{stack.prom.port}",
                "--log.level=warn",
            ],
        )
        stack.wait("Prometheus to be ready", stack.prom.ready)
        yield stack
    finally:
        stack.stop()


def run_counts(db: Path) -> dict[str, int]:
    if not db.exists():
        return {}
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM keel_runs GROUP BY status").fetchall())


def run_wave(stack: Stack, wave: str) -> None:
    """Enqueue a wave of runs and wait until the worker has finished them and Prometheus has seen it."""
    enqueue = subprocess.run(
        [sys.executable, str(stack.app_file), wave],
        cwd=stack.dir,
        # Not the worker's metrics directory: this process only inserts runs.
        env={k: v for k, v in stack.env.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert enqueue.returncode == 0, f"enqueueing wave {wave} failed\n{enqueue.stdout}\n{enqueue.stderr}"
    total = RUNS_AFTER_WAVE[wave]

    def all_done() -> dict[str, int] | None:
        counts = run_counts(stack.db)
        return counts if sum(counts.get(s, 0) for s in ("succeeded", "failed", "dead_letter")) == total else None

    counts = stack.wait(f"the runs of wave {wave} to finish", all_done)
    # A dead-lettered run has not finished (it can be resumed): it is not in the run histograms.
    finished = total - counts.get("dead_letter", 0)
    stack.wait(
        f"Prometheus to scrape the runs of wave {wave} ({finished} finished)",
        lambda: stack.prom.value("sum(agent_run_duration_seconds_count)") == finished,
    )


def test_dashboard_queries_return_data_from_a_real_worker(stack: Stack) -> None:
    prom = stack.prom

    def target_up() -> bool:
        targets = prom.get("/api/v1/targets")["data"]["activeTargets"]
        return bool(targets) and all(t["health"] == "up" for t in targets)

    stack.wait("the worker's metrics endpoint to be scraped", target_up)
    run_wave(stack, "1")
    run_wave(stack, "2")
    assert run_counts(stack.db) == {"succeeded": 5, "failed": 2, "dead_letter": 2}
    # The gauge follows the kill switch's row, which the worker reads at every claim poll.
    engage = subprocess.run(
        [sys.executable, "-m", "keel.cli", "kill-switch", "engage", "--reason", "dashboard test", "--by", "tester"],
        cwd=stack.dir,
        env={k: v for k, v in stack.env.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert engage.returncode == 0, engage.stderr
    stack.wait("the kill switch gauge to be scraped", lambda: prom.value("max(agent_kill_switch_active)") == 1)
    # The worker reads the review queue's depth from the database every few seconds.
    stack.wait("the review queue gauge to be scraped", lambda: prom.value("max(agent_human_review_queue_depth)") == 3)

    empty = []
    for title, expr in dashboard_queries():
        samples = prom.query(expr)
        if not samples:
            empty.append(f"{title}: {expr}")
            continue
        values = [float(s["value"][1]) for s in samples]
        assert any(not math.isnan(v) for v in values), f"{title}: only NaN from {expr}: {samples}"
    assert not empty, "dashboard queries without data:\n" + "\n".join(empty)

    # What the workload did, as Prometheus sees it.
    def by(expr: str, label: str) -> dict[str, float]:
        return {s["metric"].get(label, ""): float(s["value"][1]) for s in prom.query(expr)}

    assert by("sum by (success) (agent_run_duration_seconds_count)", "success") == {"true": 5, "false": 2}
    assert by("sum by (org) (agent_tokens_total)", "org") == {"acme": 6 * 150, "globex": 2 * 150}
    assert by("sum by (error_type) (agent_tool_errors_total{tool='search'})", "error_type") == {"TimeoutError": 8}
    assert by("sum by (step) (keel_step_retries_total{workflow='agent'})", "step") == {"search": 8}
    assert by("sum by (type) (agent_pii_detections_total)", "type") == {"email": 2}
    assert prom.value("sum(agent_pii_scans_total)") == 16
    assert prom.value("max(keel_dead_letter_depth)") == 2
    assert prom.value("max(agent_human_review_queue_depth)") == 3
    assert prom.value("max(agent_kill_switch_active)") == 1

    # The shipped rules are loaded and evaluate without error.
    def rules_healthy() -> list[dict[str, Any]] | None:
        groups = prom.get("/api/v1/rules")["data"]["groups"]
        assert [g["name"] for g in groups] == ["keel"], groups
        rules = [rule for group in groups for rule in group["rules"]]
        return rules if rules and all(rule["health"] == "ok" for rule in rules) else None

    rules = stack.wait("every rule to evaluate with health ok", rules_healthy)
    assert {r["name"] for r in rules if r["type"] == "alerting"} == {
        "KeelRunDurationP99High",
        "KeelRunErrorRateHigh",
        "KeelRunCostOverBudget",
        "KeelPIIDetectionSpike",
        "KeelReviewQueueBacklog",
        "KeelKillSwitchActive",
    }

    # The workload turned the kill switch on: its alert fires at once, having no `for`.
    def kill_switch_alert() -> list[dict[str, Any]]:
        alerts = prom.get("/api/v1/alerts")["data"]["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == "KeelKillSwitchActive" and a["state"] == "firing"]

    firing = stack.wait("KeelKillSwitchActive to fire", kill_switch_alert)
    assert firing[0]["labels"]["severity"] == "critical"
