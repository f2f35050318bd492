"""Failure handling on both databases: retries and backoff, the dead-letter queue, compensation,
cancellation and circuit breakers."""

from __future__ import annotations

import json
from collections import Counter

import pytest

import keel
from keel import RetryPolicy


def _error(run: object) -> dict:
    return json.loads(run.error)  # type: ignore[attr-defined]


# -- retries and backoff ------------------------------------------------------------------------


async def test_retry_backoff_waits_stay_under_each_ceiling(make_app, clock):
    app = make_app(clock)
    calls: list[float] = []

    @app.step(name="flaky", retry=RetryPolicy(max_attempts=4, initial_backoff=1, multiplier=2, max_backoff=3))
    def flaky() -> str:
        calls.append(clock.time())
        raise ConnectionError("upstream down")

    @app.workflow()
    async def wf(ctx):
        return await ctx.run(flaky)

    handle = app.start(wf)
    with pytest.raises(keel.StepFailedError):
        await handle.result(timeout=30)

    assert len(calls) == 4  # exactly max_attempts, no more
    assert len(clock.sleeps) == 3
    for wait, ceiling in zip(clock.sleeps, [1.0, 2.0, 3.0], strict=True):
        assert 0.0 <= wait <= ceiling
    # The waits happened between the attempts.
    assert [b - a for a, b in zip(calls, calls[1:], strict=False)] == pytest.approx(
        clock.sleeps, abs=1e-6
    )  # epoch-sized floats
    run = handle.get()
    assert run.status == "dead_letter"
    assert run.failed_step == "flaky"
    assert "failed after 4 attempt(s)" in _error(run)["message"]
    assert "upstream down" in _error(run)["message"]


async def test_retry_without_jitter_waits_exactly_the_ceilings_and_then_succeeds(make_app, clock):
    app = make_app(clock)
    calls = 0

    @app.step(
        name="flaky", retry=RetryPolicy(max_attempts=4, initial_backoff=1, multiplier=2, max_backoff=3, jitter=False)
    )
    def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 4:
            raise ConnectionError("not yet")
        return "finally"

    @app.workflow()
    async def wf(ctx) -> str:
        return await ctx.run(flaky)

    assert await app.run(wf) == "finally"
    assert calls == 4
    assert clock.sleeps == [1.0, 2.0, 3.0]
    [row] = app.store.load_journal(app.store.list_runs()[0].run_id)
    assert (row.name, row.status, row.attempts) == ("flaky", "succeeded", 4)


class QuotaExceeded(ValueError):
    pass


@pytest.mark.parametrize(
    "exc",
    [ValueError("bad request"), QuotaExceeded("subclass of a listed type"), keel.NonRetryableError("card declined")],
    ids=["listed-type", "subclass-of-listed-type", "NonRetryableError"],
)
async def test_non_retryable_errors_stop_at_once(make_app, clock, exc):
    app = make_app(clock)
    calls = 0

    @app.step(name="pay", retry=RetryPolicy(max_attempts=5, non_retryable=(ValueError,)))
    def pay() -> None:
        nonlocal calls
        calls += 1
        raise exc

    @app.workflow()
    async def wf(ctx):
        await ctx.run(pay)

    handle = app.start(wf)
    with pytest.raises(keel.StepFailedError):
        await handle.result(timeout=30)
    assert calls == 1
    assert clock.sleeps == []
    run = handle.get()
    assert run.status == "dead_letter"
    assert type(exc).__name__ in _error(run)["message"]


# -- dead-letter queue and resume ---------------------------------------------------------------


