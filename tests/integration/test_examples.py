"""The examples run as the README says, from a copy of their folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def keel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keel.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_triage_falls_back_to_its_second_model_and_the_trace_shows_it(tmp_path: Path) -> None:
    folder = tmp_path / "triage"
    shutil.copytree(EXAMPLES / "triage", folder, ignore=shutil.ignore_patterns(".keel"))
    run = keel("run", "triage.py:triage", "--input", '{"ticket": "I was charged twice"}', "--json", cwd=folder)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["status"] == "succeeded"
    assert out["result"]["queue"] == "urgent-billing-queue"
    assert out["result"]["model"] == "small-2024-10-22"
    assert out["result"]["cost_usd"] == (412 * 0.8 + 18 * 4.0) / 1e6

    trace = keel("trace", out["run_id"], "--json", cwd=folder)
    assert trace.returncode == 0, trace.stderr
    tree = json.loads(trace.stdout)
    (step,) = [c for c in tree["root"]["children"] if c["name"] == "step llm:triage"]
    calls = [(c["name"], c["status"]) for c in step["children"]]
    assert calls == [("llm.call", "error"), ("llm.call", "ok")]


def test_the_tools_example_reaches_its_allowlisted_host_and_nothing_else(tmp_path: Path) -> None:
    from needs import unavailable

    from keel.tools import Sandbox

    if Sandbox.isolation() is None:
        unavailable(f"no sandbox here: {Sandbox.unavailable_reason()}")
    run = keel(
        "run", str(EXAMPLES / "tools" / "orders.py") + ":probe", "--input", '{"order_id": "A1"}', "--json", cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)["result"]
    assert out["allowed"] == {"status": 200, "body": {"order": "A1", "status": "shipped"}}
    assert out["not on the list"]["status"] == 403 and "allowlist" in out["not on the list"]["refused"]
    assert out["cloud metadata"]["status"] == 403
    assert out["skipping the proxy"].startswith(("ConnectionRefusedError", "OSError"))
