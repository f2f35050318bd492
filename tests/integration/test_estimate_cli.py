"""`keel estimate` and the confirm_above_usd gate of `keel run`, run as a user runs them.

A subprocess per call on a fresh SQLite file; the workflows call a scripted model provider
configured by a keel.toml in the working directory, so past runs have real journals.
"""

from __future__ import annotations

import json
import os
import pty
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

HANG_GUARD_S = 90.0

SUPPORT = textwrap.dedent(
    '''
    """Support triage through a scripted model; `costly` is gated by its estimated cost."""
    import keel

    app = keel.App("support")


    @app.step()
    def route(category: str) -> str:
        return f"{category}-queue"


    @app.workflow()
    async def triage(ctx: keel.Context, ticket: str) -> str:
        answer = await ctx.llm("triage", f"Classify: {ticket}", max_tokens=20)
        return await ctx.run(route, answer.text)


    def guess(ticket: str) -> keel.CostEstimate:
        usd = float(len(ticket))
        return keel.CostEstimate(
            calls=1, input_tokens=len(ticket), output_tokens=2, usd=usd, usd_low=usd / 2, usd_high=usd * 2
        )


    @app.workflow(estimate=guess, confirm_above_usd=10.0)
    async def costly(ctx: keel.Context, ticket: str) -> str:
        answer = await ctx.llm("triage", f"Classify: {ticket}", max_tokens=20)
        return await ctx.run(route, answer.text)


    @app.workflow(estimate=lambda ticket: {"usd": 1})
    async def garbage(ctx: keel.Context, ticket: str) -> str:
        return ticket
    '''
)

GATEWAY = """
[providers.offline]
kind = "scripted"
fixtures = "answers.json"

[models."small-2024-10-22"]
provider = "offline"
input_usd_per_mtok = 800.0
output_usd_per_mtok = 4000.0

[routes.triage]
primary = "small-2024-10-22"
"""

EXPENSIVE = json.dumps({"ticket": "I was charged twice"})  # 19 characters: ~$19.00 by the hook
CAUSE = "awaiting approval: estimated ~$19.00 ($9.50–$38.00) is above confirm_above_usd $10.00"


