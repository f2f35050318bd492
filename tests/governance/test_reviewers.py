"""Who may decide a review: `[governance] reviewers` and `override_approvers` (per org in
`[governance.orgs.ORG]`), deny by default once configured, anyone (with a warning) when not; and
the two-person rule of overrides and of the kill switch's release, blind to case and spaces."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

import keel
from governance import governed_app
from governance.governed_setup import fresh_app, install
from keel.config import GovernanceSettings
from keel.errors import ConfigError, InvalidStateError
from keel.governance import AuditLog, CheckpointPolicy, Signer
from keel.governance.governor import KeelGovernor, ResourceRule, ReviewerRoles, reviewer_roles
from keel.governance.killswitch import KillSwitch
from keel.governance.review import NotAReviewer, ReviewDesk
from keel.governance.risk import RiskWeights
from keel.store import Store, open_store

LISTS = """
[governance]
reviewers = ["alice", "Bob"]
override_approvers = ["carol", "dave"]
"""

ORGS = """
[governance]
reviewers = ["alice", "bob"]

[governance.orgs.acme]
reviewers = ["erin"]
override_approvers = ["erin", "frank"]
"""


def roles(toml: str, source: str | None = None) -> ReviewerRoles:
    table = tomllib.loads(toml).get("governance")
    return reviewer_roles(GovernanceSettings(enabled=True, table=table, source=source))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'keel.db'}")
    yield opened
    opened.close()


@pytest.fixture
def audit(store: Store) -> AuditLog:
    return AuditLog(store, signer=Signer.generate(), policy=CheckpointPolicy(every=50, seconds=3600))


def request(store: Store, run_id: str, kind: str = "review", org: str | None = None) -> str:
    """A pending review of a run that is not there (so nothing is signalled): its id."""
    created = store.review_request(
        review_id=f"{run_id}:0",
        run_id=run_id,
        step=0,
        action="tool:refund" if kind == "review" else "tool:wipe",
        risk_score=70 if kind == "review" else 95,
        policy_version=None,
        kind=kind,
        details={"org": org},
        now=1.0,
    )
    return created.review.review_id


def refusals(audit: AuditLog) -> list[tuple[str, str]]:
    return [(e.actor.id, e.data["why"]) for e in audit.entries() if e.decision == "refused"]


def test_a_listed_reviewer_decides_and_anyone_else_is_refused_audited_and_left_pending(
    store: Store, audit: AuditLog
) -> None:
    desk = ReviewDesk(store, audit=audit, reviewers=roles(LISTS, "keel.toml"))
    first, second = request(store, "r1"), request(store, "r2")
    with pytest.raises(NotAReviewer) as refused:
        desk.approve(first, "mallory")
    assert isinstance(refused.value, InvalidStateError)  # the kind of error every refusal here is
    assert refused.value.message == (
        "mallory is not a reviewer: governance.reviewers (in keel.toml) does not name them, "
        "so review r1:0 stays pending"
    )
    with pytest.raises(NotAReviewer, match="mallory is not a reviewer"):
        desk.reject(second, "mallory", "no")
    assert [r.review_id for r in desk.pending()] == [first, second]
    assert refusals(audit) == [
        ("mallory", refused.value.message),
        ("mallory", refused.value.message.replace("r1:0", "r2:0")),
    ]
    assert all(e.resource in (f"review:{first}", f"review:{second}") for e in audit.entries())

    # Names are compared as the two-person rule compares them: "Bob" is listed, so "bob " may decide.
    approved = desk.approve(first, " ALICE ")
    assert approved.decided and not approved.anyone_may_decide
    rejected = desk.reject(second, "bob ", "over the limit")
    assert rejected.review.status == "rejected" and rejected.operator == "bob"
    assert desk.pending() == []
    assert audit.verify(full=True).ok


def test_override_approvers_are_their_own_list(store: Store, audit: AuditLog) -> None:
    desk = ReviewDesk(store, audit=audit, reviewers=roles(LISTS))
    override, review = request(store, "o1", "override"), request(store, "r1")
    with pytest.raises(NotAReviewer, match=r"alice is not an override approver: governance\.override_approvers"):
        desk.approve(override, "alice")
    with pytest.raises(NotAReviewer, match="alice is not an override approver"):
        desk.reject(override, "alice", "too risky")
    with pytest.raises(NotAReviewer, match="carol is not a reviewer"):
        desk.approve(review, "carol")
    assert not desk.approve(override, "carol").decided
    assert desk.approve(override, "dave").decided
    assert desk.approve(review, "alice").decided
    assert [why.split(":")[0] for _, why in refusals(audit)] == [
        "alice is not an override approver",
        "alice is not an override approver",
        "carol is not a reviewer",
    ]


def test_without_override_approvers_the_reviewers_approve_overrides(store: Store) -> None:
    desk = ReviewDesk(store, reviewers=roles('[governance]\nreviewers = ["alice", "bob"]\n'))
    override = request(store, "o1", "override")
    with pytest.raises(NotAReviewer, match="carol is not an override approver: governance.reviewers does not"):
        desk.approve(override, "carol")
    desk.approve(override, "alice")
    assert desk.approve(override, "bob").review.status == "approved"


def test_an_orgs_lists_replace_the_global_ones_for_its_runs(store: Store) -> None:
    desk = ReviewDesk(store, reviewers=roles(ORGS))
    acme, other, no_org = request(store, "a1", org="acme"), request(store, "b1", org="beta"), request(store, "n1")
    with pytest.raises(NotAReviewer, match=r"alice is not a reviewer: governance\.orgs\.acme\.reviewers"):
        desk.approve(acme, "alice")
    with pytest.raises(NotAReviewer, match=r"erin is not a reviewer: governance\.reviewers"):
        desk.approve(other, "erin")
    assert desk.approve(acme, "erin").decided
    assert desk.approve(other, "alice").decided
    assert desk.approve(no_org, "bob").decided  # no org: the `default` org, which has no table

    override = request(store, "a2", "override", org="acme")
    with pytest.raises(NotAReviewer, match=r"bob is not an override approver: governance\.orgs\.acme\.override"):
        desk.approve(override, "bob")
    desk.approve(override, "erin")
    assert desk.approve(override, "frank").decided


def test_unconfigured_anyone_decides_and_each_decision_logs_a_warning(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    desk = ReviewDesk(store, reviewers=ReviewerRoles())
    first, second = request(store, "r1"), request(store, "r2")
    with caplog.at_level(logging.WARNING, logger="keel.governance.review"):
        assert desk.approve(first, "anyone").anyone_may_decide
        assert desk.reject(second, "someone", "no").anyone_may_decide
        with pytest.raises(InvalidStateError, match="already approved"):
            desk.approve(first, "anyone")  # refused for being decided: no decision, no warning
    warned = [r for r in caplog.records if getattr(r, "event_type", None) == "review.reviewers_not_configured"]
    assert [(r.review_id, r.operator) for r in warned] == [(first, "anyone"), (second, "someone")]  # type: ignore[attr-defined]
    assert "no reviewer list configured: anyone may decide" in warned[0].getMessage()


def test_the_desk_reads_the_lists_from_keel_toml_at_its_first_decision(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "governed.toml"
    config.write_text(LISTS)
    monkeypatch.setenv("KEEL_CONFIG", str(config))
    monkeypatch.setenv("KEEL_GOVERNANCE", "false")  # the lists hold whether this process governs runs or not
    review = request(store, "r1")
    desk = ReviewDesk(store)
    with pytest.raises(NotAReviewer, match=f"governance.reviewers \\(in {config}\\)"):
        desk.approve(review, "mallory")
    assert desk.approve(review, "alice").decided


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[governance]\nreviewers = "alice"\n', "governance.reviewers: a non-empty list of names"),
        ("[governance]\nreviewers = []\n", "governance.reviewers: a non-empty list of names"),
        ('[governance]\nreviewers = ["alice", " "]\n', "governance.reviewers: a non-empty list of names"),
        ('[governance]\noverride_approvers = ["alice"]\n', "governance.override_approvers: at least two different"),
        (
            '[governance]\noverride_approvers = ["alice", " ALICE"]\n',
            "governance.override_approvers: at least two different",
        ),
        ("[governance]\norgs = 3\n", "governance.orgs: must be a table"),
        ("[governance.orgs]\nacme = 3\n", "governance.orgs.acme: a table of reviewers and override_approvers"),
        ("[governance.orgs.acme]\nroles = 1\n", "governance.orgs.acme.roles: unknown key"),
        ("[governance.orgs.acme]\nreviewers = [3]\n", "governance.orgs.acme.reviewers: a non-empty list of names"),
    ],
)
def test_bad_lists_fail_naming_their_key_in_the_desk_and_at_start_up(store: Store, toml: str, message: str) -> None:
    settings = GovernanceSettings(enabled=True, table=tomllib.loads(toml)["governance"], source="keel.toml")
    for build in (reviewer_roles, lambda s: KeelGovernor.from_settings(store, s)):
        with pytest.raises(ConfigError, match=message) as bad:
            build(settings)
        assert bad.value.message.endswith("(in keel.toml)")
        assert bad.value.details["key"] == message.split(":")[0]


def test_the_two_person_rule_is_blind_to_case_and_surrounding_spaces(store: Store) -> None:
    desk = ReviewDesk(store, reviewers=ReviewerRoles())
    override = request(store, "o1", "override")
    desk.approve(override, "Bob")
    with pytest.raises(InvalidStateError, match="two-person rule"):
        desk.approve(override, "bob ")
    assert store.review_get(override).status == "pending"  # type: ignore[union-attr]
    assert desk.approve(override, "carol").decided


def test_the_kill_switch_release_is_blind_to_case_and_surrounding_spaces(store: Store) -> None:
    switch = KillSwitch(store, audit=AuditLog(store, signer=Signer.generate()), webhook=None)
    switch.engage("drill", "alice")
    switch.approve_release("Bob")
    with pytest.raises(InvalidStateError, match="second, different approver"):
        switch.approve_release("bob ")
    assert switch.status().engaged
    assert switch.approve_release("carol").released


@pytest.fixture
def governed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[keel.App]:
    """The governed test App on a fresh SQLite database: refund (40 + 30) waits for a review."""
    application = fresh_app(monkeypatch, f"sqlite:///{tmp_path / 'runs.db'}")
    governor = KeelGovernor(
        application.store,
        weights=RiskWeights(default_tool=5, tools={"refund": 40}, run_carry=0),
        resources={"refund": ResourceRule(kind="order", sensitivity="confidential", id_arg="order_id")},
        without_policy="allowlist",
        clock=application.clock,
    )
    install(application, monkeypatch, governor)
    yield application
    application.close()


async def test_a_runs_org_picks_the_list_that_decides_its_review(governed: keel.App) -> None:
    handle = governed.start(governed_app.refund_flow, "A1", 1999, org_id="acme")
    claims = await governed.engine.claim(1, run_id=handle.run_id)
    assert await governed.engine.drive(claims[0]) == "waiting"
    desk = ReviewDesk(governed.store, reviewers=roles(ORGS))
    (review,) = desk.pending()
    with pytest.raises(NotAReviewer, match="governance.orgs.acme.reviewers"):
        desk.approve(review.review_id, "alice")
    assert desk.approve(review.review_id, "erin").decided
    assert await handle.result(timeout=60) == {"status": "shipped", "refunded": 1999}


def keel_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KEEL_DATABASE_URL": f"sqlite:///{cwd / 'keel.db'}", "NO_COLOR": "1"}
    for name in ("KEEL_CONFIG", "KEEL_GOVERNANCE", "FORCE_COLOR"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "keel.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_cli_refuses_an_unlisted_reviewer_with_exit_1_and_lets_a_listed_one_decide(
    store: Store, tmp_path: Path
) -> None:
    (tmp_path / "keel.toml").write_text(LISTS)
    review, override = request(store, "r1"), request(store, "o1", "override")
    refused = keel_cli(tmp_path, "review", "approve", review, "--by", "mallory")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1] == (
        "error: mallory is not a reviewer: governance.reviewers (in keel.toml) does not name them, "
        "so review r1:0 stays pending"
    )
    rejected = keel_cli(tmp_path, "review", "reject", override, "--by", "alice", "--reason", "no")
    assert rejected.returncode == 1 and "alice is not an override approver" in rejected.stderr
    assert store.review_list(pending_only=True) and len(store.review_list(pending_only=True)) == 2

    approved = keel_cli(tmp_path, "review", "approve", review, "--by", "Alice")
    assert approved.returncode == 0, approved.stderr
    assert f"review {review} approved by Alice" in approved.stdout
    assert keel_cli(tmp_path, "audit", "verify").returncode == 0

    (tmp_path / "keel.toml").write_text("[governance]\nreviewers = []\n")
    bad = keel_cli(tmp_path, "review", "approve", override, "--by", "carol")
    assert bad.returncode == 2 and "governance.reviewers: a non-empty list of names" in bad.stderr
    assert keel_cli(tmp_path, "review", "list").returncode == 0  # listing needs no reviewer list


def test_the_cli_without_lists_lets_anyone_decide_and_warns(store: Store, tmp_path: Path) -> None:
    review = request(store, "r1")
    approved = keel_cli(tmp_path, "review", "approve", review, "--by", "anyone")
    assert approved.returncode == 0, approved.stderr
    assert "warning: no reviewer list is configured ([governance] reviewers in keel.toml)" in approved.stderr
    as_json = keel_cli(tmp_path, "review", "reject", request(store, "r2"), "--by", "else", "--reason", "no", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert '"anyone_may_decide": true' in as_json.stdout