async def test_dead_letter_parks_and_resume_retries_with_a_fresh_budget(make_app, clock):
    app = make_app(clock)
    counts: Counter[str] = Counter()
    failures_left = [3]  # two to exhaust the first budget, one more after resume

    @app.step(name="reserve")
    def reserve(item: str) -> str:
        counts["reserve"] += 1
        return f"R-{item}"

    @app.step(name="charge", retry=RetryPolicy(max_attempts=2, initial_backoff=0))
    def charge(reservation: str) -> str:
        counts["charge"] += 1
        if failures_left[0] > 0:
            failures_left[0] -= 1
            raise ConnectionError("payment gateway down")
        return f"paid {reservation}"

    @app.step(name="ship")
    def ship(receipt: str) -> str:
        counts["ship"] += 1
        return f"{receipt}, shipped"

    @app.workflow(name="order")
    async def order(ctx, item: str) -> str:
        reservation = await ctx.run(reserve, item)
        receipt = await ctx.run(charge, reservation)
        return await ctx.run(ship, receipt)

    handle = app.start(order, "book")
    with pytest.raises(keel.StepFailedError, match="dead-letter"):
        await handle.result(timeout=30)
    run = handle.get()
    assert run.status == "dead_letter"
    assert run.failed_step == "charge"
    assert _error(run)["type"] == "StepFailedError"
    assert "payment gateway down" in _error(run)["message"]
    assert counts == {"reserve": 1, "charge": 2}
    assert run.lease_owner is None
    assert await app.engine.claim(1) == []  # parked runs are not picked up

    resumed = app.resume(handle.run_id)
    assert (resumed.status, resumed.attempt, resumed.failed_step, resumed.error) == ("pending", 0, None, None)

    # One more failure after resume is absorbed: the attempt budget is fresh.
    assert await handle.result(timeout=30) == "paid R-book, shipped"
    assert counts == {"reserve": 1, "charge": 4, "ship": 1}  # reserve did not run again
    journal = app.store.load_journal(handle.run_id)
    assert [(r.name, r.attempts) for r in journal] == [("reserve", 1), ("charge", 2), ("ship", 1)]
    moves = [(t["from_status"], t["to_status"]) for t in app.store.transitions(handle.run_id)]
    assert ("running", "dead_letter") in moves
    assert ("dead_letter", "pending") in moves
    assert moves[-1] == ("running", "succeeded")

    with pytest.raises(keel.InvalidStateError):
        app.resume(handle.run_id)  # only parked runs can be resumed


# -- compensation -------------------------------------------------------------------------------


def build_trip(app: keel.App, log: list, on_failure: str = "park"):
    """Three bookings with compensations (by name, plain function, decorated function); payment fails."""

    @app.step(name="undo_flight")
    def undo_flight(city: str, result: dict) -> None:
        log.append(("undo_flight", city, result))

    def release_hotel(city: str, nights: int, result: dict) -> None:  # never decorated
        log.append(("release_hotel", city, nights, result))

    @app.step(name="return_car")
    async def return_car(city: str, *, result: dict) -> None:
        log.append(("return_car", city, result))

    @app.step(name="book_flight", compensate="undo_flight")
    def book_flight(city: str) -> dict:
        log.append(("book_flight", city))
        return {"flight": f"F-{city}"}

    @app.step(name="book_hotel", compensate=release_hotel)
    def book_hotel(city: str, nights: int) -> dict:
        log.append(("book_hotel", city, nights))
        return {"hotel": f"H-{city}", "nights": nights}

    @app.step(name="rent_car", compensate=return_car)
    async def rent_car(city: str) -> dict:
        log.append(("rent_car", city))
        return {"car": f"C-{city}"}

    @app.step(name="pay", retry=RetryPolicy(max_attempts=2, initial_backoff=0))
    def pay(total: int) -> None:
        log.append(("pay", total))
        raise ConnectionError("card processor unreachable")

    @app.workflow(name="trip", on_failure=on_failure)
    async def trip(ctx, city: str) -> str:
        await ctx.run(book_flight, city)
        await ctx.run(book_hotel, city, nights=3)
        await ctx.run(rent_car, city)
        await ctx.run(pay, 900)
        return "booked"

    return trip


EXPECTED_COMPENSATIONS = [
    ("return_car", "Oslo", {"car": "C-Oslo"}),
    ("release_hotel", "Oslo", 3, {"hotel": "H-Oslo", "nights": 3}),
    ("undo_flight", "Oslo", {"flight": "F-Oslo"}),
]


