"""Governed tool calls end to end, on SQLite and PostgreSQL: Cedar before every call, risk thresholds,
durable human review, the two-person override, the journal, and the audit records."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import keel
from governance import governed_app
from governance.governed_setup import RESOURCES, WEIGHTS, fresh_app, install
from keel.errors import InvalidStateError, UsageError
from keel.governance.governor import NO_POLICY_REASON, KeelGovernor
from keel.governance.policy import PolicyEngine, PolicySet, PolicyStore
from keel.governance.review import ReviewDesk
from keel.governance.risk import RiskWeights
from keel.store import open_store
from keel.tools.toolbox import Toolbox

POLICY = """
@id("tools-for-everyone")
permit(principal, action in Action::"tool", resource);

@id("no-refunds-for-interns")
forbid(principal, action == Action::"tool:refund", resource) when { principal.role == "intern" };
"""


@pytest.fixture
def app(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[keel.App]:
    """The governed test App on a fresh database, every tool call counted; its governor is set per test."""
    application = fresh_app(monkeypatch, db_url)
    calls: list[str] = []
    real = Toolbox.call

    async def counted(self: Toolbox, name: str, args: dict[str, Any], **kw: Any) -> Any:
        calls.append(name)
        return await real(self, name, args, **kw)

    monkeypatch.setattr(Toolbox, "call", counted)
    application.tool_calls = calls  # type: ignore[attr-defined]
    yield application
    application.close()


def govern(app: keel.App, monkeypatch: pytest.MonkeyPatch, *, policy: Any = None, **kw: Any) -> KeelGovernor:
    governor = KeelGovernor(
        app.store,
        policy=policy,
        weights=kw.pop("weights", WEIGHTS),
        resources=RESOURCES,
        roles=kw.pop("roles", {"ivan": "intern"}),
        clock=app.clock,
        **kw,
    )
    return install(app, monkeypatch, governor)


def engine() -> PolicyEngine:
    return PolicyEngine(PolicySet.from_text(POLICY))


def decisions(app: keel.App, run_id: str) -> list[dict[str, Any]]:
    return [json.loads(e.result or "{}") for e in app.store.load_journal(run_id) if e.name.startswith("policy:tool:")]


def journal_names(app: keel.App, run_id: str) -> list[str]:
    return [e.name for e in app.store.load_journal(run_id) if e.kind != "now"]


def audit_events(db_url: str, event_type: str) -> list[dict[str, Any]]:
    """The events of a type, whether still in the outbox or already sealed into the chain."""
    store = open_store(db_url)
    try:

        def read(conn: Any) -> list[dict[str, Any]]:
            from sqlalchemy import select

            from keel.store import schema as t

            found = []
            for (text,) in conn.execute(select(t.audit_outbox.c.event)):
                event = json.loads(text)
                if event.get("event_type") == event_type:
                    found.append(event)
            e = t.audit_entries.c
            for row in conn.execute(select(t.audit_entries).where(e.event_type == event_type).order_by(e.seq)):
                found.append(
                    {
                        "event_type": row.event_type,
                        "action": row.action,
                        "decision": row.decision,
                        "policy_version": row.policy_version,
                        "risk_score": row.risk_score,
                        "actor": {"kind": row.actor_kind, "id": row.actor_id},
                        "data": json.loads(row.data),
                    }
                )
            return found

        return store.read(read)
    finally:
        store.close()


async def until_waiting(app: keel.App, handle: keel.app.RunHandle) -> None:
    """Drive the run here until it suspends (waiting on its review)."""
    claims = await app.engine.claim(1, run_id=handle.run_id)
    assert claims, "the run should be claimable"
    status = await app.engine.drive(claims[0])
    assert status == "waiting"


async def test_an_allowed_call_runs_with_its_decision_journaled_and_audited(
    app: keel.App, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    govern(app, monkeypatch, policy=engine())
    handle = app.start(governed_app.lookup_flow, "A1", org_id="acme")
    assert await handle.result(timeout=60) == {"order_id": "A1", "status": "shipped"}
    assert app.tool_calls == ["lookup"]  # type: ignore[attr-defined]
    assert journal_names(app, handle.run_id) == ["policy:tool:lookup", "tool:lookup"]
    (decision,) = decisions(app, handle.run_id)
    version = PolicySet.from_text(POLICY).version
    assert decision["decision"] == "allow"
    assert decision["risk_score"] == 5
    assert decision["policy_version"] == version
    assert decision["reasons"] == ["policy tools-for-everyone"]
    assert decision["data"]["resource"] == {"kind": "order", "id": "A1", "sensitivity": "public"}
    assert decision["data"]["principal"] == {"kind": "agent", "id": "lookup_flow", "org": "acme", "role": "agent"}
    app.close()
    (event,) = audit_events(db_url, "policy.decision")
    assert (event["action"], event["decision"], event["risk_score"], event["policy_version"]) == (
        "tool:lookup",
        "allow",
        5,
        version,
    )
    assert event["data"]["reasons"] == ["policy tools-for-everyone"]
    assert event["data"]["factors"]["tool"] == 5


async def test_a_cedar_deny_refuses_the_call_and_a_replay_refuses_again_without_asking(
    app: keel.App, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    governor = govern(app, monkeypatch, policy=engine())
    asked: list[str] = []
    real = governor.decide

    async def counting(request: Any) -> Any:
        asked.append(request.action)
        return await real(request)

    monkeypatch.setattr(governor, "decide", counting)
    handle = app.start(governed_app.refund_then_wait, "A1", org_id="acme", user_id="ivan")
    await until_waiting(app, handle)  # refused, then waiting for "go"
    assert asked == ["tool:refund"]
    app.signal(handle.run_id, "go")
    outcome = await handle.result(timeout=60)
    assert outcome.startswith("refused: tool 'refund' refused: denied by policy")
    assert "no-refunds-for-interns" in outcome
    assert asked == ["tool:refund"]  # the resumed run replayed the journaled denial
    assert app.tool_calls == []  # type: ignore[attr-defined]
    (decision,) = decisions(app, handle.run_id)
    assert decision["decision"] == "deny"
    assert decision["data"]["principal"]["role"] == "intern"
    assert not any(name == "tool:refund" for name in journal_names(app, handle.run_id))
    app.close()
    (event,) = audit_events(db_url, "policy.decision")
    assert (event["action"], event["decision"]) == ("tool:refund", "deny")


async def test_risk_at_review_at_waits_and_an_approval_resumes_it_across_a_restart(
    app: keel.App, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    govern(app, monkeypatch, policy=engine())
    handle = app.start(governed_app.refund_flow, "A1", 1999, org_id="acme")
    await until_waiting(app, handle)
    assert handle.status() == "waiting"
    assert app.tool_calls == ["lookup"]  # type: ignore[attr-defined]
    (review,) = ReviewDesk(app.store).pending()
    assert review.review_id == f"{handle.run_id}:2"
    assert (review.action, review.risk_score, review.kind, review.status) == ("tool:refund", 70, "review", "pending")
    assert review.details["factors"] == {"tool": 40, "sensitivity": 30, "external": 0, "cost": 0, "run": 0}
    # A restart: the process that waited is gone; another one decides and drives the run on.
    app.close()
    govern(app, monkeypatch, policy=engine())
    outcome = ReviewDesk(app.store).approve(review.review_id, "alice", "customer is right")
    assert outcome.decided and outcome.signalled
    assert outcome.audit_seq is not None
    assert await handle.result(timeout=60) == {"status": "shipped", "refunded": 1999}
    assert app.tool_calls == ["lookup", "refund"]  # type: ignore[attr-defined]
    assert journal_names(app, handle.run_id) == [
        "policy:tool:lookup",
        "tool:lookup",
        "policy:tool:refund",
        f"keel.signal:keel.review:{review.review_id}",
        "tool:refund",
    ]
    assert ReviewDesk(app.store).pending() == []
    app.close()
    (event,) = audit_events(db_url, "review.decision")
    assert event["actor"] == {"kind": "user", "id": "alice"}
    assert (event["action"], event["decision"], event["risk_score"]) == ("tool:refund", "approved", 70)
    assert [e["decision"] for e in audit_events(db_url, "policy.decision")] == ["allow", "review"]


async def test_a_rejection_fails_the_call_with_tool_not_allowed_and_the_reason(
    app: keel.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    govern(app, monkeypatch, policy=engine())
    handle = app.start(governed_app.refund_flow, "B2", 500, org_id="acme")
    await until_waiting(app, handle)
    (review,) = ReviewDesk(app.store).pending()
    with pytest.raises(UsageError, match="reason"):
        ReviewDesk(app.store).reject(review.review_id, "bob", "  ")
    ReviewDesk(app.store).reject(review.review_id, "bob", "refunds above policy")
    result = await handle.result(timeout=60)
    assert result["refused"] == (
        f"tool 'refund' refused: rejected in review {review.review_id} by bob: refunds above policy"
    )
    assert app.tool_calls == ["lookup"]  # type: ignore[attr-defined]
    with pytest.raises(InvalidStateError, match="already rejected"):
        ReviewDesk(app.store).approve(review.review_id, "carol")
    with pytest.raises(UsageError, match="no review"):
        ReviewDesk(app.store).approve("no-such-review", "carol")


async def test_risk_at_block_at_needs_two_different_approvers(
    app: keel.App, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    govern(app, monkeypatch, policy=engine())
    handle = app.start(governed_app.wipe_flow, "acct-9", org_id="acme")
    await until_waiting(app, handle)
    (review,) = ReviewDesk(app.store).pending()
    assert (review.kind, review.risk_score, review.needed) == ("override", 95, 2)
    desk = ReviewDesk(app.store)
    first = desk.approve(review.review_id, "alice")
    assert not first.decided and not first.signalled
    with pytest.raises(InvalidStateError, match="two-person rule"):
        desk.approve(review.review_id, " Alice ")
    # One approval keeps it waiting: a drive finds nothing to do.
    assert await app.engine.claim(1, run_id=handle.run_id) == []
    assert handle.status() == "waiting"
    assert app.tool_calls == []  # type: ignore[attr-defined]
    second = desk.approve(review.review_id, "bob")
    assert second.decided and second.signalled
    assert [a["by"] for a in second.review.approvals] == ["alice", "bob"]
    assert await handle.result(timeout=60) == {"wiped": "acct-9"}
    assert app.tool_calls == ["wipe"]  # type: ignore[attr-defined]
    app.close()
    assert [(e["actor"]["id"], e["decision"]) for e in audit_events(db_url, "review.decision")] == [
        ("alice", "pending"),
        ("Alice", "refused"),
        ("bob", "approved"),
    ]
    (policy_event,) = audit_events(db_url, "policy.decision")
    assert (policy_event["decision"], policy_event["risk_score"]) == ("block", 95)


def approve_at_once(store: Any, review_id: str, people: tuple[str, ...]) -> list[Any]:
    """Each person approves from a thread of their own, released at the same moment: changes or errors."""
    barrier = threading.Barrier(len(people))
    results: list[Any] = []

    def approve(name: str) -> None:
        barrier.wait()
        try:
            results.append(store.review_approve(review_id, by=name, reason=None, now=2.0))
        except InvalidStateError as exc:
            results.append(exc)

    threads = [threading.Thread(target=approve, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_approvers_at_once_never_both_first_approve(db_url: str) -> None:
    store = open_store(db_url, migrate=True)
    try:
        for review_id in ("r-two", "r-same"):
            store.review_request(
                review_id=review_id,
                run_id="no-such-run",
                step=0,
                action="tool:wipe",
                risk_score=95,
                policy_version=None,
                kind="override",
                details={},
                now=1.0,
            )
        for review_id, people in (("r-two", ("alice", "bob")), ("r-same", ("carol", "carol"))):
            results = approve_at_once(store, review_id, people)
            changes = [r for r in results if not isinstance(r, Exception)]
            if review_id == "r-two":
                assert sorted(c.decided for c in changes) == [False, True]
                assert store.review_get(review_id).status == "approved"  # type: ignore[union-attr]
            else:
                assert len(changes) == 1 and not changes[0].decided
                assert isinstance(next(r for r in results if isinstance(r, Exception)), InvalidStateError)
                assert store.review_get(review_id).status == "pending"  # type: ignore[union-attr]
        # The run is gone: the decision is recorded, no signal is sent.
        assert not store.review_approve("r-same", by="dave", reason=None, now=3.0).signalled
    finally:
        store.close()


async def test_without_an_active_policy_set_the_allowlist_is_the_policy_until_one_is_approved(
    app: keel.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    govern(app, monkeypatch, policy="active", without_policy="allowlist")
    first = app.start(governed_app.lookup_flow, "A1", org_id="acme", user_id="ivan")
    assert await first.result(timeout=60) == {"order_id": "A1", "status": "shipped"}
    (decision,) = decisions(app, first.run_id)
    assert (decision["decision"], decision["policy_version"], decision["reasons"]) == (
        "allow",
        None,
        [NO_POLICY_REASON],
    )
    policies = PolicyStore(app.store)
    version = policies.propose(PolicySet.from_text(POLICY), by="alice")
    policies.approve(version, by="bob")
    second = app.start(governed_app.refund_flow, "A1", 100, org_id="acme", user_id="ivan")
    result = await second.result(timeout=60)
    assert "denied by policy" in result["refused"]
    refund = decisions(app, second.run_id)[1]
    assert (refund["decision"], refund["policy_version"]) == ("deny", version)
    assert refund["data"]["principal"] == {"kind": "user", "id": "ivan", "org": "acme", "role": "intern"}


async def test_without_an_active_policy_set_every_call_is_denied_by_default(
    app: keel.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    govern(app, monkeypatch, policy=None)
    handle = app.start(governed_app.refund_flow, "A1", 100, org_id="acme")
    with pytest.raises(keel.RunFailedError, match="no active policy set"):
        await handle.result(timeout=60)
    assert app.tool_calls == []  # type: ignore[attr-defined]


async def test_the_run_score_carries_into_later_actions(app: keel.App, monkeypatch: pytest.MonkeyPatch) -> None:
    # lookup scores 5; the refund after it 40 + 30 (confidential) + 50% of the run's 5 (2) = 72.
    weights = RiskWeights(default_tool=5, tools={"refund": 40}, run_carry=50, review_at=80, block_at=95)
    govern(app, monkeypatch, policy=engine(), weights=weights)
    handle = app.start(governed_app.refund_flow, "A1", 100, org_id="acme")
    assert await handle.result(timeout=60) == {"status": "shipped", "refunded": 100}
    scores = [d["risk_score"] for d in decisions(app, handle.run_id)]
    assert scores == [5, 72]
    assert decisions(app, handle.run_id)[1]["data"]["factors"]["run"] == 2
    assert [d["data"]["run_score"] for d in decisions(app, handle.run_id)] == [5, 72]
