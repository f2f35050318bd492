"""Cedar policies: decisions over the example policies, deny by default, the version hash, and the
two-person activation on both databases with its audit record."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from keel.errors import InvalidStateError, UsageError
from keel.governance import AuditLog, CheckpointPolicy, Signer
from keel.governance.policy import (
    PolicyDecision,
    PolicyEngine,
    PolicyParseError,
    PolicyRequest,
    PolicySet,
    PolicyStore,
    Principal,
    Resource,
    aactive_engine,
    active_engine,
    bundle_version,
)
from keel.store import Store, open_store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "governance" / "policies"

SUPPORT_BOT = Principal("agent", "support-bot", "acme", "support")
ORDER = Resource("order", "8812", "acme", "internal")


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine(PolicySet.from_dir(EXAMPLES))


def ask(
    engine: PolicyEngine,
    *,
    principal: Principal = SUPPORT_BOT,
    action: str = "tool:refund",
    resource: Resource = ORDER,
    **context: int | str | bool,
) -> PolicyDecision:
    return engine.decide(PolicyRequest(principal, action, resource, context))


# -- decisions over the example policies --------------------------------------------------------


def test_a_support_agent_may_refund_in_its_own_org_under_the_risk_limit(engine: PolicyEngine) -> None:
    decision = ask(engine, risk_score=35, hour=14)
    assert decision.allowed and decision.decision == "allow"
    assert decision.reasons == ("support-refund",)
    assert decision.errors == ()
    assert decision.policy_version == engine.version == PolicySet.from_dir(EXAMPLES).version


def test_another_orgs_order_is_denied(engine: PolicyEngine) -> None:
    decision = ask(engine, resource=Resource("order", "8812", "globex", "internal"), risk_score=35)
    assert not decision.allowed and decision.decision == "deny"
    assert decision.reasons == ()  # no permit matched: denied by default


def test_a_restricted_resource_is_denied_by_the_forbid(engine: PolicyEngine) -> None:
    decision = ask(engine, resource=Resource("order", "8812", "acme", "restricted"), risk_score=5)
    assert not decision.allowed
    assert decision.reasons == ("no-tools-on-restricted",)


def test_a_risk_score_over_the_limit_is_denied(engine: PolicyEngine) -> None:
    assert ask(engine, risk_score=49).allowed
    decision = ask(engine, risk_score=50)
    assert not decision.allowed and decision.reasons == ()


def test_a_missing_risk_score_is_denied(engine: PolicyEngine) -> None:
    # The policy guards with `context has risk_score`, so this is a plain deny, not an error.
    decision = ask(engine)
    assert not decision.allowed and decision.errors == ()


def test_roles_decide(engine: PolicyEngine) -> None:
    sales = Principal("agent", "sales-bot", "acme", "sales")
    assert not ask(engine, principal=sales, risk_score=1).allowed
    admin = Principal("user", "alice", "acme", "admin")
    decision = ask(engine, principal=admin, action="tool:delete_account")
    assert decision.allowed and decision.reasons == ("admin-tools",)
    # The same role on an agent is not enough: that permit is for users.
    assert not ask(engine, principal=Principal("agent", "bot", "acme", "admin"), action="tool:delete_account").allowed


def test_action_groups_cover_every_tool(engine: PolicyEngine) -> None:
    decision = ask(engine, action="tool:lookup_order")
    assert decision.allowed and decision.reasons == ("support-lookup",)
    night = ask(engine, action="tool:lookup_order", hour=3)
    assert not night.allowed and night.reasons == ("no-agents-at-night",)


def test_an_unknown_action_is_denied_by_default(engine: PolicyEngine) -> None:
    decision = ask(engine, action="tool:launch_rockets", risk_score=0)
    assert not decision.allowed and decision.reasons == () and decision.errors == ()
    assert not ask(engine, action="document:read", risk_score=0).allowed


def test_an_empty_policy_set_denies_everything() -> None:
    engine = PolicyEngine(PolicySet.from_text(""))
    admin = Principal("user", "root", "acme", "admin")
    decision = ask(engine, principal=admin, resource=Resource("order", "1", "acme", "public"), risk_score=0)
    assert not decision.allowed and decision.reasons == ()
    assert decision.policy_version == engine.version


def test_forbid_overrides_permit() -> None:
    engine = PolicyEngine(
        PolicySet.from_text(
            '@id("all") permit(principal, action, resource);\n'
            '@id("no-refunds") forbid(principal, action == Action::"tool:refund", resource);'
        )
    )
    assert ask(engine, action="tool:lookup_order").reasons == ("all",)
    decision = ask(engine)
    assert not decision.allowed and decision.reasons == ("no-refunds",)


def test_an_evaluation_error_denies_with_the_error() -> None:
    # Cedar skips a policy that errors; here that would skip the forbid and let the request through.
    engine = PolicyEngine(
        PolicySet.from_text(
            '@id("all") permit(principal, action, resource);\n'
            '@id("risky") forbid(principal, action, resource) when { context.risk_score > 70 };'
        )
    )
    assert not ask(engine, risk_score=90).allowed
    assert ask(engine, risk_score=10).allowed
    decision = ask(engine)  # no risk_score: the forbid cannot be evaluated
    assert not decision.allowed
    assert decision.reasons == ()
    assert len(decision.errors) == 1 and "risky" in decision.errors[0] and "risk_score" in decision.errors[0]


def test_unannotated_policies_are_named_by_file_and_position() -> None:
    policies = PolicySet(
        {
            "a.cedar": 'permit(principal, action == Action::"tool:a", resource);',
            "b.cedar": 'permit(principal, action == Action::"tool:x", resource);\n'
            'permit(principal, action == Action::"tool:b", resource);',
        }
    )
    engine = PolicyEngine(policies)
    assert policies.policy_ids == ("a.cedar#1", "b.cedar#1", "b.cedar#2")
    assert ask(engine, action="tool:b").reasons == ("b.cedar#2",)
    assert ask(engine, action="tool:a").reasons == ("a.cedar#1",)


def test_a_float_in_the_context_is_refused_at_the_boundary(engine: PolicyEngine) -> None:
    with pytest.raises(ValueError, match="Cedar has no floats"):
        ask(engine, risk_score=35.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="64-bit"):
        ask(engine, risk_score=2**63)
    with pytest.raises(ValueError, match="int, str or bool"):
        ask(engine, tags=["a"])  # type: ignore[arg-type]


def test_bad_principals_and_resources_are_refused() -> None:
    with pytest.raises(ValueError, match="agent or user"):
        Principal("robot", "r2", "acme", "support")
    with pytest.raises(ValueError, match="sensitivity"):
        Resource("order", "1", "acme", "secret")
    with pytest.raises(ValueError, match="non-empty"):
        Principal("user", "", "acme", "support")


# -- policy sets and versions ---------------------------------------------------------------------


def test_the_version_is_stable_and_changes_with_any_byte(tmp_path: Path) -> None:
    text = (EXAMPLES / "support.cedar").read_text()
    one = PolicySet.from_text(text, "support.cedar")
    assert one.version == PolicySet.from_dir(EXAMPLES).version == bundle_version({"support.cedar": text})
    assert one.version.startswith("sha256:") and len(one.version) == len("sha256:") + 64
    # The file order given does not matter; names and texts do.
    a, b = "permit(principal, action, resource);", "forbid(principal, action, resource);"
    assert PolicySet({"a.cedar": a, "b.cedar": b}).version == PolicySet({"b.cedar": b, "a.cedar": a}).version
    assert PolicySet({"a.cedar": a}).version != PolicySet({"c.cedar": a}).version
    assert PolicySet({"a.cedar": a, "b.cedar": b}).version != PolicySet({"a.cedar": a + b}).version
    # Any one byte changed, added or removed gives another version: in a comment, in whitespace
    # between tokens, in a number.
    variants = {text + "\n", text.replace("< 50", "< 51"), text.replace("\n", "\r\n", 1)}
    variants |= {text[:i] + "\n " + text[i + 1 :] for i, ch in enumerate(text) if ch == "\n"}
    comment = "// reviewed by the policy board"
    variants |= {f"{text}{comment[:i]}{chr(ord(comment[i]) ^ 1)}{comment[i + 1 :]}" for i in range(3, len(comment))}
    versions = {PolicySet.from_text(v, "support.cedar").version for v in variants}
    assert len(versions) == len(variants) and one.version not in versions
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "x.cedar").write_text(a)
    (tmp_path / "readme.txt").write_text("not a policy")
    loaded = PolicySet.from_dir(tmp_path)
    assert list(loaded.files) == ["nested/x.cedar"]
    assert PolicySet.from_json(loaded.files_json()).version == loaded.version


def test_a_set_that_does_not_parse_is_refused_with_cedars_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyParseError, match=r"bad\.cedar: .*unexpected token"):
        PolicySet.from_text("permit(principal action, resource);", "bad.cedar")
    with pytest.raises(PolicyParseError, match="used twice"):
        PolicySet(
            {
                "a.cedar": '@id("x") permit(principal, action, resource);',
                "b.cedar": '@id("x") forbid(principal, action, resource);',
            }
        )
    with pytest.raises(UsageError, match="no .cedar files"):
        PolicySet.from_dir(tmp_path)
    with pytest.raises(UsageError, match="file names"):
        PolicySet({"../escape.cedar": ""})


# -- versions, two people, the audit log ----------------------------------------------------------


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = open_store(db_url, migrate=True)
    yield opened
    opened.close()


def audited(store: Store) -> tuple[PolicyStore, AuditLog]:
    audit = AuditLog(store, signer=Signer.generate(), policy=CheckpointPolicy(every=3, seconds=3600))
    return PolicyStore(store, audit=audit), audit


def test_a_change_takes_two_people_and_both_are_audited(store: Store) -> None:
    policies, audit = audited(store)
    assert policies.active() is None and active_engine(store) is None

    first = PolicySet.from_dir(EXAMPLES)
    version = policies.propose(first, by="alice")
    assert version == first.version
    record = policies.get(version)
    assert record is not None and record.status == "proposed" and record.proposed_by == "alice"
    assert policies.active() is None and store.policy_active_version() is None

    with pytest.raises(UsageError, match="two-person rule"):
        policies.approve(version, by=" Alice ")  # the same person, however written
    assert policies.active() is None

    approved = policies.approve(version, by="bob")
    assert approved.status == "active" and approved.approved_by == "bob" and approved.superseded is None
    active = policies.active()
    assert active is not None and active.version == version and dict(active.files) == dict(first.files)
    engine = active_engine(store)
    assert engine is not None and engine.version == version
    assert active_engine(store) is engine  # cached by version
    assert ask(engine, risk_score=35).allowed

    # A second version supersedes the first only once someone else approves it.
    second = PolicySet.from_text(
        '@id("nothing-but-lookups") permit(principal, action == Action::"tool:lookup", resource);'
    )
    policies.propose(second, by="bob")
    assert active_engine(store) is engine
    with pytest.raises(InvalidStateError, match="not awaiting approval"):
        policies.approve(version, by="carol")  # already active
    policies.approve(second.version, by="carol")
    new_engine = active_engine(store)
    assert new_engine is not None and new_engine.version == second.version
    assert not ask(new_engine, risk_score=35).allowed
    old = policies.get(version)
    assert old is not None and old.status == "superseded" and old.superseded_at is not None
    assert [r.status for r in policies.history()].count("active") == 1

    entries = audit.entries()
    assert [(e.event_type, e.actor.id) for e in entries] == [
        ("policy.proposed", "alice"),
        ("policy.approval_refused", "Alice"),
        ("policy.approved", "bob"),
        ("policy.proposed", "bob"),
        ("policy.approval_refused", "carol"),
        ("policy.approved", "carol"),
    ]
    assert entries[0].policy_version == version and entries[2].policy_version == version
    assert entries[2].decision == "active" and entries[2].data["proposed_by"] == "alice"
    assert entries[5].data["superseded"] == version
    report = audit.verify(full=True)
    assert report.ok, report.as_dict()


def test_reject_and_propose_again(store: Store) -> None:
    policies, audit = audited(store)
    version = policies.propose(PolicySet.from_dir(EXAMPLES), by="alice")
    assert policies.propose(PolicySet.from_dir(EXAMPLES), by="bob") == version  # already awaiting: unchanged
    rejected = policies.reject(version, by="bob")
    assert rejected.status == "rejected" and rejected.rejected_by == "bob"
    with pytest.raises(InvalidStateError):
        policies.approve(version, by="carol")
    with pytest.raises(UsageError, match="no policy version"):
        policies.approve("sha256:" + "0" * 64, by="carol")
    # Proposed again (by someone else this time), it needs a new second person.
    policies.propose(PolicySet.from_dir(EXAMPLES), by="bob")
    with pytest.raises(UsageError, match="two-person"):
        policies.approve(version, by="bob")
    assert policies.approve(version, by="alice").status == "active"
    with pytest.raises(InvalidStateError, match="already active"):
        policies.propose(PolicySet.from_dir(EXAMPLES), by="dave")
    assert [e.event_type for e in audit.entries()] == [
        "policy.proposed",
        "policy.rejected",
        "policy.approval_refused",  # not awaiting approval
        "policy.approval_refused",  # no such version: attempts are on the record too
        "policy.proposed",
        "policy.approval_refused",
        "policy.approved",
    ]
    assert audit.verify().ok


async def test_the_async_reader_sees_what_another_store_activated(db_url: str, store: Store) -> None:
    policies, _ = audited(store)
    assert await aactive_engine(store) is None
    other = open_store(db_url)
    try:
        other_policies = PolicyStore(other, audit=AuditLog(other, signer=Signer.generate()))
        version = other_policies.propose(PolicySet.from_dir(EXAMPLES), by="alice")
        other_policies.approve(version, by="bob")
    finally:
        other.close()
    engine = await aactive_engine(store)
    assert engine is not None and engine.version == version
    assert policies.active_record() is not None


def test_concurrent_approvals_leave_exactly_one_version_active(db_url: str, store: Store) -> None:
    policies, _ = audited(store)
    sets = [
        PolicySet.from_text(f'@id("v{i}") permit(principal, action == Action::"tool:t{i}", resource);')
        for i in range(2)
    ]
    versions = [policies.propose(s, by="alice") for s in sets]
    stores = [open_store(db_url) for _ in versions]
    barrier = threading.Barrier(len(versions))
    errors: list[BaseException] = []

    def approve(i: int) -> None:
        mine = PolicyStore(stores[i], audit=AuditLog(stores[i], signer=Signer.generate()))
        barrier.wait()
        try:
            mine.approve(versions[i], by=f"approver-{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=approve, args=(i,)) for i in range(len(versions))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for s in stores:
            s.close()
    assert errors == []
    statuses = {r.version: r.status for r in policies.history()}
    assert sorted(statuses.values()) == ["active", "superseded"]
    active = store.policy_active_version()
    assert active is not None and statuses[active] == "active"
    superseded = next(v for v, s in statuses.items() if s == "superseded")
    assert policies.get(active) is not None
    record = policies.get(superseded)
    assert record is not None and record.approved_by is not None  # it was active, then replaced


def test_cutting_the_set_by_action_changes_no_decision(engine: PolicyEngine) -> None:
    """The engine evaluates only the policies whose action scope can match; Cedar on the whole set,
    from the text, must agree on every decision, reason and error."""
    import cedarpy

    from keel.governance.policy import _entities

    policies = PolicySet(
        {
            **engine.policies.files,
            "more.cedar": '@id("any") permit(principal, action, resource) when { context.flag };\n'
            '@id("list") forbid(principal, action in [Action::"tool:refund", Action::"doc:read"], resource) '
            "when { resource.sensitivity_level >= 2 };\n"
            '@id("group") permit(principal is User, action in Action::"doc", resource);',
        }
    )
    sliced = PolicyEngine(policies)
    checked = 0
    for action in ("tool:refund", "tool:lookup_order", "tool:other", "doc:read", "doc:write", "plain"):
        for sensitivity in ("public", "confidential", "restricted"):
            for principal in (SUPPORT_BOT, Principal("user", "alice", "acme", "admin")):
                for context in ({}, {"flag": True, "risk_score": 10}, {"flag": False, "risk_score": 90, "hour": 3}):
                    resource = Resource("order", "1", "acme", sensitivity)
                    decision = sliced.decide(PolicyRequest(principal, action, resource, context))
                    whole = cedarpy.is_authorized(
                        {
                            "principal": {"type": "Agent" if principal.kind == "agent" else "User", "id": principal.id},
                            "action": {"type": "Action", "id": action},
                            "resource": {"type": "Resource", "id": "order:1"},
                            "context": context,
                        },
                        policies.text,
                        json.loads(str(_entities(principal, action, resource))),
                    )
                    errors = whole.diagnostics.errors
                    assert decision.allowed == (whole.allowed and not errors)
                    assert len(decision.errors) == len(errors)
                    if not errors:
                        labels = {policies.policy_ids[int(r.removeprefix("policy"))] for r in whole.diagnostics.reasons}
                        assert set(decision.reasons) == labels
                    checked += 1
    assert checked == 6 * 3 * 2 * 3
