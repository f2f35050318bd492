"""A run's trace survives its worker: SIGKILL mid-run, another worker resumes, one trace results."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from keel.store import open_store

pytestmark = pytest.mark.chaos

APP = textwrap.dedent(
    """
    import os, time
    from pathlib import Path
    import keel

    app = keel.App("trace-resume")
    GATE = Path(os.environ["GATE_DIR"])

    @app.step(name="one")
    def one() -> int:
        return 1

    @app.step(name="two")
    def two(x: int) -> int:
        (GATE / "two-started").touch()
        while not (GATE / "open").exists():  # the first worker is killed while waiting here
            time.sleep(0.02)
        return x + 1

    @app.step(name="three")
    def three(x: int) -> int:
        return x + 1

    @app.workflow()
    async def chain(ctx: keel.Context) -> int:
        return await ctx.run(three, await ctx.run(two, await ctx.run(one)))
    """
)


def _wait(what: str, check, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _worker(app_file: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "keel.cli", "worker", str(app_file), "--concurrency", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_trace_id_survives_sigkill_and_resume(db_url: str, tmp_path: Path) -> None:
    app_file = tmp_path / "trace_app.py"
    app_file.write_text(APP)
    env = {
        **os.environ,
        "KEEL_DATABASE_URL": db_url,
        "KEEL_LEASE_TTL_S": "1.0",
        "KEEL_POLL_INTERVAL_S": "0.05",
        "GATE_DIR": str(tmp_path),
    }
    store = open_store(db_url)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        enqueue = subprocess.run(
            [sys.executable, "-m", "keel.cli", "run", f"{app_file}:chain", "--enqueue"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert enqueue.returncode == 0, enqueue.stderr
        (run,) = store.list_runs()
        assert run.trace_id and run.span_id

        first = _worker(app_file, env)
        procs.append(first)
        # Kill the first worker only once its span of step one is stored and step two is running.
        _wait("step one's span", lambda: any(s.name == "step one" for s in store.spans_for_trace(run.trace_id)))
        _wait("step two to start", lambda: (tmp_path / "two-started").exists())
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        (tmp_path / "open").touch()

        second = _worker(app_file, env)
        procs.append(second)
        _wait("the run to succeed", lambda: store.get_run(run.run_id).status == "succeeded", timeout=120)
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0

        spans = store.spans_for_trace(run.trace_id)
        by_name = {s.name: s for s in spans}
        assert {"step one", "step two", "step three", "workflow.run"} <= set(by_name)
        assert all(s.trace_id == run.trace_id for s in spans)
        root = by_name["workflow.run"]
        assert root.span_id == run.span_id and root.parent_span_id is None
        for name in ("step one", "step two", "step three"):
            assert by_name[name].parent_span_id == run.span_id, name
        # Two workers, one trace: step one ran in the killed worker, the rest in its successor.
        killed, successor = by_name["step one"].attributes["worker.id"], by_name["step three"].attributes["worker.id"]
        assert killed != successor
        assert by_name["step two"].attributes["worker.id"] == successor
        assert f":{first.pid}:" in killed and f":{second.pid}:" in successor
        # The root span covers the whole run, from its creation to its end.
        assert root.start_ns <= min(s.start_ns for s in spans)
        assert root.end_ns >= max(s.end_ns for s in spans)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        store.close()
