"""The kill switch on both databases: new runs refused, runs in flight held at a step boundary and
resumed on release, credentials revoked, the two-person release, status and the audit record."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client import REGISTRY

import keel
from keel.errors import CredentialError, InvalidStateError, UsageError
from keel.governance import AuditLog, CheckpointPolicy, Signer
from keel.governance.killswitch import KillSwitch
from keel.store import Store
from keel.tools.credentials import CredentialBroker, Verifier


def switch_for(store: Store) -> tuple[KillSwitch, AuditLog]:
    audit = AuditLog(store, signer=Signer.generate(), policy=CheckpointPolicy(every=3, seconds=3600))
    return KillSwitch(store, audit=audit, webhook=None), audit


def simple_app(make_app: Callable[..., keel.App]) -> keel.App:
    app = make_app()

    @app.step()
    def greet(name: str) -> str:
        return f"hello {name}"

    @app.workflow()
    async def hello(ctx: keel.Context, name: str) -> str:
        return str(await ctx.run(greet, name))

    return app


def test_status_of_a_switch_never_engaged(make_app: Callable[..., keel.App]) -> None:
    app = simple_app(make_app)
    state = KillSwitch(app.store, webhook=None).status()
    assert not state.engaged and state.incident == 0 and state.reason is None
    assert app.store.kill_switch_reason() is None


def test_engaged_switch_refuses_new_runs_until_two_approvers_release_it(make_app: Callable[..., keel.App]) -> None:
    app = simple_app(make_app)
    switch, _ = switch_for(app.store)
    outcome = switch.engage("suspected prompt-injection campaign", "alice")
    assert outcome.state.engaged and outcome.state.engaged_by == "alice" and outcome.state.incident == 1
    assert outcome.webhook == "not configured" and outcome.audit_error is None

    with pytest.raises(keel.KillSwitchEngaged) as refused:
        app.start("hello", "Ada")
    assert refused.value.code == "governance.kill_switch"
    assert "suspected prompt-injection campaign" in str(refused.value)
    assert refused.value.reason == "suspected prompt-injection campaign"
    with pytest.raises(keel.KillSwitchEngaged):
        app.run_sync("hello", "Ada")
    assert app.store.list_runs() == []  # nothing was created

    switch.approve_release("bob")
    with pytest.raises(keel.KillSwitchEngaged):  # one approval is not a release
        app.start("hello", "Ada")
    switch.approve_release("carol")
    assert app.run_sync("hello", "Ada") == "hello Ada"


def test_release_needs_two_different_approvers(make_app: Callable[..., keel.App]) -> None:
    app = simple_app(make_app)
    switch, audit = switch_for(app.store)
    with pytest.raises(InvalidStateError, match="not engaged"):
        switch.approve_release("bob")
    switch.engage("drill", "alice")

    first = switch.approve_release("bob")
    assert not first.released and first.state.engaged and first.state.pending_by == "bob"
    assert switch.status().pending_by == "bob"
    with pytest.raises(InvalidStateError, match="second, different approver"):
        switch.approve_release("bob")
    with pytest.raises(InvalidStateError, match="second, different approver"):
        switch.approve_release(" BOB ")  # the same person, spelled differently
    assert switch.status().engaged

    # Engaging again voids the pending approval: a new alarm needs two new approvals.
    again = switch.engage("second alarm", "dave")
    assert again.already_engaged and again.state.reason == "drill" and again.state.pending_by is None
    assert again.state.incident == 1
    switch.approve_release("bob")
    done = switch.approve_release("carol")
    assert done.released and not done.state.engaged
    assert done.state.released_by == ("bob", "carol") and done.state.released_at is not None

    with pytest.raises(UsageError):
        switch.engage("   ", "alice")
    with pytest.raises(UsageError):
        switch.engage("why", "")
    assert switch.engage("third", "alice").state.incident == 2

    # Every step is in the audit log, refusals included, and the chain still verifies.
    entries = audit.entries()
    assert [(e.event_type, e.actor.id, e.decision) for e in entries] == [
        ("kill_switch.release_refused", "bob", "refused"),
        ("kill_switch.engaged", "alice", "engaged"),
        ("kill_switch.release_approved", "bob", "pending"),
        ("kill_switch.release_refused", "bob", "refused"),
        ("kill_switch.release_refused", "BOB", "refused"),
        ("kill_switch.engaged", "dave", "engaged"),
        ("kill_switch.release_approved", "bob", "pending"),
        ("kill_switch.released", "carol", "released"),
        ("kill_switch.engaged", "alice", "engaged"),
    ]
    engaged = entries[1]
    assert engaged.action == "kill_switch:engage" and engaged.resource == "kill_switch"
    assert engaged.data["reason"] == "drill" and engaged.data["incident"] == 1
    assert entries[7].data["approvers"] == ["bob", "carol"]
    report = audit.verify(full=True)
    assert report.ok, report.problem


def test_credentials_minted_before_engage_are_refused_after(make_app: Callable[..., keel.App]) -> None:
    app = simple_app(make_app)
    broker = CredentialBroker(app.store, key=Ed25519PrivateKey.generate())
    tokens = [
        broker.mint("refund", ["write:refunds"], org_id=org, run_id="run-1", step=3) for org in ("acme", "globex")
    ]
    verifier = Verifier(app.store)  # another process's verifier: it reads the keys and revocations from the database
    for token in tokens:
        verifier.verify(token, "write:refunds")

    switch, _ = switch_for(app.store)
    outcome = switch.engage("leaked signing key", "alice")
    assert outcome.credentials_generation == 1
    for token in tokens:
        with pytest.raises(CredentialError) as refused:
            verifier.verify(token, "write:refunds")
        assert refused.value.reason == "revoked"

    # Released: the old ones stay dead, new ones work.
    switch.approve_release("bob")
    switch.approve_release("carol")
    with pytest.raises(CredentialError):
        verifier.verify(tokens[0], "write:refunds")
    fresh = broker.mint("refund", ["write:refunds"], org_id="acme", run_id="run-2", step=0)
    assert verifier.verify(fresh, "write:refunds").org == "acme"


async def _wait_until(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.02)


async def test_runs_in_flight_finish_their_step_hold_and_continue_after_release(
    make_app: Callable[..., keel.App],
) -> None:
    app = make_app()
    started: dict[str, asyncio.Event] = {}
    go = asyncio.Event()
    executed: list[tuple[str, str]] = []

    @app.step()
    async def first(name: str) -> str:
        started.setdefault(name, asyncio.Event()).set()
        await go.wait()
        executed.append((name, "first"))
        return name

    @app.step()
    async def second(name: str) -> str:
        executed.append((name, "second"))
        return name.upper()

    @app.workflow()
    async def two_steps(ctx: keel.Context, name: str) -> str:
        await ctx.run(first, name)
        return str(await ctx.run(second, name))

    names = ["a", "b", "c"]
    for name in names:
        started[name] = asyncio.Event()
    handles = [app.start("two_steps", name) for name in names]
    worker = app.worker(concurrency=4)
    serving = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(asyncio.gather(*(started[n].wait() for n in names)), 30)
        switch, audit = switch_for(app.store)
        await asyncio.to_thread(switch.engage, "incident 42", "alice")
        await _wait_until(lambda: app.engine.kill_switch is not None, "the worker to read the kill switch")
        assert REGISTRY.get_sample_value("agent_kill_switch_active") == 1
        go.set()  # the steps in flight now finish ...

        def held() -> bool:
            runs = [h.get() for h in handles]
            return all(r.status == "waiting" and r.lease_owner is None for r in runs)

        await _wait_until(held, "every run to hold at its step boundary")
        # ... and hold: none was failed, none started its next step, and nothing is claimed again.
        assert sorted(executed) == [(n, "first") for n in names]
        await asyncio.sleep(0.3)
        assert all(h.status() == "waiting" for h in handles)
        assert sorted(executed) == [(n, "first") for n in names]
        for h in handles:
            causes = [tr["cause"] for tr in app.store.transitions(h.run_id)]
            assert "kill switch engaged: incident 42" in causes
            assert [s.name.rpartition(".")[2] for s in app.store.load_journal(h.run_id)] == ["first"]

        await asyncio.to_thread(switch.approve_release, "bob")
        await asyncio.sleep(0.3)
        assert all(h.status() == "waiting" for h in handles)  # one approval releases nothing
        await asyncio.to_thread(switch.approve_release, "carol")
        results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 30)
        assert results == ["A", "B", "C"]
        assert sorted(executed) == sorted([(n, step) for n in names for step in ("first", "second")])
        await _wait_until(lambda: app.engine.kill_switch is None, "the worker to read the release")
        assert REGISTRY.get_sample_value("agent_kill_switch_active") == 0
        assert audit.verify().ok
    finally:
        worker.stop()
        await asyncio.wait_for(serving, 30)


async def test_a_run_driven_in_process_holds_and_its_result_waits_for_the_release(
    make_app: Callable[..., keel.App],
) -> None:
    # No worker: App.run drives the run itself, and the heartbeat reads the switch for it.
    app = make_app(lease_ttl_s=0.6)
    go = asyncio.Event()
    in_first = asyncio.Event()

    @app.step()
    async def first() -> int:
        in_first.set()
        await go.wait()
        return 1

    @app.step()
    async def second(x: int) -> int:
        return x + 1

    @app.workflow()
    async def flow(ctx: keel.Context) -> int:
        return int(await ctx.run(second, await ctx.run(first)))

    running = asyncio.create_task(app.run("flow"))
    await asyncio.wait_for(in_first.wait(), 30)
    switch, _ = switch_for(app.store)
    await asyncio.to_thread(switch.engage, "drill", "alice")
    await _wait_until(lambda: app.engine.kill_switch is not None, "the heartbeat to read the kill switch")
    go.set()
    [run] = app.store.list_runs()
    await _wait_until(lambda: app.store.get_run(run.run_id).status == "waiting", "the run to hold")
    assert not running.done()
    await asyncio.to_thread(switch.approve_release, "bob")
    await asyncio.to_thread(switch.approve_release, "carol")
    assert await asyncio.wait_for(running, 30) == 2