def _assert_compensated(app: keel.App, run_id: str, log: list) -> None:
    first_comp = next(i for i, e in enumerate(log) if e[0] in ("return_car", "release_hotel", "undo_flight"))
    assert log[first_comp:] == EXPECTED_COMPENSATIONS  # reverse order, original args plus result=
    journal = app.store.load_journal(run_id)
    comps = [r for r in journal if r.kind == "compensation"]
    assert [r.name.rsplit(".", 1)[-1] for r in comps] == ["return_car", "release_hotel", "undo_flight"]
    assert [json.loads(r.args)["for_seq"] for r in comps] == [2, 1, 0]
    assert all(r.status == "succeeded" for r in comps)
    run = app.store.get_run(run_id)
    assert run.status == "failed"
    assert "aborted and compensated" in json.loads(run.error)["message"]


async def test_abort_compensates_completed_steps_in_reverse_order(make_app, clock, drive_once):
    app = make_app(clock)
    log: list = []
    trip = build_trip(app, log)
    handle = app.start(trip, "Oslo")
    with pytest.raises(keel.StepFailedError):
        await handle.result(timeout=30)
    assert handle.status() == "dead_letter"
    assert [e[0] for e in log] == ["book_flight", "book_hotel", "rent_car", "pay", "pay"]

    record = app.abort(handle.run_id)
    assert record.status == "compensating"
    with pytest.raises(keel.RunFailedError, match="failed"):
        await handle.result(timeout=30)
    _assert_compensated(app, handle.run_id, log)
    assert [e for e in log if e[0] == "pay"] == [("pay", 900)] * 2  # the failed step was not retried
    moves = [(t["from_status"], t["to_status"]) for t in app.store.transitions(handle.run_id)]
    assert ("dead_letter", "compensating") in moves and moves[-1] == ("compensating", "failed")

    with pytest.raises(keel.InvalidStateError):
        app.abort(handle.run_id)  # a finished run cannot be aborted


async def test_abort_is_only_for_parked_runs(make_app, clock):
    app = make_app(clock)
    trip = build_trip(app, [])
    handle = app.start(trip, "Oslo")
    with pytest.raises(keel.InvalidStateError, match="pending"):
        app.abort(handle.run_id)
    assert handle.status() == "pending"


@pytest.mark.parametrize("blob_threshold", [256 * 1024, 16], ids=["inline-results", "blob-results"])
async def test_on_failure_compensate_compensates_without_parking(make_app, clock, blob_threshold):
    app = make_app(clock, blob_threshold_bytes=blob_threshold)  # compensations get results from blobs too
    log: list = []
    trip = build_trip(app, log, on_failure="compensate")
    handle = app.start(trip, "Oslo")
    with pytest.raises(keel.RunFailedError):
        await handle.result(timeout=30)
    _assert_compensated(app, handle.run_id, log)
    statuses = {t["to_status"] for t in app.store.transitions(handle.run_id)}
    assert "dead_letter" not in statuses
    assert "compensating" in statuses


# -- cancellation -------------------------------------------------------------------------------


@pytest.mark.parametrize("wait", ["sleep", "signal"])
async def test_cancel_a_waiting_run_compensates_and_ends_cancelled(make_app, clock, drive_once, wait):
    app = make_app(clock)
    log: list = []

    @app.step(name="unreserve")
    def unreserve(item: str, result: str) -> None:
        log.append(("unreserve", item, result))

    @app.step(name="reserve", compensate="unreserve")
    def reserve(item: str) -> str:
        log.append(("reserve", item))
        return item.upper()

    @app.step(name="after_wait")
    def after_wait() -> None:
        log.append(("after_wait",))

    @app.workflow(name="holder")
    async def holder(ctx, item: str) -> None:
        await ctx.run(reserve, item)
        if wait == "sleep":
            await ctx.sleep(3600)
        else:
            await ctx.wait_for_signal("go")
        await ctx.run(after_wait)

    handle = app.start(holder, "seat")
    assert await drive_once(app) == "waiting"
    assert handle.status() == "waiting"

    app.cancel(handle.run_id)
    with pytest.raises(keel.RunFailedError, match="cancelled"):
        await handle.result(timeout=30)
    run = handle.get()
    assert run.status == "cancelled"
    assert run.error is None
    assert log == [("reserve", "seat"), ("unreserve", "seat", "SEAT")]
    moves = [(t["from_status"], t["to_status"]) for t in app.store.transitions(handle.run_id)]
    assert ("running", "compensating") in moves
    assert moves[-1] == ("compensating", "cancelled")
    with pytest.raises(keel.InvalidStateError):
        app.cancel(handle.run_id)


