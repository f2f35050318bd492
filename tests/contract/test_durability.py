"""Durability on both databases: timers and signals across restarts, fencing, pausing."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest

import keel

# -- durable sleep --------------------------------------------------------------------------------


def build_sleeper(app: keel.App, counts: Counter[str]) -> None:
    @app.step(name="before")
    def before(x: int) -> int:
        counts["before"] += 1
        return x * 2

    @app.step(name="after")
    def after(y: int) -> int:
        counts["after"] += 1
        return y + 1

    @app.workflow(name="sleeper")
    async def sleeper(ctx, x: int) -> int:
        y = await ctx.run(before, x)
        await ctx.sleep(60)
        return await ctx.run(after, y)


async def test_durable_sleep_survives_a_restart(make_app, clock, drive_once):
    counts: Counter[str] = Counter()
    app1 = make_app(clock)
    build_sleeper(app1, counts)
    handle = app1.start("sleeper", 5)
    t0 = clock.time()

    assert await drive_once(app1) == "waiting"
    run = handle.get()
    assert run.status == "waiting"
    assert run.wake_at == pytest.approx(t0 + 60)
    assert run.lease_owner is None  # a sleeping run holds no worker
    assert [(r.kind, r.status) for r in app1.store.load_journal(handle.run_id)] == [
        ("step", "succeeded"),
        ("sleep", "pending"),
    ]
    app1.close()  # the process goes away

    app2 = make_app(clock)
    build_sleeper(app2, counts)
    assert await drive_once(app2) is None  # not due yet
    clock.advance(61)
    assert await app2.handle(handle.run_id).result(timeout=30) == 11
    assert counts == {"before": 1, "after": 1}  # the completed step was not re-run
    assert [(r.kind, r.status) for r in app2.store.load_journal(handle.run_id)] == [
        ("step", "succeeded"),
        ("sleep", "succeeded"),
        ("step", "succeeded"),
    ]


async def test_short_sleep_with_the_real_clock(make_app):
    app = make_app()

    @app.workflow()
    async def nap(ctx) -> str:
        await ctx.sleep(0.05)
        return "rested"

    assert await app.run(nap) == "rested"
    [row] = app.store.load_journal(app.store.list_runs()[0].run_id)
    assert (row.kind, row.status) == ("sleep", "succeeded")
    assert row.finished_at >= row.wake_at


# -- signals --------------------------------------------------------------------------------------


def build_approval(app: keel.App, counts: Counter[str]) -> None:
    @app.step(name="draft")
    def draft() -> str:
        counts["draft"] += 1
        return "draft-1"

    @app.step(name="publish")
    def publish(doc: str, decision: dict) -> dict:
        counts["publish"] += 1
        return {"doc": doc, "decision": decision}

    @app.workflow(name="approval")
    async def approval(ctx) -> dict:
        doc = await ctx.run(draft)
        decision = await ctx.wait_for_signal("approve")
        return await ctx.run(publish, doc, decision)


async def test_signal_wakes_a_waiting_run_after_a_restart(make_app, clock, drive_once):
    counts: Counter[str] = Counter()
    app1 = make_app(clock)
    build_approval(app1, counts)
    handle = app1.start("approval")
    assert await drive_once(app1) == "waiting"
    run = handle.get()
    assert (run.status, run.wake_at, run.lease_owner) == ("waiting", None, None)
    app1.close()

    app2 = make_app(clock)
    build_approval(app2, counts)
    assert await drive_once(app2) is None  # nothing wakes it but the signal
    app2.signal(handle.run_id, "not-this-one", 1)  # another name wakes it, but it goes back to waiting
    assert await drive_once(app2) == "waiting"
    assert handle.status() == "waiting"

    app2.signal(handle.run_id, "approve", {"ok": True})
    result = await app2.handle(handle.run_id).result(timeout=30)
    assert result == {"doc": "draft-1", "decision": {"ok": True}}
    assert counts == {"draft": 1, "publish": 1}
    sig = next(r for r in app2.store.load_journal(handle.run_id) if r.kind == "signal")
    assert (sig.name, sig.status, json.loads(sig.result)) == (
        "keel.signal:approve",
        "succeeded",
        {"payload": {"ok": True}},
    )

    with pytest.raises(keel.InvalidStateError):
        app2.signal(handle.run_id, "approve", {"ok": False})  # the run is over
    with pytest.raises(keel.RunNotFoundError):
        app2.signal("no-such-run", "approve")


async def test_signal_sent_before_the_run_waits_is_delivered(make_app, clock):
    app = make_app(clock)

    @app.workflow(name="collector")
    async def collector(ctx) -> list:
        first = await ctx.wait_for_signal("item")
        second = await ctx.wait_for_signal("item")
        return [first, second]

    handle = app.start(collector)
    app.signal(handle.run_id, "item", "a")  # the run has not started yet
    app.signal(handle.run_id, "item", {"b": 2})
    assert await handle.result(timeout=30) == ["a", {"b": 2}]  # each consumed once, in order
    assert clock.sleeps == []


async def test_signal_sent_while_the_run_sleeps_is_delivered_later(make_app, clock, drive_once):
    app = make_app(clock)

    @app.workflow(name="sleepy")
    async def sleepy(ctx) -> object:
        await ctx.sleep(100)
        return await ctx.wait_for_signal("go", timeout=5)

    handle = app.start(sleepy)
    assert await drive_once(app) == "waiting"
    app.signal(handle.run_id, "go", "now")
    assert await drive_once(app) == "waiting"  # the signal woke it early; it goes back to sleep
    assert handle.status() == "waiting"
    clock.advance(101)
    assert await handle.result(timeout=30) == "now"


async def test_signal_timeout_is_catchable_and_replays_deterministically(make_app, clock, drive_once):
    app = make_app(clock)
    recorded: list[str] = []

    @app.step(name="record")
    def record(outcome: str) -> str:
        recorded.append(outcome)
        return outcome

    @app.workflow(name="approver")
    async def approver(ctx) -> str:
        try:
            decision = await ctx.wait_for_signal("approve", timeout=30)
            outcome = f"approved {decision}"
        except keel.SignalTimeoutError:
            outcome = "timed out"
        await ctx.sleep(60)
        return await ctx.run(record, outcome)

    handle = app.start(approver)
    assert await drive_once(app) == "waiting"
    assert handle.get().wake_at == pytest.approx(clock.time() + 30)
    clock.advance(31)
    assert await drive_once(app) == "waiting"  # timed out, caught, now sleeping

    # A late signal wakes the run, but replay must still see the timeout from the journal.
    app.signal(handle.run_id, "approve", "yes")
    assert await drive_once(app) == "waiting"
    assert handle.status() == "waiting"
    clock.advance(61)
    assert await handle.result(timeout=30) == "timed out"
    assert recorded == ["timed out"]


# -- fencing ------------------------------------------------------------------------------------


async def test_a_stale_lease_holder_cannot_checkpoint(make_app, clock):
    calls = Counter()

    def build(app: keel.App) -> None:
        @app.step(name="work")
        def work() -> str:
            calls["work"] += 1
            return "real"

        @app.workflow(name="fenced")
        async def fenced(ctx) -> str:
            return await ctx.run(work)

    app1 = make_app(clock, lease_ttl_s=5)
    app2 = make_app(clock, lease_ttl_s=5)
    build(app1)
    build(app2)
    handle = app1.start("fenced")

    [old] = await app1.engine.claim(1)
    assert await app2.engine.claim(1) == []  # the lease is held
    clock.advance(6)  # ...and now it has lapsed (the first worker stalled)
    [new] = await app2.engine.claim(1)
    assert new.takeover
    assert new.fencing_token > old.fencing_token
    moves = app1.store.transitions(handle.run_id)
    assert "expired" in moves[-1]["cause"]

    before = handle.get()
    result = await app1.store.acheckpoint(
        old,
        new_rows=[dict(seq=0, name="work", kind="step", status="succeeded", result='"forged"', attempts=1)],
        run_values=dict(status="succeeded", result='"forged"', step_count=1),
        transition=("running", "succeeded", "forged"),
        now=clock.time(),
    )
    assert result is None
    after = handle.get()
    assert app1.store.load_journal(handle.run_id) == []
    assert (after.status, after.result, after.step_count) == (before.status, before.result, before.step_count)
    assert len(app1.store.transitions(handle.run_id)) == len(moves)

    assert await asyncio.wait_for(app2.engine.drive(new), 30) == "succeeded"
    # The stale holder comes back and drives with its old claim: it changes nothing.
    await asyncio.wait_for(app1.engine.drive(old), 30)
    assert calls == {"work": 1}
    final = handle.get()
    assert (final.status, final.result) == ("succeeded", '"real"')
    assert [t["to_status"] for t in app1.store.transitions(handle.run_id)].count("succeeded") == 1
    assert await handle.result(timeout=30) == "real"


# -- pausing ------------------------------------------------------------------------------------


async def test_paused_run_is_not_claimed_until_unpaused(make_app, clock, drive_once):
    app = make_app(clock)
    log: list[str] = []

    @app.step(name="first")
    def first(run_id: str) -> None:
        log.append("first")
        app.pause(run_id)  # the operator pauses the run while this step runs

    @app.step(name="second")
    def second() -> None:
        log.append("second")

    @app.workflow(name="pausable")
    async def pausable(ctx) -> str:
        await ctx.run(first, ctx.run_id)
        await ctx.run(second)
        return "done"

    handle = app.start(pausable)
    assert await drive_once(app) == "waiting"  # stopped at the step boundary
    run = handle.get()
    assert (run.paused, run.lease_owner, run.step_count) == (True, None, 1)
    assert log == ["first"]
    assert await drive_once(app) is None  # a paused run is not claimed

    app.unpause(handle.run_id)
    assert await handle.result(timeout=30) == "done"
    assert log == ["first", "second"]
    causes = [t["cause"] for t in app.store.transitions(handle.run_id)]
    assert "operator paused the run" in causes and "operator unpaused the run" in causes


async def test_pausing_a_pending_run(make_app, clock, drive_once):
    app = make_app(clock)

    @app.workflow(name="quick")
    async def quick(ctx) -> int:
        return 7

    handle = app.start(quick)
    assert app.pause(handle.run_id).paused is True
    assert await drive_once(app) is None
    assert handle.status() == "pending"
    app.unpause(handle.run_id)
    assert await handle.result(timeout=30) == 7
    with pytest.raises(keel.InvalidStateError):
        app.pause(handle.run_id)  # finished runs cannot be paused


async def test_pause_workflow_holds_all_its_runs(make_app):
    app = make_app()
    ran: Counter[str] = Counter()

    @app.step(name="touch")
    def touch(tag: str) -> str:
        ran[tag] += 1
        return tag

    @app.workflow(name="held")
    async def held(ctx, i: int) -> str:
        return await ctx.run(touch, "held")

    @app.workflow(name="free")
    async def free(ctx) -> str:
        return await ctx.run(touch, "free")

    app.pause_workflow("held")
    held_runs = [app.start(held, i) for i in range(3)]
    free_run = app.start(free)

    worker = app.worker(concurrency=4)
    task = asyncio.create_task(worker.run())
    try:
        assert await free_run.result(timeout=30) == "free"
        await asyncio.sleep(0.2)  # several more polls of the worker
        assert [h.status() for h in held_runs] == ["pending"] * 3
        assert ran == {"free": 1}

        app.unpause_workflow("held")
        for h in held_runs:
            assert await h.result(timeout=30) == "held"
        assert ran == {"free": 1, "held": 3}
    finally:
        worker.stop()
        await asyncio.wait_for(task, 30)


async def test_pause_workflow_stops_an_in_flight_run_at_its_next_step(make_app):
    import time

    app = make_app()
    log: list[str] = []
    worker = app.worker(concurrency=2)

    @app.step(name="first")
    def first() -> None:
        log.append("first")
        app.pause_workflow("inflight")
        deadline = time.monotonic() + 20
        while "inflight" not in worker.engine.paused_workflows and time.monotonic() < deadline:
            time.sleep(0.01)  # until the worker has seen the pause

    @app.step(name="second")
    def second() -> None:
        log.append("second")

    @app.workflow(name="inflight")
    async def inflight(ctx) -> str:
        await ctx.run(first)
        await ctx.run(second)
        return "done"

    handle = app.start(inflight)
    task = asyncio.create_task(worker.run())
    try:
        for _ in range(1000):
            if handle.status() == "waiting":
                break
            await asyncio.sleep(0.02)
        run = handle.get()
        assert (run.status, run.lease_owner, run.step_count) == ("waiting", None, 1)
        assert log == ["first"]
        assert "workflow inflight is paused" in app.store.transitions(handle.run_id)[-1]["cause"]
        app.unpause_workflow("inflight")
        assert await handle.result(timeout=30) == "done"
        assert log == ["first", "second"]
    finally:
        worker.stop()
        await asyncio.wait_for(task, 30)


async def test_result_skips_timers_on_a_test_clock(make_app, clock):
    """With a SkippingClock, result() lets a week of durable timers pass at once."""
    app = make_app(clock=clock)
    ran: list[int] = []

    @app.step()
    def mark(i: int) -> int:
        ran.append(i)
        return i

    @app.workflow()
    async def slow(ctx: keel.Context) -> int:
        await ctx.run(mark, 1)
        await ctx.sleep(3600)
        await ctx.sleep(7 * 86400)
        return await ctx.run(mark, 2)

    start = clock.now
    assert await app.run(slow) == 2
    assert ran == [1, 2]
    assert 3600.0 in clock.sleeps and 604800.0 in clock.sleeps
    assert clock.now - start >= 3600 + 7 * 86400