class Cli:
    """Runs `python -m keel.cli` in a directory against one SQLite file, never on a terminal."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.db_path = cwd / "keel.db"
        self.env = {**os.environ, "KEEL_DATABASE_URL": f"sqlite:///{self.db_path}", "NO_COLOR": "1"}
        for name in ("FORCE_COLOR", "KEEL_CONFIG"):
            self.env.pop(name, None)

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "keel.cli", *args]

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args),
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=HANG_GUARD_S,
        )

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = self(*args)
        assert proc.returncode == 0, f"keel {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json").stdout)

    def on_terminal(self, *args: str, answer: bytes) -> subprocess.CompletedProcess[str]:
        """Run with stdin on a pseudo-terminal, typing `answer`."""
        controller, terminal = pty.openpty()
        try:
            proc = subprocess.Popen(
                self.argv(*args),
                cwd=self.cwd,
                env=self.env,
                stdin=terminal,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            os.close(terminal)
            os.write(controller, answer)
            out, err = proc.communicate(timeout=HANG_GUARD_S)
        finally:
            os.close(controller)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db_path) as conn:
            return list(conn.execute(sql, params))

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        tables = [r[0] for r in self.rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'keel_%'")]
        return {t: sorted(self.rows(f"SELECT * FROM {t}"), key=repr) for t in tables}


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    (tmp_path / "support.py").write_text(SUPPORT)
    (tmp_path / "keel.toml").write_text(GATEWAY)
    (tmp_path / "answers.json").write_text('[{"text": "billing"}]')
    return Cli(tmp_path)


def test_nothing_to_estimate_from_exits_1_with_a_hint(cli: Cli) -> None:
    proc = cli("estimate", "support.py:triage", "--input", '{"ticket": "hello"}')
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith(
        "error: nothing to estimate triage v1 from: no estimate hook, and no succeeded runs of triage v1"
    )
    assert "keel run support.py:triage --input" in proc.stderr and "@app.workflow(estimate=fn)" in proc.stderr
    as_json = cli("estimate", "support.py:triage", "--input", '{"ticket": "hello"}', "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout) == {
        "workflow": "triage",
        "version": "1",
        "estimate": None,
        "reason": "no estimate hook, and no succeeded runs of triage v1 to learn from",
        "confirm_above_usd": None,
        "needs_approval": None,
    }


def test_estimate_from_past_runs_is_their_journals_median_and_changes_nothing(cli: Cli) -> None:
    # Tickets of one length: the estimate is not scaled, so it is exactly the past runs' median.
    for ticket in ("ticket-aaaa", "ticket-bbbbbbbb", "ticket-cccccc"):
        cli.ok("run", "support.py:triage", "--input", json.dumps({"ticket": ticket}))
    per_run = cli.rows(
        "SELECT run_id, SUM(tokens_input), SUM(tokens_output), SUM(cost_usd) FROM keel_steps GROUP BY run_id"
    )
    assert len(per_run) == 3
    before = cli.snapshot()

    out = cli.json("estimate", "support.py:triage", "--input", '{"ticket": "ticket-bbbbbbbb"}')
    est = out["estimate"]
    assert est["source"] == "history" and est["runs"] == 3 and est["calls"] == 1
    assert est["input_tokens"] == sorted(r[1] for r in per_run)[1]
    assert est["output_tokens"] == sorted(r[2] for r in per_run)[1]
    assert est["usd"] == pytest.approx(sorted(r[3] for r in per_run)[1])
    assert est["usd_low"] <= est["usd"] <= est["usd_high"]
    assert out["confirm_above_usd"] is None and out["needs_approval"] is None

    text = cli.ok("estimate", "support.py:triage", "-i", '{"ticket": "ticket-bbbbbbbb"}', "--runs", "2").stdout
    assert text.startswith("triage v1: ~$")
    assert "model calls    1" in text and "median of the 2 most recent succeeded runs of triage v1" in text
    assert cli.snapshot() == before  # an estimate reads; it never writes


def test_estimate_from_a_hook_with_the_gates_verdict(cli: Cli) -> None:
    out = cli.json("estimate", "support.py:costly", "--input", EXPENSIVE)
    assert out["estimate"] == {
        "calls": 1,
        "input_tokens": 19,
        "output_tokens": 2,
        "usd": 19.0,
        "usd_low": 9.5,
        "usd_high": 38.0,
        "source": "hook",
        "runs": 0,
        "detail": "",
    }
    assert (out["confirm_above_usd"], out["needs_approval"]) == (10.0, True)
    text = cli.ok("estimate", "support.py:costly", "--input", '{"ticket": "ok"}').stdout
    assert "the workflow's estimate hook" in text
    assert "confirm above  $10.00: a run with this input starts at once" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("support.py:triage", "--input", '{"ticket": '), "error: --input is not valid JSON"),
        (("support.py:triage", "--input", '{"ticket": 3}'), "error: input 'ticket' of triage"),
        (("support.py:triage", "--input", '"text"'), "error: --input must be a JSON object"),
        (("support.py:nope", "--input", "{}"), "error: no workflow 'nope' in support.py"),
        (
            ("support.py:garbage", "--input", '{"ticket": "x"}'),
            "error: the estimate hook of workflow 'garbage' (version 1) returned dict; it must return keel.CostEstimate",
        ),
    ],
)
def test_bad_calls_exit_2_with_one_line(cli: Cli, args: tuple[str, ...], message: str) -> None:
    proc = cli("estimate", *args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(message) and proc.stderr.count("\n") == 1


def test_without_a_terminal_the_run_waits_for_approval_exit_3(cli: Cli) -> None:
    waiting = cli("run", "support.py:costly", "--input", EXPENSIVE, "--json")
    assert waiting.returncode == 3, waiting.stderr
    out = json.loads(waiting.stdout)
    run_id = out["run_id"]
    assert (out["status"], out["awaiting_approval"]) == ("pending", CAUSE)
    assert out["approve_command"] == f"keel runs approve {run_id}"
    assert f"approve it: keel runs approve {run_id}" in waiting.stderr

    shown = cli.json("runs", "show", run_id)
    assert shown["paused"] and shown["awaiting_approval"] == CAUSE
    assert [t["cause"] for t in shown["transitions"]] == ["started", CAUSE]
    assert "`keel runs approve" in cli.ok("runs", "show", run_id[:8]).stdout

    refused = cli("runs", "unpause", run_id)
    assert refused.returncode == 1 and "awaiting cost approval" in refused.stderr

    done = cli.json("runs", "approve", run_id[:8], "--by", "alice", "--app", "support.py")
    assert (done["status"], done["result"]) == ("succeeded", "billing-queue")
    shown = cli.json("runs", "show", run_id)
    assert shown["awaiting_approval"] is None
    assert "cost approved by alice" in [t["cause"] for t in shown["transitions"]]

    again = cli("runs", "approve", run_id)
    assert again.returncode == 1 and "not awaiting cost approval" in again.stderr

    human = cli("run", "support.py:costly", "--input", EXPENSIVE)
    assert human.returncode == 3 and human.stdout == ""
    assert "is created but not started, " + CAUSE in human.stderr


def test_approve_without_app_leaves_the_run_to_a_worker(cli: Cli) -> None:
    queued = cli("run", "support.py:costly", "--input", EXPENSIVE, "--enqueue")
    assert queued.returncode == 3
    run_id = queued.stdout.strip()
    approved = cli.ok("runs", "approve", run_id, "--by", "bob")
    assert f"run {run_id}: cost approved by bob. A worker (`keel worker support.py`) starts it" in approved.stdout
    shown = cli.json("runs", "show", run_id)
    assert shown["status"] == "pending" and not shown["paused"]


def test_yes_approves_the_cost_up_front(cli: Cli) -> None:
    out = cli.json("run", "support.py:costly", "--input", EXPENSIVE, "--yes")
    assert out["status"] == "succeeded"
    causes = [t["cause"] for t in cli.json("runs", "show", out["run_id"])["transitions"]]
    assert causes[1].startswith("cost approved up front by ") and causes[1].endswith(CAUSE[len("awaiting approval") :])


def test_on_a_terminal_it_asks_and_no_starts_nothing(cli: Cli) -> None:
    yes = cli.on_terminal("run", "support.py:costly", "--input", EXPENSIVE, "--json", answer=b"y\n")
    assert yes.returncode == 0, yes.stderr
    assert "This will cost ~$19.00 ($9.50–$38.00). Proceed? [y/N] " in yes.stderr
    assert json.loads(yes.stdout)["status"] == "succeeded"

    before = cli.snapshot()
    no = cli.on_terminal("run", "support.py:costly", "--input", EXPENSIVE, answer=b"\n")
    assert no.returncode == 1
    assert "not started: estimated ~$19.00 ($9.50–$38.00) is above confirm_above_usd $10.00" in no.stderr
    assert cli.snapshot() == before

    cheap = cli.on_terminal("run", "support.py:costly", "--input", '{"ticket": "ok"}', answer=b"")
    assert cheap.returncode == 0 and "Proceed?" not in cheap.stderr
