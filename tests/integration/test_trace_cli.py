"""`keel trace` and `keel runs explain` on runs made by a real App, read back through the `keel` command.

The runs use Keel's SkippingClock and steps that advance it, so every duration in the trace is
known exactly and nothing depends on how fast this machine is.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from keel import App, Context, RetryPolicy
from keel.config import TraceSettings
from keel.observe.tracing import llm_call, tool_call
from keel.testing import SkippingClock

# A hang guard only: each call returns as soon as the command ends.
HANG_GUARD_S = 90.0

# The two model calls of `summarize`: (model, input tokens, output tokens, cost, seconds).
CALLS = [("claude-haiku", 1000, 200, 0.0125, 10.0), ("claude-sonnet", 3000, 500, 0.0375, 20.0)]
BACKOFF_S = 0.001


@dataclass
class Runs:
    db_path: Path
    research: str  # succeeded: a retried step, two model calls and a tool call, a short sleep
    checkout: str  # parked in the dead-letter queue: its only step fails for good


def build_app(url: str, clock: SkippingClock, *, tracing: bool = True) -> App:
    app = App("traced", url, clock=clock, trace_settings=TraceSettings(enabled=tracing))
    fetches: list[str] = []

    @app.step("fetch", retry=RetryPolicy(max_attempts=3, initial_backoff=BACKOFF_S, jitter=False))
    def fetch(url: str) -> str:
        fetches.append(url)
        clock.advance(2.0)
        if len(fetches) == 1:
            raise ConnectionError("upstream reset")
        return "page"

    @app.step("summarize")
    async def summarize(text: str) -> str:
        model, tokens_in, tokens_out, cost, seconds = CALLS[0]
        with llm_call(model, system="anthropic") as call:
            clock.advance(seconds)
            call.usage(input_tokens=tokens_in, output_tokens=tokens_out, cost_usd=cost)
        with tool_call("search"):
            clock.advance(1.0)
        model, tokens_in, tokens_out, cost, seconds = CALLS[1]
        with llm_call(model, system="anthropic") as call:
            clock.advance(seconds)
            call.usage(input_tokens=tokens_in, output_tokens=tokens_out, cost_usd=cost)
        return "summary"

    @app.step("publish")
    def publish(text: str) -> str:
        clock.advance(0.25)
        return "published"

    @app.workflow()
    async def research(ctx: Context, url: str) -> str:
        page = await ctx.run(fetch, url)
        summary = await ctx.run(summarize, page)
        await ctx.sleep(0.5)
        return await ctx.run(publish, summary)

    @app.step("charge", retry=RetryPolicy(max_attempts=2, initial_backoff=BACKOFF_S, jitter=False))
    def charge(item: str) -> str:
        clock.advance(0.5)
        raise RuntimeError("card declined")

    @app.workflow()
    async def checkout(ctx: Context, item: str) -> str:
        return await ctx.run(charge, item)

    @app.workflow()
    async def approval(ctx: Context, doc: str) -> str:
        await ctx.run(publish, doc)
        return str(await ctx.wait_for_signal("approved"))

    @app.step("think")
    async def think(question: str) -> str:
        with llm_call("claude-haiku", system="anthropic") as call:
            clock.advance(3.0)
            call.usage(input_tokens=10, output_tokens=5, cost_usd=0.001)
        return question

    @app.workflow()
    async def child(ctx: Context, question: str) -> str:
        return await ctx.run(think, question)

    @app.step("spawn")
    def spawn(question: str) -> str:
        clock.advance(1.0)
        return app.start(child, question=question).run_id

    @app.workflow()
    async def parent(ctx: Context, question: str) -> str:
        return await ctx.run(spawn, question)

    return app


def make_runs(tmp_path: Path, *, tracing: bool = True) -> Runs:
    db_path = tmp_path / "keel.db"
    app = build_app(f"sqlite:///{db_path}", SkippingClock(), tracing=tracing)
    try:
        ok = app.run_sync("research", url="https://example.com")
        assert ok == "published"
        with pytest.raises(Exception, match="card declined"):
            app.run_sync("checkout", item="book")
        if app.tracing is not None:
            app.tracing.flush()
        rows = app.store.list_runs()
    finally:
        app.close()
    by_name = {r.workflow_name: r.run_id for r in rows}
    return Runs(db_path, by_name["research"], by_name["checkout"])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return make_runs(tmp_path_factory.mktemp("trace"))


def keel(db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KEEL_DATABASE_URL": f"sqlite:///{db_path}", "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("FORCE_COLOR", None)
    return subprocess.run(
        [sys.executable, "-m", "keel.cli", *args],
        cwd=db_path.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )


def ok(db_path: Path, *args: str) -> str:
    proc = keel(db_path, *args)
    assert proc.returncode == 0, f"keel {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def as_json(db_path: Path, *args: str) -> Any:
    return json.loads(ok(db_path, *args, "--json"))


def shape(node: dict[str, Any]) -> list[Any]:
    """The tree as nested [name, children] lists, in the order it is printed."""
    return [node["name"], [shape(c) for c in node["children"]]]


def child(node: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [c for c in node["children"] if c["name"] == name]
    return found


# -- keel trace ----------------------------------------------------------------------------------


def test_trace_nests_steps_model_and_tool_calls_under_the_run(runs: Runs) -> None:
    out = as_json(runs.db_path, "trace", runs.research[:8])  # a prefix is enough
    assert out["run_id"] == runs.research
    assert out["tracing"] == "recorded"
    assert out["missing_spans"] == 0
    root = out["root"]
    assert (root["name"], root["source"], root["status"], root["detail"]) == (
        "workflow.run",
        "span",
        "succeeded",
        "research@1",
    )
    assert shape(root) == [
        "workflow.run",
        [
            ["step fetch", []],
            ["step summarize", [["llm.call", []], ["tool.call", []], ["llm.call", []]]],
            ["sleep", []],
            ["step publish", []],
        ],
    ]
    summarize = child(root, "step summarize")
    assert [c["detail"] for c in summarize["children"]] == ["claude-haiku", "search", "claude-sonnet"]
    assert [c["duration_s"] for c in summarize["children"]] == pytest.approx([10.0, 1.0, 20.0])
    assert summarize["duration_s"] == pytest.approx(31.0)
    for call, (_, tokens_in, tokens_out, cost, _) in zip(
        [c for c in summarize["children"] if c["name"] == "llm.call"], CALLS, strict=True
    ):
        assert (call["tokens_input"], call["tokens_output"], call["cost_usd"]) == (tokens_in, tokens_out, cost)
    assert child(root, "sleep")["duration_s"] == pytest.approx(0.5)
    assert child(root, "step publish")["duration_s"] == pytest.approx(0.25)

    # Totals are exactly the sum of the recorded model calls.
    assert (out["tokens_input"], out["tokens_output"]) == (4000, 700)
    assert out["cost_usd"] == 0.05
    assert out["duration_s"] == pytest.approx(2.0 + BACKOFF_S + 2.0 + 31.0 + 0.5 + 0.25)


def test_trace_shows_each_retry_with_its_error_type(runs: Runs) -> None:
    fetch = child(as_json(runs.db_path, "trace", runs.research)["root"], "step fetch")
    assert (fetch["status"], fetch["attempts"], fetch["retries"]) == ("ok", 2, 1)
    assert [(e["name"], e["attempt"], e["error_type"], e["error_message"]) for e in fetch["events"]] == [
        ("retry", 1, "ConnectionError", "upstream reset")
    ]
    assert fetch["duration_s"] == pytest.approx(4.0 + BACKOFF_S)


def test_trace_prints_a_tree_with_totals_for_people(runs: Runs) -> None:
    text = ok(runs.db_path, "trace", runs.research)
    lines = text.splitlines()
    assert lines[0].split() == ["run", runs.research, "research@1", "succeeded"]
    assert "4,000 in / 700 out tokens" in lines[1] and "$0.0500" in lines[1]
    assert any(line.lstrip("│├└─ ").startswith("✓ step fetch #0  4.00 s") for line in lines), text
    assert "2 attempts (1 retry)" in text
    assert "↻ attempt 1 failed, retrying after 2.00 s: ConnectionError: upstream reset" in text
    summarize = next(line for line in lines if "step summarize #1" in line)
    assert "31.00 s" in summarize and "4,000 → 700 tok" in summarize and "$0.0500" in summarize
    assert any("llm.call claude-sonnet  20.00 s" in line and "$0.0375" in line for line in lines), text
    assert any("tool.call search  1.00 s" in line for line in lines), text
    # The tree's guides put the model calls one level below their step.
    indent = {name: next(line.index("✓") for line in lines if name in line) for name in ("step summarize", "llm.call")}
    assert indent["llm.call"] > indent["step summarize"]


def test_a_parked_run_gets_a_root_from_its_record_and_its_failing_step_marked(runs: Runs) -> None:
    out = as_json(runs.db_path, "trace", runs.checkout)
    root = out["root"]
    assert (root["name"], root["source"], root["status"]) == ("workflow.run", "run", "dead_letter")
    assert shape(root) == ["workflow.run", [["step charge", []]]]
    charge = child(root, "step charge")
    assert (charge["source"], charge["status"], charge["error_type"], charge["attempts"]) == (
        "span",
        "error",
        "RuntimeError",
        2,
    )
    assert [(e["name"], e["error_type"]) for e in charge["events"]] == [
        ("retry", "RuntimeError"),
        ("attempt failed", "RuntimeError"),
    ]
    assert charge["duration_s"] == pytest.approx(1.0 + BACKOFF_S)

    text = ok(runs.db_path, "trace", runs.checkout)
    assert "✗ workflow.run checkout@1 (dead_letter)" in text
    failed = next(line for line in text.splitlines() if "step charge" in line)
    assert failed.lstrip("│├└─ ").startswith("✗ step charge #0") and failed.endswith("RuntimeError"), failed
    assert "✗ attempt 2 failed after 1.00 s: RuntimeError: card declined" in text


def test_a_journaled_step_without_a_span_is_still_shown(runs: Runs, tmp_path: Path) -> None:
    db_path = tmp_path / "keel.db"
    db_path.write_bytes(runs.db_path.read_bytes())
    # As if a worker with tracing off had run that step: its journal entry has no span id.
    with sqlite3.connect(db_path) as conn:
        cleared = conn.execute(
            "UPDATE keel_steps SET span_id = NULL WHERE run_id = ? AND name = 'publish'", (runs.research,)
        ).rowcount
    assert cleared == 1

    out = as_json(db_path, "trace", runs.research)
    assert (out["tracing"], out["missing_spans"]) == ("partial", 1)
    publish = child(out["root"], "step publish")
    assert (publish["source"], publish["seq"], publish["attempts"]) == ("journal", 3, 1)
    assert publish["duration_s"] == pytest.approx(0.25)
    assert [c["name"] for c in out["root"]["children"]][-1] == "step publish"  # still in its place
    assert (out["tokens_input"], out["tokens_output"], out["cost_usd"]) == (4000, 700, 0.05)

    text = ok(db_path, "trace", runs.research)
    line = next(line for line in text.splitlines() if "step publish" in line)
    assert "(no span recorded)" in line
    assert "1 step or wait without a span" in text


def test_a_step_started_child_run_nests_under_that_step(tmp_path: Path) -> None:
    db_path = tmp_path / "keel.db"
    app = build_app(f"sqlite:///{db_path}", SkippingClock())
    try:
        child_id = app.run_sync("parent", question="why?")
        asyncio.run(app.handle(child_id).result())
        assert app.tracing is not None
        app.tracing.flush()
        (parent_id,) = [r.run_id for r in app.store.list_runs() if r.workflow_name == "parent"]
    finally:
        app.close()

    out = as_json(db_path, "trace", parent_id)
    assert shape(out["root"]) == [
        "workflow.run",
        [["step spawn", [["workflow.run", [["step think", [["llm.call", []]]]]]]]],
    ]
    nested = out["root"]["children"][0]["children"][0]
    assert (nested["run_id"], nested["detail"], nested["status"]) == (child_id, "child@1", "succeeded")
    # The child's model call is part of what the parent's run cost.
    assert (out["tokens_input"], out["tokens_output"], out["cost_usd"], out["child_runs"]) == (10, 5, 0.001, [child_id])


def test_a_live_run_shows_what_it_has_done_and_what_it_waits_for(tmp_path: Path) -> None:
    db_path = tmp_path / "keel.db"
    app = build_app(f"sqlite:///{db_path}", SkippingClock())

    async def until_it_waits() -> str:
        run_id = app.start("approval", doc="contract").run_id
        (claim,) = await app.engine.claim(1, run_id=run_id)
        assert await app.engine.drive(claim) == "waiting"
        return run_id

    try:
        run_id = asyncio.run(until_it_waits())
        assert app.tracing is not None
        app.tracing.flush()
    finally:
        app.close()

    out = as_json(db_path, "trace", run_id)
    root = out["root"]
    assert (root["source"], root["status"]) == ("run", "waiting")
    assert [(c["name"], c["source"], c["status"]) for c in root["children"]] == [
        ("step publish", "span", "ok"),
        ("signal.wait", "journal", "pending"),
    ]
    text = ok(db_path, "trace", run_id)
    assert "workflow.run approval@1 (waiting…)" in text
    assert "signal.wait approved #1" in text and "(in progress)" in text


def test_with_tracing_off_the_tree_comes_from_the_journal(tmp_path: Path) -> None:
    untraced = make_runs(tmp_path, tracing=False)
    out = as_json(untraced.db_path, "trace", untraced.research)
    assert (out["tracing"], out["spans"], out["missing_spans"]) == ("unavailable", 0, 4)
    assert [(c["name"], c["source"]) for c in out["root"]["children"]] == [
        ("step fetch", "journal"),
        ("step summarize", "journal"),
        ("sleep", "journal"),
        ("step publish", "journal"),
    ]
    # Usage is journaled with each step, so the totals hold without spans.
    assert (out["tokens_input"], out["tokens_output"], out["cost_usd"]) == (4000, 700, 0.05)
    assert "tracing was off or unavailable" in ok(untraced.db_path, "trace", untraced.research)

    parked = as_json(untraced.db_path, "trace", untraced.checkout)["root"]
    charge = child(parked, "step charge")
    assert (charge["status"], charge["error_type"], charge["estimated"]) == ("error", "StepFailedError", True)
    assert "RuntimeError: card declined" in charge["events"][0]["error_message"]


def test_an_unknown_run_is_one_line_on_stderr_and_exit_1(runs: Runs) -> None:
    for args in (["trace", "nosuchrun"], ["runs", "explain", "nosuchrun"]):
        proc = keel(runs.db_path, *args)
        assert proc.returncode == 1
        assert proc.stdout == ""
        assert proc.stderr == "error: no run with id 'nosuchrun'\n"


# -- keel runs explain ---------------------------------------------------------------------------


def test_explain_orders_steps_by_share_and_names_the_top_contributor(runs: Runs) -> None:
    out = as_json(runs.db_path, "runs", "explain", runs.research[:8])
    rows = out["rows"]
    assert [r["label"] for r in rows] == ["step `summarize` #1", "step `fetch` #0", "sleep #2", "step `publish` #3"]
    assert [r["category"] for r in rows] == ["work", "work", "wait", "work"]
    shares = [max(r["time_share"], r["cost_share"] or 0.0) for r in rows]
    assert shares == sorted(shares, reverse=True)
    assert sum(r["time_share"] for r in rows) == pytest.approx(1.0, abs=1e-4)  # each share is rounded
    assert sum(r["cost_share"] for r in rows) == pytest.approx(1.0, abs=1e-4)
    wall = 2.0 + BACKOFF_S + 2.0 + 31.0 + 0.5 + 0.25
    assert out["wall_s"] == pytest.approx(wall)
    assert (out["working_s"], out["waiting_s"], out["other_s"]) == pytest.approx((wall - 0.5, 0.5, 0.0))
    assert out["retry_s"] == pytest.approx(2.0)  # fetch's failed attempt; its backoff followed the event
    assert (out["tokens_input"], out["tokens_output"], out["cost_usd"]) == (4000, 700, 0.05)

    summarize, fetch = rows[0], rows[1]
    assert summarize["duration_s"] == pytest.approx(31.0)
    assert summarize["time_share"] == pytest.approx(31.0 / wall)
    assert (summarize["cost_usd"], summarize["cost_share"]) == (0.05, 1.0)
    assert summarize["models"] == {"claude-haiku": 1, "claude-sonnet": 1}
    assert (fetch["attempts"], fetch["retries"], fetch["cost_usd"]) == (2, 1, 0.0)
    assert out["top_time"]["label"] == out["top_cost"]["label"] == "step `summarize` #1"

    pct = round(31.0 / wall * 100)
    assert f"{pct}% of the time and 100% of the cost: step `summarize` #1 (2 model calls" in out["summary"]

    text = ok(runs.db_path, "runs", "explain", runs.research)
    table = text.splitlines()[2:7]
    assert table[0].split()[:3] == ["STEP", "TIME", "TIME"]
    assert [line.split("  ")[0] for line in table[1:]] == [
        "step summarize #1",
        "step fetch #0",
        "sleep #2 (waiting)",
        "step publish #3",
    ]
    assert table[1].split()[3:7] == ["31.00", "s", f"{pct}%", "$0.0500"]
    paragraph = " ".join(text.split())
    assert "Wall time 35.75 s (created → finished)" in paragraph
    assert "500 ms waiting (sleeps 500 ms)" in paragraph
    assert "Cost $0.0500 (4,000 input and 700 output tokens)" in paragraph
    assert f"{pct}% of the time and 100% of the cost: step `summarize` #1" in paragraph


def test_explain_can_sort_by_time_alone(runs: Runs) -> None:
    rows = as_json(runs.db_path, "runs", "explain", runs.research, "--sort", "time")["rows"]
    assert [r["duration_s"] for r in rows] == sorted((r["duration_s"] for r in rows), reverse=True)
    assert keel(runs.db_path, "runs", "explain", runs.research, "--sort", "size").returncode == 2


def test_explain_of_a_parked_run_blames_the_failed_step(runs: Runs) -> None:
    out = as_json(runs.db_path, "runs", "explain", runs.checkout)
    (row,) = out["rows"]
    assert (row["label"], row["status"], row["error_type"], row["attempts"]) == (
        "step `charge` #0",
        "failed",
        "RuntimeError",
        2,
    )
    assert row["time_share"] == pytest.approx(1.0)
    assert out["summary"].startswith("Wall time 1.00 s (created → parked in the dead-letter queue)")
    assert "100% of the time: step `charge` #0 (failed: RuntimeError, 1 retry)." in out["summary"]
