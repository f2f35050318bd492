"""Two `keel worker` processes on one --metrics-port: every scrape, whoever answers it, sees the
steps of both, and the port stays served when one of them exits.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

# A hang guard only: every wait below ends as soon as its condition holds.
HANG_GUARD_S = 120.0
RUNS = 6
STEPS_PER_RUN = 3
SCRAPES = 12

WORKFLOW = textwrap.dedent(
    """
    import os
    import pathlib
    import time

    from keel import App, Context
    from keel.observe.metrics import set_run_budget

    app = App("metrics")
    set_run_budget("crunch", 0.5)  # a metric used at import, before the worker serves
    PIDS = pathlib.Path(__file__).parent / "pids"


    @app.step()
    def gate(n: int) -> int:
        # Hold the first runs until both workers drive one, so that each of them executes steps.
        (PIDS / str(os.getpid())).touch()
        deadline = time.monotonic() + 120
        while len(list(PIDS.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        return n


    @app.step()
    def double(n: int) -> int:
        return 2 * n


    @app.workflow()
    async def crunch(ctx: Context, n: int) -> int:
        n = await ctx.run(gate, n)
        n = await ctx.run(double, n)
        return await ctx.run(double, n)
    """
)


def wait_for(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(port: int) -> dict[str, float]:
    """One scrape over a new connection: each sample name summed over its label sets."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as resp:
        text = resp.read().decode()
    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            sums[sample.name] = sums.get(sample.name, 0.0) + sample.value
    return sums


def succeeded(db_path: Path) -> int:
    with sqlite3.connect(db_path) as conn:
        return int(conn.execute("SELECT count(*) FROM keel_runs WHERE status = 'succeeded'").fetchone()[0])


def test_workers_sharing_a_metrics_port_serve_the_same_totals(tmp_path: Path) -> None:
    (tmp_path / "crunch.py").write_text(WORKFLOW)
    (tmp_path / "pids").mkdir()
    db_path = tmp_path / "keel.db"
    env = {**os.environ, "KEEL_DATABASE_URL": f"sqlite:///{db_path}", "NO_COLOR": "1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the default: one directory per port
    port = free_port()
    shared_dir = Path(tempfile.gettempdir()) / f"keel-metrics-{port}"
    existed = shared_dir.exists()

    enqueue = f"from crunch import app\nfor n in range({RUNS}):\n    app.start('crunch', n)\n"
    proc = subprocess.run(
        [sys.executable, "-c", enqueue], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S
    )
    assert proc.returncode == 0, proc.stderr

    argv = [sys.executable, "-m", "keel.cli", "worker", "crunch.py", "--concurrency", "1", "--metrics-port", str(port)]
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    with contextlib.ExitStack() as stack:
        workers = [
            subprocess.Popen(
                argv, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=stack.enter_context(log.open("w"))
            )
            for log in logs
        ]

    def log_text() -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()}" for log in logs)

    try:
        wait_for(lambda: succeeded(db_path) == RUNS or any(w.poll() is not None for w in workers), "the runs")
        assert [w.poll() for w in workers] == [None, None], f"a worker exited early\n{log_text()}"
        assert succeeded(db_path) == RUNS
        # Both passed the gate, so both served the port: a worker binds it before it claims runs.
        assert {int(p.name) for p in (tmp_path / "pids").iterdir()} == {w.pid for w in workers}
        assert {int(f.stem.rpartition("_")[2]) for f in shared_dir.glob("counter_*.db")} >= {w.pid for w in workers}

        for _ in range(SCRAPES):
            sums = scrape(port)
            assert sums["keel_steps_total"] == RUNS * STEPS_PER_RUN, sums
            assert sums["keel_runs_finished_total"] == RUNS
            assert sums["keel_queue_depth"] == 0
            assert sums["keel_dead_letter_depth"] == 0
            assert sums["agent_run_budget_usd"] == 0.5

        workers[0].send_signal(signal.SIGTERM)
        assert workers[0].wait(timeout=HANG_GUARD_S) == 0, log_text()
        for _ in range(SCRAPES):
            sums = scrape(port)
            assert sums["keel_steps_total"] == RUNS * STEPS_PER_RUN, sums
            assert sums["keel_runs_finished_total"] == RUNS
            assert sums["agent_run_budget_usd"] == 0.5

        workers[1].send_signal(signal.SIGTERM)
        assert workers[1].wait(timeout=HANG_GUARD_S) == 0, log_text()
        # Each marked itself dead on the way out: no live gauge is left behind, the counts are.
        assert not list(shared_dir.glob("gauge_live*.db"))
        assert list(shared_dir.glob("counter_*.db"))
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
        if not existed:
            shutil.rmtree(shared_dir, ignore_errors=True)
