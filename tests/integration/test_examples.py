"""The examples run as the README says, from a copy of their folder."""

from __future__ import annotations

import json
import shutil
import sqlite3
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


def test_the_guard_example_keeps_pii_from_the_model_and_reveals_it_to_the_subject_only(tmp_path: Path) -> None:
    folder = tmp_path / "guard"
    shutil.copytree(EXAMPLES / "guard", folder, ignore=shutil.ignore_patterns(".keel"))
    ticket = "Hi, Jane Doe here (jane.doe@example.com). My card 4111 1111 1111 1111 was charged twice."
    run = keel(
        "run", "support.py:reply", "--user", "jane", "--input", json.dumps({"ticket": ticket}), "--json", cwd=folder
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    reply = out["result"]["reply"]
    assert "{{PII_EMAIL_1}}" in reply and "jane.doe@example.com" not in reply
    assert out["result"]["guard"]["pii"] == {"CREDIT_CARD": 1, "EMAIL": 1, "PERSON": 1}
    # The journal holds the guarded answer only; the vault holds the values encrypted. (The run's
    # input is the caller's own data and is kept as given.)
    with sqlite3.connect(folder / ".keel" / "keel.db") as db:
        journal = json.dumps(db.execute("SELECT result, error FROM keel_steps").fetchall())
        vault = db.execute("SELECT ciphertext FROM keel_guard_vault").fetchall()
    assert "jane.doe@example.com" not in journal and "4111" not in journal and "Jane Doe" not in journal
    assert len(vault) == 3 and all(b"jane" not in bytes(row[0]) for row in vault)
    revealed = keel("runs", "reveal", out["run_id"], "--as", "jane", cwd=folder)
    assert revealed.returncode == 0, revealed.stderr
    assert "jane.doe@example.com" in json.loads(revealed.stdout)["reply"]
    refused = keel("runs", "reveal", out["run_id"], "--as", "mallory", cwd=folder)
    assert refused.returncode != 0 and "may not see" in refused.stderr
