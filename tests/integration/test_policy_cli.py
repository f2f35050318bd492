"""`keel policy` as an operator runs it, on a SQLite file: propose, the two-person approval, show,
history, check against the active version and against files, reject, and the audit log after."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from test_cli import Cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "governance" / "policies"

REFUND = (
    "policy",
    "check",
    "--principal",
    "agent:support-bot",
    "--org",
    "acme",
    "--role",
    "support",
    "--action",
    "tool:refund",
    "--resource",
    "order:8812",
)


def test_a_policy_change_takes_two_people_and_decides_checks(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    shutil.copytree(EXAMPLES, tmp_path / "policies")

    # Nothing active yet: every request is denied (exit 1), and says why.
    denied = cli(*REFUND, "--context", "risk_score=35")
    assert denied.returncode == 1, denied.stderr
    assert denied.stdout.strip() == "deny" and "none active" in denied.stderr
    assert cli.json("policy", "show") == {"active": None, "pending": []}

    version = cli.ok("policy", "propose", "policies", "--by", "alice").stdout.strip()
    assert version.startswith("sha256:") and len(version) == 71
    pending = cli.json("policy", "show")
    assert pending["active"] is None and [p["version"] for p in pending["pending"]] == [version]
    assert cli(*REFUND, "--context", "risk_score=35").returncode == 1  # proposed is not active

    refused = cli("policy", "approve", version, "--by", "alice")
    assert refused.returncode == 2
    assert "two-person rule" in refused.stderr

    approved = cli.json("policy", "approve", version[:15], "--by", "bob")  # a prefix is enough
    assert approved["version"] == version and approved["status"] == "active"
    assert (approved["proposed_by"], approved["approved_by"]) == ("alice", "bob")
    show = cli.json("policy", "show")
    assert show["active"]["version"] == version and show["pending"] == []
    assert show["active"]["files"] == {"support.cedar": (EXAMPLES / "support.cedar").read_text()}

    allowed = cli(*REFUND, "--context", "risk_score=35", "--context", "hour=14", "--json")
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout) == {
        "decision": "allow",
        "policy_version": version,
        "reasons": ["support-refund"],
        "errors": [],
    }
    restricted = cli(*REFUND, "--sensitivity", "restricted", "--context", "risk_score=35", "--json")
    assert restricted.returncode == 1
    assert json.loads(restricted.stdout)["reasons"] == ["no-tools-on-restricted"]
    other_org = cli(*REFUND, "--resource-org", "globex", "--context", "risk_score=35")
    assert other_org.returncode == 1 and other_org.stdout.strip() == "deny"
    floats = cli(*REFUND, "--context", "risk_score=0.35")
    assert floats.returncode == 2 and "no floats" in floats.stderr

    # A candidate set can be checked before anyone proposes it.
    (tmp_path / "strict.cedar").write_text(
        '@id("lookups") permit(principal, action == Action::"tool:lookup", resource);'
    )
    candidate = cli(*REFUND, "--context", "risk_score=1", "--policies", "strict.cedar", "--json")
    assert candidate.returncode == 1 and json.loads(candidate.stdout)["policy_version"] != version

    # A second version, rejected: the first stays active.
    second = cli.ok("policy", "propose", "strict.cedar", "--by", "bob").stdout.strip()
    rejected = cli.json("policy", "reject", second, "--by", "carol")
    assert rejected["status"] == "rejected" and rejected["rejected_by"] == "carol"
    history = cli.json("policy", "history")
    assert [(h["version"], h["status"]) for h in history] == [(second, "rejected"), (version, "active")]
    assert "active" in cli.ok("policy", "history").stdout

    verify = cli.json("audit", "verify")
    assert verify["ok"] is True and verify["entries"] == 5  # proposed, refused, approved, proposed, rejected


def test_a_set_that_does_not_parse_is_refused_before_the_database(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    (tmp_path / "bad.cedar").write_text("permit(principal action, resource);")
    proc = cli("policy", "propose", "bad.cedar", "--by", "alice")
    assert proc.returncode == 2
    assert "bad.cedar" in proc.stderr and "unexpected token" in proc.stderr
    assert not (tmp_path / "keel.db").exists()
    missing = cli("policy", "approve", "sha256:0123456789", "--by", "bob")
    assert missing.returncode == 2 and "no policy version" in missing.stderr
