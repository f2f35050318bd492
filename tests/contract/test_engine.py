"""The engine's core contract on both databases: runs, journal, replay, versions, workers."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import json
import logging
import threading
from collections import Counter

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select

import keel
from keel import RetryPolicy
from keel.store import schema

# -- lifecycle and transitions ------------------------------------------------------------------


async def test_every_transition_is_recorded_with_its_cause(make_app, clock, drive_once):
    app = make_app(clock)

    @app.step(name="prepare")
    def prepare() -> int:
        return 1

    @app.workflow(name="lifecycle")
    async def lifecycle(ctx) -> int:
        n = await ctx.run(prepare)
        await ctx.sleep(60)
        return n + 1

    handle = app.start(lifecycle)
    assert handle.created
    assert await drive_once(app) == "waiting"
    clock.advance(60)
    assert await handle.result(timeout=30) == 2

    moves = app.store.transitions(handle.run_id)
    assert [(m["from_status"], m["to_status"]) for m in moves] == [
        (None, "pending"),
        ("pending", "running"),
        ("running", "waiting"),
        ("waiting", "running"),
        ("running", "succeeded"),
    ]
    causes = [m["cause"] for m in moves]
    assert causes[0] == "started"
    assert causes[1].startswith("claimed by ")
    assert causes[2] == "sleeping 60s"
    assert causes[4] == "workflow returned"
    times = [m["at"] for m in moves]
    assert times == sorted(times)
    assert times[3] >= handle.get().created_at + 60


async def test_bad_input_is_rejected_before_a_run_exists(make_app, clock):
    app = make_app(clock)

    @app.workflow(name="typed")
    async def typed(ctx, n: int, label: str = "x") -> str:
        return f"{label}{n}"

    with pytest.raises(keel.InputValidationError):
        app.start(typed)  # missing n
    with pytest.raises(keel.InputValidationError):
        app.start(typed, 1, "a", "extra")
    with pytest.raises(keel.InputValidationError):
        app.start(typed, 1, nope=True)
    with pytest.raises(keel.InputValidationError, match="'n'") as info:
        app.start(typed, "not a number", idempotency_key="k1")
    assert info.value.details["parameter"] == "n"
    with pytest.raises(keel.UsageError, match="no workflow named"):
        app.start("missing")
    assert app.store.list_runs() == []
    assert app.store.transitions("k1") == []

    # The rejected start did not use up its idempotency key; coercion follows the annotations.
    handle = app.start(typed, "3", idempotency_key="k1")
    assert handle.created
    assert await handle.result(timeout=30) == "x3"


async def test_workflow_that_raises_ends_failed(make_app, clock):
    app = make_app(clock)
    ran: list[str] = []

    @app.step(name="plan")
    def plan() -> str:
        ran.append("plan")
        return "p"

    @app.workflow(name="broken")
    async def broken(ctx) -> None:
        await ctx.run(plan)
        raise ValueError("the plan is invalid")

    handle = app.start(broken)
    with pytest.raises(keel.RunFailedError, match="the plan is invalid") as info:
        await handle.result(timeout=30)
    assert info.value.details["status"] == "failed"
    assert info.value.details["error_type"] == "ValueError"
    run = handle.get()
    assert run.status == "failed"
    err = json.loads(run.error)
    assert (err["type"], err["message"]) == ("ValueError", "the plan is invalid")
    assert "ValueError" in err["traceback"]
    assert ran == ["plan"]
    last = app.store.transitions(handle.run_id)[-1]
    assert (last["to_status"], last["cause"]) == ("failed", "workflow raised ValueError")
    with pytest.raises(keel.RunFailedError):
        await handle.result(timeout=30)  # asking again gives the same outcome


async def test_idempotent_start_returns_the_same_run(make_app, clock):
    app = make_app(clock)
    calls = Counter()

    @app.step(name="send")
    def send(to: str) -> str:
        calls[to] += 1
        return f"sent to {to}"

    @app.workflow(name="mail")
    async def mail(ctx, to: str) -> str:
        return await ctx.run(send, to)

    first = app.start(mail, "ada", idempotency_key="order-42")
    second = app.start(mail, "ada", idempotency_key="order-42")
    assert first.created is True
    assert second.created is False
    assert second.run_id == first.run_id
    assert len(app.store.list_runs()) == 1

    assert await first.result(timeout=30) == "sent to ada"
    third = app.start(mail, "ada", idempotency_key="order-42")  # also after it finished
    assert (third.run_id, third.created) == (first.run_id, False)
    assert await third.result(timeout=30) == "sent to ada"
    other = app.start(mail, "bob", idempotency_key="order-43")
    assert other.created and other.run_id != first.run_id
    assert len(app.store.list_runs()) == 2
    assert calls == {"ada": 1}


async def test_concurrent_idempotent_starts_create_one_run(make_app, clock):
    app = make_app(clock)

    @app.workflow(name="once")
    async def once(ctx, n: int) -> int:
        return n

    handles = await asyncio.gather(
        *(asyncio.to_thread(app.start, once, 1, idempotency_key="same-key") for _ in range(8))
    )
    assert len({h.run_id for h in handles}) == 1
    assert sorted(h.created for h in handles) == [False] * 7 + [True]
    assert len(app.store.list_runs()) == 1
    assert [t["to_status"] for t in app.store.transitions(handles[0].run_id)] == ["pending"]


# -- serialization ------------------------------------------------------------------------------


class Quote(BaseModel):
    sku: str
    price: float


@dataclasses.dataclass
class Receipt:
    sku: str
    total: float


class Opaque:
    pass


@pytest.mark.parametrize("bad", [{"a", "b"}, Opaque()], ids=["set", "class-instance"])
async def test_non_json_step_result_fails_loudly(make_app, clock, bad):
    app = make_app(clock)
    calls = 0

    @app.step(name="leaky", retry=RetryPolicy(max_attempts=3, initial_backoff=0))
    def leaky() -> object:
        nonlocal calls
        calls += 1
        return bad

    @app.workflow(name="leak")
    async def leak(ctx) -> None:
        await ctx.run(leaky)

    handle = app.start(leak)
    with pytest.raises(keel.StepFailedError):
        await handle.result(timeout=30)
    run = handle.get()
    assert run.status == "dead_letter"
    assert run.failed_step == "leaky"
    message = json.loads(run.error)["message"]
    assert "SerializationError" in message
    assert "not JSON-serializable" in message
    assert calls == 1  # a value that cannot be stored is not worth retrying
    assert app.store.load_journal(handle.run_id) == []


async def test_non_json_workflow_result_fails_the_run(make_app, clock):
    app = make_app(clock)

    @app.workflow(name="bad_result")
    async def bad_result(ctx) -> object:
        return Opaque()

    handle = app.start(bad_result)
    with pytest.raises(keel.RunFailedError, match="not JSON-serializable"):
        await handle.result(timeout=30)
    assert json.loads(handle.get().error)["type"] == "SerializationError"


async def test_models_and_dataclasses_round_trip_typed(make_app, clock, drive_once):
    app = make_app(clock)
    seen: list[tuple[str, type, type, type]] = []

    @app.step(name="quote")
    def quote(sku: str) -> Quote:
        return Quote(sku=sku, price=9.5)

    @app.step(name="receipt")
    def receipt(q: Quote, qty: int) -> Receipt:
        return Receipt(sku=q.sku, total=q.price * qty)

    @app.workflow(name="shop")
    async def shop(ctx, wanted: Quote, qty: int) -> Receipt:
        q = await ctx.run(quote, wanted.sku)
        r = await ctx.run(receipt, q, qty)
        seen.append(("before sleep", type(wanted), type(q), type(r)))
        await ctx.sleep(60)
        seen.append(("after sleep", type(wanted), type(q), type(r)))
        return r

    handle = app.start(shop, Quote(sku="A1", price=0), qty=2)
    assert await drive_once(app) == "waiting"
    journal = app.store.load_journal(handle.run_id)
    assert json.loads(journal[0].result) == {"sku": "A1", "price": 9.5}
    assert json.loads(journal[1].result) == {"sku": "A1", "total": 19.0}

    clock.advance(60)
    result = await handle.result(timeout=30)
    assert result == Receipt(sku="A1", total=19.0)
    assert isinstance(result, Receipt)
    assert len(seen) == 3  # first execution, then the replay after the sleep
    assert all(tuple(types) == (Quote, Quote, Receipt) for _, *types in seen)


async def test_large_results_are_stored_as_blobs(make_app, clock, drive_once):
    app = make_app(clock, blob_threshold_bytes=1024)
    big = [f"line {i}: {'x' * 20}" for i in range(200)]
    calls = Counter()

    @app.step(name="fetch")
    def fetch() -> list[str]:
        calls["fetch"] += 1
        return big

    @app.step(name="small")
    def small() -> str:
        calls["small"] += 1
        return "tiny"

    @app.workflow(name="bulky")
    async def bulky(ctx) -> dict:
        data = await ctx.run(fetch)
        tiny = await ctx.run(small)
        await ctx.sleep(60)
        return {"n": len(data), "first": data[0], "last": data[-1], "tiny": tiny, "same": data == big}

    handle = app.start(bulky)
    assert await drive_once(app) == "waiting"
    fetched, tiny, _ = app.store.load_journal(handle.run_id)
    assert fetched.result is None
    assert fetched.result_ref is not None and len(fetched.result_ref) == 64
    assert json.loads(app.store.get_blob(fetched.result_ref)) == big
    assert (tiny.result, tiny.result_ref) == ('"tiny"', None)
    blobs = app.store.read(lambda c: c.execute(select(func.count()).select_from(schema.blobs)).scalar_one())
    assert blobs == 1

    clock.advance(60)
    result = await handle.result(timeout=30)
    assert result == {"n": 200, "first": big[0], "last": big[-1], "tiny": "tiny", "same": True}
    assert calls == {"fetch": 1, "small": 1}


# -- versions and non-determinism -----------------------------------------------------------------


async def test_runs_are_pinned_to_their_workflow_version(make_app, caplog):
    app_v1 = make_app()

    async def greet_v1(ctx, who: str) -> str:
        return f"hello {who} (v1)"

    async def greet_v2(ctx, who: str) -> str:
        return f"hi {who} (v2)"

    app_v1.workflow(name="greet", version="1")(greet_v1)
    old_run = app_v1.start("greet", "ada")

    app_v2 = make_app()
    app_v2.workflow(name="greet", version="2")(greet_v2)
    assert await app_v2.engine.claim(10) == []

    worker = app_v2.worker(concurrency=2)
    with caplog.at_level(logging.WARNING, logger="keel.worker"):
        task = asyncio.create_task(worker.run())
        try:
            for _ in range(200):
                if any("no version 1 is registered" in r.getMessage() for r in caplog.records):
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.15)  # a few more polls
        finally:
            worker.stop()
            await asyncio.wait_for(task, 30)
    warnings = [r.getMessage() for r in caplog.records if r.name == "keel.worker" and r.levelno == logging.WARNING]
    assert any("greet" in m and "version 1" in m for m in warnings)
    assert old_run.status() == "pending"
    assert old_run.get().fencing_token == 0  # never claimed

    both = make_app()
    both.workflow(name="greet", version="1")(greet_v1)
    both.workflow(name="greet", version="2")(greet_v2)
    new_run = both.start("greet", "bob")  # the newest registered version
    assert new_run.get().workflow_version == "2"
    assert await both.handle(old_run.run_id).result(timeout=30) == "hello ada (v1)"
    assert await new_run.result(timeout=30) == "hi bob (v2)"


def build_nd(
    app: keel.App, first: str, counts: Counter[str], swallow: bool = False, caught: list | None = None
) -> None:
    @app.step(name="step_a")
    def step_a() -> str:
        counts["step_a"] += 1
        return "a"

    @app.step(name="step_b")
    def step_b() -> str:
        counts["step_b"] += 1
        return "b"

    @app.step(name="finish")
    def finish() -> str:
        counts["finish"] += 1
        return "done"

    chosen = step_a if first == "step_a" else step_b

    @app.workflow(name="nd")
    async def nd(ctx) -> str:
        if swallow:
            try:
                await ctx.run(chosen)
            except Exception as exc:  # noqa: BLE001 - user code that swallows everything
                assert caught is not None
                caught.append(exc)
        else:
            await ctx.run(chosen)
        await ctx.sleep(60)
        return await ctx.run(finish)


@pytest.mark.parametrize("swallow", [False, True], ids=["plain", "wrapped-in-try-except"])
@pytest.mark.parametrize("timer_due", [True, False], ids=["timer-due", "timer-not-due"])
async def test_changed_code_is_detected_as_non_determinism(make_app, clock, drive_once, swallow, timer_due):
    counts: Counter[str] = Counter()
    app1 = make_app(clock)
    build_nd(app1, "step_a", counts)
    handle = app1.start("nd")
    assert await drive_once(app1) == "waiting"
    app1.close()

    if timer_due:
        clock.advance(61)
    caught: list = []
    app2 = make_app(clock)  # a deploy changed the workflow: step_b where step_a was
    build_nd(app2, "step_b", counts, swallow=swallow, caught=caught)
    app2.signal(handle.run_id, "poke")  # a signal makes a waiting run claimable now, timer due or not
    assert await drive_once(app2) == "failed"

    run = handle.get()
    err = json.loads(run.error)
    assert err["type"] == "NonDeterminismError"
    assert "'step_a'" in err["message"] and "'step_b'" in err["message"]
    assert counts == {"step_a": 1}  # neither the new step nor anything after it ran
    if swallow:
        assert len(caught) == 1 and isinstance(caught[0], keel.NonDeterminismError)
    # Nothing was journaled after the mismatch.
    assert [(r.name, r.status) for r in app2.store.load_journal(handle.run_id)] == [
        ("step_a", "succeeded"),
        ("keel.sleep", "pending"),
    ]
    with pytest.raises(keel.RunFailedError, match="non_determinism|journal has"):
        await app2.handle(handle.run_id).result(timeout=30)


# -- steps ----------------------------------------------------------------------------------------


async def test_idempotency_key_is_stable_across_retries(make_app, clock):
    app = make_app(clock)
    keys: list[str] = []
    kw_keys: list[str] = []

    @app.step(name="prep")
    def prep() -> int:
        return 100

    @app.step(name="charge", retry=RetryPolicy(max_attempts=3, initial_backoff=0))
    def charge(amount: int, idempotency_key: str | None = None) -> str:
        keys.append(idempotency_key)
        if len(keys) < 3:
            raise ConnectionError("timeout talking to the bank")
        return f"charged {amount} with {idempotency_key}"

    @app.step(name="notify")
    async def notify(*, idempotency_key: str) -> str:
        kw_keys.append(idempotency_key)
        return idempotency_key

    @app.workflow(name="billing")
    async def billing(ctx) -> list:
        amount = await ctx.run(prep)
        receipt = await ctx.run(charge, amount)
        note = await ctx.run(notify)
        return [receipt, note]

    handle = app.start(billing)
    receipt, note = await handle.result(timeout=30)
    assert keys == [f"{handle.run_id}:1"] * 3
    assert receipt == f"charged 100 with {handle.run_id}:1"
    assert kw_keys == [f"{handle.run_id}:2"]
    assert note == f"{handle.run_id}:2"


async def test_step_timeout_counts_as_a_failed_attempt(make_app, clock):
    app = make_app(clock)
    calls = 0

    @app.step(name="slow", timeout=0.05, retry=RetryPolicy(max_attempts=2, initial_backoff=0))
    async def slow() -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(30)

    @app.workflow(name="impatient")
    async def impatient(ctx) -> None:
        await ctx.run(slow)

    handle = app.start(impatient)
    with pytest.raises(keel.StepFailedError):
        await handle.result(timeout=30)
    assert calls == 2
    assert "StepTimeoutError" in json.loads(handle.get().error)["message"]


async def test_replay_values_of_now_and_uuid_are_stable(make_app, clock, drive_once):
    app = make_app(clock)
    seen: list[tuple] = []

    @app.workflow(name="stamps")
    async def stamps(ctx) -> list:
        values = (ctx.now().timestamp(), str(ctx.uuid()), str(ctx.uuid()))
        seen.append(values)
        await ctx.sleep(60)
        return list(values)

    handle = app.start(stamps)
    t0 = clock.time()
    assert await drive_once(app) == "waiting"
    clock.advance(60)
    result = await handle.result(timeout=30)
    assert len(seen) == 2 and seen[0] == seen[1]
    assert result[0] == pytest.approx(t0)
    assert result[1] != result[2]


# -- workers ---------------------------------------------------------------------------------------


async def test_worker_runs_many_runs_concurrently(make_app):
    app = make_app()
    active = 0
    peak = 0

    @app.step(name="square")
    async def square(i: int) -> int:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.02)
        active -= 1
        return i * i

    @app.workflow(name="squarer")
    async def squarer(ctx, i: int) -> int:
        return await ctx.run(square, i)

    handles = [app.start(squarer, i) for i in range(20)]
    worker = app.worker(concurrency=4)
    task = asyncio.create_task(worker.run())
    try:
        for _ in range(1500):
            if app.store.count_runs("succeeded") == 20:
                break
            await asyncio.sleep(0.02)
    finally:
        worker.stop()
        await asyncio.wait_for(task, 30)
    assert [h.status() for h in handles] == ["succeeded"] * 20
    assert [json.loads(h.get().result) for h in handles] == [i * i for i in range(20)]
    assert 1 < peak <= 4


async def test_app_keeps_working_after_a_worker_stops(make_app):
    app = make_app()

    @app.workflow(name="echo")
    async def echo(ctx, x: int) -> int:
        await ctx.run(lambda: None)  # a step boundary, where a draining worker would stop
        return x

    worker = app.worker(concurrency=2)
    task = asyncio.create_task(worker.run())
    assert await app.start(echo, 1).result(timeout=30) == 1
    worker.stop()
    await asyncio.wait_for(task, 30)

    # Runs driven in this process, and a new worker, are not held by the stopped worker's drain.
    assert await asyncio.wait_for(app.run(echo, 2), 30) == 2
    worker2 = app.worker(concurrency=2)
    task2 = asyncio.create_task(worker2.run())
    try:
        handle = app.start(echo, 3)
        for _ in range(1500):
            if handle.status() == "succeeded":
                break
            await asyncio.sleep(0.02)
        assert handle.status() == "succeeded"
    finally:
        worker2.stop()
        await asyncio.wait_for(task2, 30)


async def test_a_cancelled_write_does_not_stop_the_store(make_app, clock):
    # A heartbeat cancelled mid-renewal (or any awaited write whose task is cancelled) must not
    # take the store's committer down with it: every later write would wait forever.
    app = make_app(clock)
    store = app.store
    started, release = threading.Event(), threading.Event()

    def slow(conn: object) -> str:
        started.set()
        release.wait(10)
        return "slow"

    running = asyncio.create_task(store.awrite(slow))
    assert await asyncio.to_thread(started.wait, 10)
    queued = asyncio.create_task(store.awrite(lambda conn: "queued"))
    await asyncio.sleep(0.05)
    running.cancel()
    queued.cancel()
    for task in (running, queued):
        with pytest.raises(asyncio.CancelledError):
            await task
    release.set()

    assert await asyncio.wait_for(store.awrite(lambda conn: "after"), 10) == "after"

    @app.workflow(name="still_works")
    async def still_works(ctx) -> str:
        return await ctx.run(lambda: "ok")

    assert await asyncio.wait_for(app.run(still_works), 30) == "ok"


async def test_a_failing_write_in_a_batch_fails_alone(make_app):
    """One bad checkpoint in a group commit rolls back only itself (PostgreSQL pipelines the batch)."""
    from keel.store import Claim
    from keel.store.base import _Waiter

    app = make_app()
    store = app.store
    claims = []
    for n in range(3):
        run_id = f"00000000-0000-0000-0000-00000000000{n}"
        store.create_run(
            run_id=run_id,
            workflow_name="w",
            workflow_version="1",
            input_json="{}",
            idempotency_key=None,
            org_id=None,
            user_id=None,
            target=None,
            now=1.0,
            lease_owner="me",
            lease_ttl=60.0,
        )
        claims.append(Claim(run_id, 1, False))
    row = {"seq": 0, "name": "s", "kind": "step", "status": "succeeded", "result": "1", "attempts": 1}
    ops = [store._step_checkpoint_op(c, [row], 1, 2.0, 60.0) for c in claims]
    # The middle run already has a step 0: journaling it again violates the primary key.
    store.write(store._step_checkpoint_op(claims[1], [row], 1, 2.0, 60.0))

    waiters = [_Waiter(concurrent.futures.Future(), None) for _ in ops]
    outcomes = store._committer._commit(list(zip(ops, waiters, strict=True)))

    assert outcomes[0][1] is None and outcomes[2][1] is None
    assert outcomes[1][1] is not None  # the duplicate failed...
    for c in (claims[0], claims[2]):  # ...and the others are journaled
        assert [s.seq for s in store.load_journal(c.run_id)] == [0]
    assert len(store.load_journal(claims[1].run_id)) == 1