async def test_cancel_stops_a_running_run_at_the_next_step_boundary(make_app, clock):
    app = make_app(clock)
    log: list = []

    @app.step(name="undo_first")
    def undo_first(run_id: str, result: int) -> None:
        log.append(("undo_first", result))

    @app.step(name="first", compensate="undo_first")
    def first(run_id: str) -> int:
        log.append(("first",))
        app.cancel(run_id)  # the operator cancels while this step is running
        return 1

    @app.step(name="second")
    def second() -> None:
        log.append(("second",))

    @app.workflow()
    async def wf(ctx) -> None:
        await ctx.run(first, ctx.run_id)
        await ctx.run(second)

    handle = app.start(wf)
    with pytest.raises(keel.RunFailedError, match="cancelled"):
        await handle.result(timeout=30)
    assert log == [("first",), ("undo_first", 1)]
    assert handle.status() == "cancelled"


# -- circuit breakers ---------------------------------------------------------------------------


async def test_circuit_breaker_opens_waits_half_opens_and_closes(make_app, clock):
    app = make_app(clock)
    outcomes = iter([False, False, False, True])  # fail, fail (opens), failed trial, good trial
    calls: list[tuple[float, str | None]] = []
    while_open: list[str | None] = []

    def state() -> str | None:
        b = app.store.get_breaker("call_api")
        return b.state if b else None

    def listener(event: object) -> None:
        if isinstance(event, keel.StepEvent) and event.status == "waiting":
            while_open.append(state())

    app.listeners.append(listener)

    @app.step(
        name="call_api",
        retry=RetryPolicy(max_attempts=4, initial_backoff=0, jitter=False),
        breaker=keel.CircuitBreaker(failure_threshold=2, reset_timeout=10),
    )
    def call_api() -> str:
        calls.append((clock.time(), state()))
        if not next(outcomes):
            raise ConnectionError("503")
        return "ok"

    @app.workflow()
    async def wf(ctx) -> str:
        return await ctx.run(call_api)

    t0 = clock.time()
    assert await app.run(wf) == "ok"
    assert calls == [
        (t0, None),  # closed, never failed
        (t0, "closed"),  # one failure so far; the second opens it
        (t0 + 10, "half_open"),  # not called while open: the trial comes after the cool-down
        (t0 + 20, "half_open"),  # the failed trial re-opened it for another cool-down
    ]
    assert while_open and set(while_open) == {"open"}
    final = app.store.get_breaker("call_api")
    assert (final.state, final.failures) == ("closed", 0)
    [row] = app.store.load_journal(app.store.list_runs()[0].run_id)
    assert row.attempts == 4  # waiting while open spent no attempt


async def test_circuit_breaker_state_is_shared_through_the_database(make_app, clock):
    breaker = keel.CircuitBreaker(failure_threshold=2, reset_timeout=30, key="payments-api")
    calls_a = 0
    calls_b: list[float] = []

    app_a = make_app(clock)

    @app_a.step(name="charge_a", retry=RetryPolicy(max_attempts=2, initial_backoff=0), breaker=breaker)
    def charge_a() -> None:
        nonlocal calls_a
        calls_a += 1
        raise ConnectionError("payments api down")

    @app_a.workflow(name="wf_a")
    async def wf_a(ctx) -> None:
        await ctx.run(charge_a)

    with pytest.raises(keel.StepFailedError):
        await app_a.run(wf_a)
    assert calls_a == 2
    opened_at = clock.time()

    # Another app (another worker, in production another machine) sees the open breaker.
    app_b = make_app(clock)
    seen = app_b.store.get_breaker("payments-api")
    assert (seen.state, seen.failures, seen.opened_at) == ("open", 2, opened_at)

    @app_b.step(name="charge_b", retry=RetryPolicy(max_attempts=1), breaker=breaker)
    def charge_b() -> str:
        calls_b.append(clock.time())
        return "charged"

    @app_b.workflow(name="wf_b")
    async def wf_b(ctx) -> str:
        return await ctx.run(charge_b)

    # One attempt only: it must not be spent while the breaker is open.
    assert await app_b.run(wf_b) == "charged"
    assert len(calls_b) == 1
    assert calls_b[0] >= opened_at + 30
    assert app_a.store.get_breaker("payments-api").state == "closed"


