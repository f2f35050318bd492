"""Cost estimates from real runs' journals, and the confirm_above_usd gate, on SQLite and PostgreSQL.

The history comes from real runs: workflows calling `ctx.llm` through the gateway against a
scripted provider, whose input tokens default to a quarter of the prompt's characters, so a
longer ticket really costs more.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

import keel
from keel.engine import codec
from keel.store import Store, open_store

PRICE_IN = 1000.0  # USD per million tokens: large, so that costs are far from rounding noise
PRICE_OUT = 2000.0


@pytest.fixture
def make(db_url: str, tmp_path: Path) -> Iterator[Callable[[], keel.App]]:
    """`make()`: an App on the test database whose gateway answers from a scripted provider."""
    (tmp_path / "answers.json").write_text('[{"text": "billing"}]')
    config = tmp_path / "keel.toml"
    config.write_text(
        f"""
[providers.offline]
kind = "scripted"
fixtures = "answers.json"

[models."small-2024-10-22"]
provider = "offline"
input_usd_per_mtok = {PRICE_IN}
output_usd_per_mtok = {PRICE_OUT}

[routes.triage]
primary = "small-2024-10-22"
"""
    )
    apps: list[keel.App] = []

    def build() -> keel.App:
        settings = keel.EngineSettings(lease_ttl_s=15.0, poll_interval_s=0.05)
        app = keel.App("estimates", db_url, settings=settings, gateway=config)
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.close()


def register(app: keel.App, *, version: str = "1", **options: Any) -> Any:
    """A triage workflow making two model calls and one plain step; "boom" fails the run."""

    @app.step(name=f"route-{version}")
    def route(category: str) -> str:
        return f"{category}-queue"

    @app.workflow(name="triage", version=version, **options)
    async def triage(ctx: keel.Context, ticket: str) -> str:
        if ticket == "boom":
            raise keel.NonRetryableError("boom")
        first = await ctx.llm("triage", f"Classify: {ticket}", max_tokens=20)
        await ctx.llm("triage", f"Check: {ticket}", max_tokens=20)
        return str(await ctx.run(route, first.text))

    return triage


def journal_usage(store: Store, run_id: str) -> tuple[int, int, int, float]:
    """(llm steps, input tokens, output tokens, USD) of a run, from its journal."""
    steps = store.load_journal(run_id)
    return (
        sum(1 for s in steps if s.name.startswith("llm:")),
        sum(s.tokens_input or 0 for s in steps),
        sum(s.tokens_output or 0 for s in steps),
        sum(s.cost_usd or 0.0 for s in steps),
    )


async def test_history_is_the_usage_of_recent_succeeded_runs_of_the_version(make: Callable[[], keel.App]) -> None:
    app = make()
    v1 = register(app)
    v2 = register(app, version="2")
    tickets = ["I was charged twice", "login fails", "the app crashes when I open settings"]
    ids = [(await app.start(v1, ticket=t).result(), t)[1] for t in tickets]
    assert ids == tickets
    await app.start(v2, ticket="another version").result()
    with pytest.raises(keel.RunFailedError):
        await app.run(v1, ticket="boom")

    history = app.store.run_usage_history("triage", "1", limit=50)
    assert len(history) == 3  # neither the failed run nor version 2's
    runs = {r.run_id: r for r in app.store.list_runs(workflow="triage", limit=10)}
    assert [runs[h["run_id"]].input for h in history] == [
        codec.dumps({"args": [], "kwargs": {"ticket": t}}, what="") for t in reversed(tickets)
    ]  # newest first
    for row in history:
        calls, tokens_in, tokens_out, cost = journal_usage(app.store, row["run_id"])
        assert (
            (row["calls"], row["tokens_input"], row["tokens_output"])
            == (calls, tokens_in, tokens_out)
            == (
                2,
                tokens_in,
                4,
            )
        )
        assert row["cost_usd"] == pytest.approx(cost) and cost > 0
        assert row["input_size"] == len(runs[row["run_id"]].input)
    assert [h["run_id"] for h in app.store.run_usage_history("triage", "1", limit=2)] == [
        h["run_id"] for h in history[:2]
    ]
    assert app.store.run_usage_history("triage", "9", limit=50) == []


async def test_history_looks_only_at_the_versions_recent_runs(make: Callable[[], keel.App]) -> None:
    app = make()
    wf = register(app)
    await app.run(wf, ticket="an old success")
    # limit=1 reads a window of the 20 most recent runs: all failed, so no history.
    for _ in range(20):
        with pytest.raises(keel.RunFailedError):
            await app.run(wf, ticket="boom")
    assert app.store.run_usage_history("triage", "1", limit=1) == []
    assert len(app.store.run_usage_history("triage", "1", limit=2)) == 1


async def test_estimate_from_history_scales_with_input_size(make: Callable[[], keel.App]) -> None:
    app = make()
    wf = register(app)
    assert await app.estimate(wf, ticket="nothing yet") is None
    for ticket in ("short", "a ticket of medium length", "a much longer ticket that goes on and on and on"):
        await app.run(wf, ticket=ticket)
    past = app.store.run_usage_history("triage", "1", limit=50)
    costs = sorted(row["cost_usd"] for row in past)

    same = await app.estimate(wf, ticket="a ticket of medium length")
    assert same is not None and same.source == "history" and same.runs == 3 and same.calls == 2
    assert same.usd_low <= same.usd <= same.usd_high
    # The same input as a past run: the median is that run's own cost (scaled by 1).
    assert same.usd == pytest.approx(costs[1])

    huge = await app.estimate(wf, "x" * 2000)  # positional, as app.start takes it
    assert huge is not None and huge.usd > 10 * costs[-1] and huge.calls == 2
    assert "scaled by input size" in huge.detail
    assert app.estimate_sync("triage", ticket="short") is not None  # by name, without a loop


async def test_a_hook_wins_over_history_and_may_defer_to_it(make: Callable[[], keel.App]) -> None:
    app = make()

    def guess(ticket: str) -> keel.CostEstimate | None:
        if ticket.startswith("?"):
            return None  # no idea: learn from past runs
        cost = 0.01 * len(ticket)
        return keel.CostEstimate(
            calls=2, input_tokens=10, output_tokens=4, usd=cost, usd_low=cost / 2, usd_high=cost * 2
        )

    wf = register(app, estimate=guess)
    hooked = await app.estimate(wf, ticket="abcd")
    assert hooked == keel.CostEstimate(
        calls=2, input_tokens=10, output_tokens=4, usd=0.04, usd_low=0.02, usd_high=0.08, source="hook"
    )
    assert await app.estimate(wf, ticket="?") is None
    await app.run(wf, ticket="?")
    deferred = await app.estimate(wf, ticket="?")
    assert deferred is not None and deferred.source == "history" and deferred.runs == 1
    with pytest.raises(keel.InputValidationError):
        await app.estimate(wf, ticket=3)


def costing(usd: float) -> Callable[[str], keel.CostEstimate]:
    def hook(ticket: str) -> keel.CostEstimate:
        return keel.CostEstimate(
            calls=2, input_tokens=1, output_tokens=1, usd=usd, usd_low=usd * 0.75, usd_high=usd * 1.25
        )

    return hook


def causes(app: keel.App, run_id: str) -> list[str]:
    return [str(t["cause"]) for t in app.store.transitions(run_id)]


async def test_a_run_above_the_threshold_waits_for_approval_and_no_worker_takes_it(
    make: Callable[[], keel.App],
) -> None:
    app = make()
    wf = register(app, estimate=costing(12.0), confirm_above_usd=10.0)
    handle = app.start(wf, ticket="expensive")
    cause = "awaiting approval: estimated ~$12.00 ($9.00–$15.00) is above confirm_above_usd $10.00"
    assert handle.created and handle.approval == cause
    run = handle.get()
    assert run.status == "pending" and run.paused
    assert causes(app, run.run_id) == ["started", cause]
    assert app.awaiting_approval(run.run_id) == cause
    assert await app.engine.claim(5) == []  # held: no worker claims it

    with pytest.raises(keel.InvalidStateError, match="awaiting cost approval"):
        app.unpause(run.run_id)  # deny by default: only an approval starts it
    app.pause(run.run_id)  # an operator's pause on top keeps it held for approval
    assert app.awaiting_approval(run.run_id) == cause

    approved = app.approve(run.run_id, by="alice")
    assert not approved.paused and app.awaiting_approval(run.run_id) is None
    assert causes(app, run.run_id)[-1] == "cost approved by alice"
    assert await handle.result() == "billing-queue"
    with pytest.raises(keel.InvalidStateError, match="not awaiting cost approval"):
        app.approve(run.run_id)


async def test_app_run_raises_instead_of_waiting_and_approved_by_approves_up_front(
    make: Callable[[], keel.App],
) -> None:
    app = make()
    wf = register(app, estimate=costing(12.0), confirm_above_usd=10.0)
    with pytest.raises(keel.ApprovalRequiredError, match="app.approve") as caught:
        await app.run(wf, ticket="expensive", idempotency_key="k1")
    run_id = caught.value.details["run_id"]
    assert app.store.get_run(run_id).paused
    # The same idempotency key finds the same waiting run, from start() and from run().
    again = app.start(wf, ticket="expensive", idempotency_key="k1")
    assert (again.run_id, again.created, again.approval) == (run_id, False, caught.value.details["cause"])
    with pytest.raises(keel.ApprovalRequiredError):
        await app.run(wf, ticket="expensive", idempotency_key="k1")

    assert await app.run(wf, ticket="expensive", approved_by="ci-bot") == "billing-queue"
    newest = app.store.list_runs(workflow="triage", limit=1)[0]
    assert causes(app, newest.run_id)[1] == (
        "cost approved up front by ci-bot: estimated ~$12.00 ($9.00–$15.00) is above confirm_above_usd $10.00"
    )
    with pytest.raises(keel.UsageError, match="approved_by"):
        app.start(wf, ticket="expensive", approved_by=" ")


async def test_a_run_within_the_threshold_starts_with_the_estimate_on_record(make: Callable[[], keel.App]) -> None:
    app = make()
    wf = register(app, estimate=costing(0.5), confirm_above_usd=10.0)
    assert await app.run(wf, ticket="cheap") == "billing-queue"
    run = app.store.list_runs(workflow="triage", limit=1)[0]
    assert causes(app, run.run_id)[1] == (
        "estimated ~$0.50 ($0.38–$0.62) is within confirm_above_usd $10.00: no approval needed"
    )


async def test_without_an_estimate_the_gate_denies_by_default_then_learns(make: Callable[[], keel.App]) -> None:
    app = make()
    wf = register(app, confirm_above_usd=1.0)
    gate = app.cost_gate(wf, ticket="first")
    assert gate is not None and gate.estimate is None and gate.needs_approval
    handle = app.start(wf, ticket="first")
    assert handle.approval is not None and handle.approval.startswith(
        "awaiting approval: no cost estimate for triage v1 (no estimate hook, and no succeeded runs of triage v1"
    )
    app.approve(handle.run_id, by="bob")
    await handle.result()
    # Now the gate has one past run to go by: its cost is far below $1, so the next run starts.
    gate = app.cost_gate(wf, ticket="first")
    assert gate is not None and gate.estimate is not None and gate.estimate.runs == 1
    assert not gate.needs_approval and gate.estimate.usd < 1.0
    assert app.start(wf, ticket="first").approval is None
    assert app.cost_gate(register(app, version="2"), ticket="x") is None  # no threshold, no gate


async def test_approve_refuses_runs_paused_by_an_operator(make: Callable[[], keel.App]) -> None:
    app = make()
    wf = register(app, version="1")
    handle = app.start(wf, ticket="plain")
    app.pause(handle.run_id)
    with pytest.raises(keel.InvalidStateError, match="paused by an operator, not held for cost approval"):
        app.approve(handle.run_id, by="alice")
    app.unpause(handle.run_id)  # an ordinary pause is lifted as before
    assert await handle.result() == "billing-queue"
    with pytest.raises(keel.RunNotFoundError):
        app.awaiting_approval("no-such-run")


async def test_a_held_run_can_be_cancelled(make: Callable[[], keel.App]) -> None:
    app = make()
    wf = register(app, estimate=costing(math.pi * 10), confirm_above_usd=10.0)
    handle = app.start(wf, ticket="never")
    app.cancel(handle.run_id)
    with pytest.raises(keel.RunFailedError, match="cancelled"):
        await handle.result(timeout=30)
    assert app.awaiting_approval(handle.run_id) is None


def test_the_history_query_walks_the_workflow_index_newest_first(sqlite_url: str) -> None:
    """On 100,000 runs of one version this is ~5 ms instead of ~150 ms (bench/estimate.py)."""
    store = open_store(sqlite_url)
    try:
        seen: list[tuple[str, Any]] = []

        def capture(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
            seen.append((statement, params))

        event.listen(store._read_engine, "before_cursor_execute", capture)
        store.run_usage_history("triage", "1", limit=50)
        statement, params = seen[-1]
        plan = store.read(lambda c: c.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all())
    finally:
        store.close()
    search = [
        row for row in plan if "USING INDEX ix_keel_runs_workflow (workflow_name=? AND workflow_version=?)" in row[3]
    ]
    assert len(search) == 1, plan
    assert not any(row[3].startswith("SCAN keel_runs") for row in plan), plan
    # The window of recent runs comes off the index in order: no sort under it.
    window = search[0][1]
    assert not any(row[1] == window and "TEMP B-TREE" in row[3] for row in plan), plan
