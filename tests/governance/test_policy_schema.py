"""Cedar schema validation: a policy set is checked against Keel's entity model before it can be
proposed, so a misspelt attribute is refused up front instead of showing only as denies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from keel.errors import UsageError
from keel.governance import AuditLog, CheckpointPolicy, Signer
from keel.governance.policy import (
    GOVERNOR_CONTEXT,
    PolicySchemaError,
    PolicySet,
    PolicyStore,
    keel_schema,
)
from keel.store import Store, open_store

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "governance" / "policies"
SHIPPED = sorted(p for p in ROOT.rglob("*.cedar") if ".venv" not in p.parts and "node_modules" not in p.parts)

VALID = """
@id("refunds")
permit (principal, action == Action::"tool:refund", resource)
when {
    principal.role == "support" && principal.org == resource.org &&
    resource.sensitivity_level < 2 && context.risk_score < 50 && !context.external
};

@id("admins")
permit (principal is User, action in Action::"tool", resource) when { principal.role == "admin" };

forbid (principal is Agent, action in Action::"tool", resource)
when { context.hour < 6 || context.workflow == "nightly" || context.run_risk_score > 80 };

permit (principal, action, resource) when { action == Action::"tool:lookup" && resource.kind == "order" };
"""


def problems(text: str, name: str = "p.cedar", **extra: str) -> list[str]:
    return PolicySet.from_text(text, name).validate(extra or None)


def test_a_valid_set_passes() -> None:
    assert problems(VALID) == []


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_shipped_policy_file_validates(path: Path) -> None:
    assert PolicySet.from_dir(path).validate() == []


def test_the_shipped_examples_are_found() -> None:
    assert EXAMPLES / "support.cedar" in SHIPPED


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('principal.rol == "admin"', "attribute `rol` on entity type `Agent` not found (it has: org, role)"),
        ("resource.sensitivty_level > 2", "attribute `sensitivty_level` on entity type `Resource` not found"),
        ("context.risk > 70", "attribute `risk` in context not found (it has: external, hour, risk_score"),
        ('context.hour == "9"', "the types Long and String are not compatible"),
        ("context.external > 1", "expected Long but saw Bool"),
        ("resource.sensitivity > 2", "expected Long but saw String"),
        ("principal.role == 3", "the types Long and String are not compatible"),
    ],
)
def test_a_bad_condition_is_named_by_file_and_policy(condition: str, expected: str) -> None:
    text = f"permit (principal, action, resource);\npermit (principal, action, resource) when {{ {condition} }};"
    found = problems(text, "team/support.cedar")
    assert found, condition
    assert all(p.startswith("team/support.cedar#2: ") for p in found), found
    assert any(expected in p for p in found), found


def test_an_unknown_entity_type_is_refused() -> None:
    found = problems('@id("robots") permit (principal is Robot, action, resource);')
    assert 'p.cedar#1 (@id "robots"): unrecognized entity type `Robot`' in found
    assert any(
        "unrecognized entity type `Group`" in p for p in problems('permit (principal in Group::"x", action, resource);')
    )
    other_action = problems('permit (principal, action == Other::Action::"x", resource);')
    assert 'p.cedar#1: unrecognized action `Other::Action::"x"`' in other_action


def test_templates_are_validated_too() -> None:
    assert problems('permit (principal == ?principal, action, resource) when { principal.org == "acme" };') == []
    found = problems('permit (principal == ?principal, action, resource) when { principal.rol == "x" };')
    assert any(p.startswith("p.cedar#1: attribute `rol`") for p in found), found


def test_each_problem_is_reported_once_in_a_stable_order() -> None:
    # Cedar reports a context problem once per action the policy applies to; several actions here.
    text = (
        'permit (principal, action in [Action::"tool:a", Action::"tool:b", Action::"llm:c"], resource);\n'
        'permit (principal, action, resource) when { context.risk > 1 && principal.rol == "x" };'
    )
    first = problems(text)
    assert first == problems(text)
    assert len(first) == len(set(first)) == 3, first  # risk once; rol on Agent and on User
    assert [p.split(":")[0] for p in first] == ["p.cedar#2"] * 3


def test_problems_span_files_with_their_own_numbering() -> None:
    policy_set = PolicySet(
        {
            "a.cedar": "permit (principal, action, resource);\npermit (principal, action, resource);",
            "b.cedar": '@id("late") forbid (principal, action, resource) when { resource.sensitivty == "x" };',
        }
    )
    (found,) = policy_set.validate()
    assert found.startswith('b.cedar#1 (@id "late"): attribute `sensitivty`'), found


def test_extra_context_keys_are_optional_and_typed() -> None:
    guarded = "permit (principal, action, resource) when { context has amount && context.amount < 100 };"
    unguarded = "permit (principal, action, resource) when { context.amount < 100 };"
    assert any("attribute `amount` in context not found" in p for p in problems(unguarded))
    assert problems(guarded, amount="Long") == []
    (found,) = problems(unguarded, amount="long")
    assert "optional attribute `amount`" in found and "context has amount" in found
    assert any("expected Long but saw String" in p for p in problems(guarded, amount="String"))
    assert problems(guarded.replace("amount", "hour"), hour="Long") == []  # the governor's own, same type


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("context has risk && context.risk > 70", "`context has risk` is always false: context never has `risk`"),
        ('principal has rol && principal.rol == "x"', "`principal has rol` is always false"),
        ("resource has sensitivty && resource.sensitivty == 1", "`resource has sensitivty` is always false"),
    ],
)
def test_a_has_test_of_an_attribute_nobody_has_is_refused(condition: str, expected: str) -> None:
    # Cedar's validator types such a test as false and never checks the read it guards.
    (found,) = problems(f"forbid (principal, action, resource) when {{ {condition} }};")
    assert found.startswith(f"p.cedar#1: {expected}"), found
    assert problems("permit (principal, action, resource) when { context has hour && principal has role };") == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"amount": "float"}, "Long, String or Bool"),
        ({"hour": "String"}, "the governor's, a Long"),
        ({"": "Long"}, "non-empty"),
    ],
)
def test_bad_extra_context_declarations_are_usage_errors(extra: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        keel_schema(extra_context=extra)


def test_the_schema_declares_the_governors_context_and_every_named_action() -> None:
    schema = keel_schema(["tool:refund", "llm:summary", "plain"])[""]
    actions = schema["actions"]
    assert set(actions) == {"tool", "tool:refund", "llm", "llm:summary", "plain"}
    assert actions["tool:refund"]["memberOf"] == [{"id": "tool"}] and "memberOf" not in actions["plain"]
    context = actions["tool"]["appliesTo"]["context"]["attributes"]
    assert set(context) == set(GOVERNOR_CONTEXT) and all(v.get("required", True) for v in context.values())
    assert set(schema["entityTypes"]) == {"Agent", "User", "Resource"}


# -- proposing ----------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'keel.db'}", migrate=True)
    yield opened
    opened.close()


def test_propose_refuses_an_invalid_set_stores_nothing_and_audits_the_refusal(store: Store) -> None:
    audit = AuditLog(store, signer=Signer.generate(), policy=CheckpointPolicy(every=3, seconds=3600))
    policies = PolicyStore(store, audit=audit)
    bad = PolicySet(
        {
            "ok.cedar": VALID,
            "typos.cedar": 'permit (principal, action, resource) when { principal.rol == "admin" };\n'
            "forbid (principal, action, resource) when { context.risk > 70 };",
        }
    )
    with pytest.raises(PolicySchemaError) as raised:
        policies.propose(bad, by="alice")
    assert isinstance(raised.value, UsageError)
    errors = raised.value.errors
    assert [e.split(":")[0] for e in errors] == ["typos.cedar#1", "typos.cedar#1", "typos.cedar#2"], errors
    assert "typos.cedar#2" in raised.value.message and "3 problem(s)" in raised.value.message
    assert policies.get(bad.version) is None and policies.history() == []

    (entry,) = audit.entries()
    assert (entry.event_type, entry.action, entry.decision, entry.actor.id) == (
        "policy.proposal_refused",
        "policy:propose",
        "refused",
        "alice",
    )
    assert entry.policy_version == bad.version and entry.data["problems"] == 3 and entry.data["errors"] == errors

    good = PolicySet({"ok.cedar": VALID})
    assert policies.propose(good, by="alice") == good.version
    assert [e.event_type for e in audit.entries()] == ["policy.proposal_refused", "policy.proposed"]
    assert audit.verify().ok


def test_propose_accepts_declared_extra_context(store: Store) -> None:
    policies = PolicyStore(store, audit=AuditLog(store, signer=Signer.generate()))
    text = PolicySet.from_text(
        "permit (principal, action, resource) when { context has amount && context.amount < 5 };"
    )
    with pytest.raises(PolicySchemaError):
        policies.propose(text, by="alice")
    assert policies.propose(text, by="alice", extra_context={"amount": "Long"}) == text.version
    record = policies.get(text.version)
    assert record is not None and record.status == "proposed"


# -- the command line ----------------------------------------------------------------------------


def keel(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KEEL_DATABASE_URL": f"sqlite:///{cwd / 'keel.db'}", "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    argv = [sys.executable, "-m", "keel.cli", *args]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=90)


def test_the_cli_validates_and_refuses_to_propose_an_invalid_set(tmp_path: Path) -> None:
    (tmp_path / "bad.cedar").write_text(
        '@id("typo") permit (principal, action, resource) when { principal.rol == "x" };'
    )

    ok = keel(tmp_path, "policy", "validate", str(EXAMPLES))
    assert ok.returncode == 0 and ok.stdout.startswith("valid: 5 policies"), ok.stderr

    invalid = keel(tmp_path, "policy", "validate", "bad.cedar")
    assert invalid.returncode == 1
    assert 'bad.cedar#1 (@id "typo"): attribute `rol`' in invalid.stdout
    report = json.loads(keel(tmp_path, "policy", "validate", "bad.cedar", "--json").stdout)
    assert report["valid"] is False and report["policies"] == 1 and len(report["errors"]) == 2

    (tmp_path / "unparsed.cedar").write_text("permit (principal action, resource);")
    unparsed = keel(tmp_path, "policy", "validate", "unparsed.cedar")
    assert unparsed.returncode == 1 and "unparsed.cedar" in unparsed.stdout
    assert not (tmp_path / "keel.db").exists()  # validating needs no database

    refused = keel(tmp_path, "policy", "propose", "bad.cedar", "--by", "alice")
    assert refused.returncode == 2
    assert 'bad.cedar#1 (@id "typo"): attribute `rol` on entity type `Agent`' in refused.stderr
    assert "error: not proposed: 2 problem(s)" in refused.stderr
    history = keel(tmp_path, "policy", "history", "--json")
    assert history.returncode == 0 and json.loads(history.stdout) == []

    bad_type = keel(tmp_path, "policy", "validate", "bad.cedar", "--context-key", "amount:float")
    assert bad_type.returncode == 2 and "Long, String or Bool" in bad_type.stderr

    (tmp_path / "amount.cedar").write_text(
        "permit (principal, action, resource) when { context has amount && context.amount < 5 };"
    )
    assert keel(tmp_path, "policy", "validate", "amount.cedar").returncode == 1
    assert keel(tmp_path, "policy", "validate", "amount.cedar", "--context-key", "amount:Long").returncode == 0
    proposed = keel(tmp_path, "policy", "propose", "amount.cedar", "--by", "alice", "--context-key", "amount:Long")
    assert proposed.returncode == 0 and proposed.stdout.startswith("sha256:"), proposed.stderr


def test_check_against_files_warns_about_an_invalid_set(tmp_path: Path) -> None:
    (tmp_path / "bad.cedar").write_text('permit (principal, action, resource) when { principal.rol == "x" };')
    checked = keel(
        tmp_path,
        *("policy", "check", "--principal", "agent:bot", "--org", "acme", "--role", "support"),
        *("--action", "tool:refund", "--resource", "order:1", "--policies", "bad.cedar"),
    )
    assert checked.returncode == 1 and checked.stdout.strip() == "deny"
    assert "warning: bad.cedar#1: attribute `rol`" in checked.stderr