class Crash(BaseException):
    """Stands in for the worker process dying in the middle of a step."""


async def test_attempt_budget_survives_a_worker_crash(make_app, clock, drive_once):
    calls: list[str] = []

    def build(app: keel.App) -> None:
        @app.step(name="fragile", retry=RetryPolicy(max_attempts=3, initial_backoff=0))
        def fragile() -> None:
            calls.append(app.name)
            if len(calls) == 2:
                raise Crash()
            raise ConnectionError("still failing")

        @app.workflow(name="crashy")
        async def crashy(ctx) -> None:
            await ctx.run(fragile)

    app1 = make_app(clock, name="first", lease_ttl_s=5)
    build(app1)
    handle = app1.start("crashy")
    with pytest.raises(Crash):
        await drive_once(app1)  # attempt 1 failed and was recorded; attempt 2 died with the worker
    run = handle.get()
    assert (run.status, run.attempt, run.failed_step) == ("running", 1, "fragile")
    assert run.lease_owner is not None

    app2 = make_app(clock, name="second", lease_ttl_s=5)
    build(app2)
    assert await drive_once(app2) is None  # the dead worker's lease has not lapsed yet
    clock.advance(6)
    assert await drive_once(app2) == "dead_letter"
    # Attempts 2 and 3 ran on the second worker: the budget of 3 was not restarted by the crash.
    assert calls == ["first", "first", "second", "second"]
    assert "failed after 3 attempt(s)" in _error(handle.get())["message"]


async def test_failed_compensation_parks_and_resume_finishes_it(make_app, clock):
    app = make_app(clock)
    log: list[str] = []
    broken = [True]

    @app.step(name="undo_a")
    def undo_a(result: str) -> None:
        log.append("undo_a")

    @app.step(name="undo_b", retry=RetryPolicy(max_attempts=2, initial_backoff=0))
    def undo_b(result: str) -> None:
        log.append("undo_b")
        if broken[0]:
            raise ConnectionError("cannot undo yet")

    @app.step(name="undo_c")
    def undo_c(result: str) -> None:
        log.append("undo_c")

    @app.step(name="a", compensate="undo_a")
    def a() -> str:
        return "a"

    @app.step(name="b", compensate="undo_b")
    def b() -> str:
        return "b"

    @app.step(name="c", compensate="undo_c")
    def c() -> str:
        return "c"

    @app.step(name="boom", retry=RetryPolicy(max_attempts=1))
    def boom() -> None:
        raise RuntimeError("boom")

    @app.workflow(name="saga", on_failure="compensate")
    async def saga(ctx) -> None:
        for step in (a, b, c, boom):
            await ctx.run(step)

    handle = app.start(saga)
    with pytest.raises(keel.StepFailedError):
        await handle.result(timeout=30)
    run = handle.get()
    assert (run.status, run.failed_step) == ("dead_letter", "undo_b")
    assert log == ["undo_c", "undo_b", "undo_b"]

    broken[0] = False
    app.resume(handle.run_id)
    with pytest.raises(keel.RunFailedError):
        await handle.result(timeout=30)
    assert handle.status() == "failed"
    assert log == ["undo_c", "undo_b", "undo_b", "undo_b", "undo_a"]  # undo_c was not run twice
    comps = [
        (r.name, json.loads(r.args)["for_seq"])
        for r in app.store.load_journal(handle.run_id)
        if r.kind == "compensation"
    ]
    assert comps == [("undo_c", 2), ("undo_b", 1), ("undo_a", 0)]


async def test_cancel_a_pending_run(make_app, clock):
    app = make_app(clock)
    ran: list[str] = []

    @app.workflow(name="never")
    async def never(ctx) -> None:
        ran.append("workflow")

    handle = app.start(never)
    assert app.cancel(handle.run_id).control == "cancel"
    with pytest.raises(keel.RunFailedError, match="cancelled"):
        await handle.result(timeout=30)
    assert handle.status() == "cancelled"
    assert ran == []


async def test_hold_during_on_failure_compensation_releases_the_run(make_app, clock, drive_once):
    app = make_app(clock)
    log: list[str] = []

    @app.step(name="undo_book", retry=RetryPolicy(max_attempts=3, initial_backoff=0))
    def undo_book(run_id: str, result: str) -> None:
        log.append("undo_book")
        if len(log) == 1:
            app.pause(run_id)  # the operator pauses the run while it compensates
            raise ConnectionError("flaky undo")

    @app.step(name="book", compensate="undo_book")
    def book(run_id: str) -> str:
        return "booked"

    @app.step(name="fail", retry=RetryPolicy(max_attempts=1))
    def fail() -> None:
        raise RuntimeError("nope")

    @app.workflow(name="held_saga", on_failure="compensate")
    async def held_saga(ctx) -> None:
        await ctx.run(book, ctx.run_id)
        await ctx.run(fail)

    handle = app.start(held_saga)
    # Held at the retry boundary: the lease is released cleanly (no internal error escapes).
    assert await drive_once(app) == "waiting"
    run = handle.get()
    assert (run.paused, run.lease_owner, run.control) == (True, None, "abort")

    # A run with a pending abort stays claimable while paused (operator controls go first),
    # so the compensation is finished by the next claim.
    with pytest.raises(keel.RunFailedError):
        await handle.result(timeout=30)
    assert handle.status() == "failed"
    assert log == ["undo_book", "undo_book"]


@pytest.mark.parametrize("control", ["abort", "cancel"])
async def test_compensation_after_a_restart_with_undecorated_steps(make_app, clock, control):
    log: list[str] = []

    def fetch_profile(user: str) -> dict:  # a plain function run as a step: no policies, no compensation
        log.append("fetch_profile")
        return {"user": user}

    def build(app: keel.App) -> None:
        @app.step(name="refund")
        def refund(user: str, result: str) -> None:
            log.append(f"refund {result}")

        @app.step(name="charge", compensate="refund")
        def charge(user: str) -> str:
            log.append("charge")
            return f"txn-{user}"

        @app.step(name="deliver", retry=RetryPolicy(max_attempts=1))
        def deliver(profile: dict) -> None:
            log.append("deliver")
            raise ConnectionError("courier offline")

        @app.workflow(name="purchase")
        async def purchase(ctx, user: str) -> None:
            profile = await ctx.run(fetch_profile, user)
            await ctx.run(charge, user)
            await ctx.run(deliver, profile)

    app1 = make_app(clock)
    build(app1)
    handle = app1.start("purchase", "ada")
    with pytest.raises(keel.StepFailedError):
        await handle.result(timeout=30)
    app1.close()

    app2 = make_app(clock)  # a fresh process: the plain function was never seen by its registry
    build(app2)
    getattr(app2, control)(handle.run_id)
    with pytest.raises(keel.RunFailedError):
        await app2.handle(handle.run_id).result(timeout=30)
    assert app2.store.get_run(handle.run_id).status == ("failed" if control == "abort" else "cancelled")
    assert log == ["fetch_profile", "charge", "deliver", "refund txn-ada"]


async def test_each_call_of_a_retried_step_gets_a_full_budget_after_a_hold(make_app, clock, drive_once):
    # Two calls of one step, each failing twice before it succeeds, with the run held (paused)
    # between them: the second call must not inherit the first call's used attempts.
    app = make_app(clock)
    calls: Counter[int] = Counter()

    @app.step(name="flaky", retry=RetryPolicy(max_attempts=3, initial_backoff=0))
    def flaky(i: int, run_id: str) -> int:
        calls[i] += 1
        if calls[i] < 3:
            raise ConnectionError(f"call {i} attempt {calls[i]} failed")
        if i == 0:
            app.pause(run_id)  # the run stops at the next step boundary
        return i

    @app.workflow(name="twice")
    async def twice(ctx) -> list:
        return [await ctx.run(flaky, 0, ctx.run_id), await ctx.run(flaky, 1, ctx.run_id)]

    handle = app.start(twice)
    assert await drive_once(app) == "waiting"
    assert calls == {0: 3}
    app.unpause(handle.run_id)
    assert await handle.result(timeout=30) == [0, 1]
    assert calls == {0: 3, 1: 3}
    assert [r.attempts for r in app.store.load_journal(handle.run_id)] == [3, 3]
