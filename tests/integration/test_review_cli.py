"""`keel review` as a reviewer runs it, against a running `keel worker`: risky tool calls wait for a
decision, an approval resumes the run, a rejection refuses the call, an override takes two people."""

from __future__ import annotations

import json
import signal
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_cli import HANG_GUARD_S, Cli, wait_for

SHOP = textwrap.dedent(
    '''
    """Tools whose risk scores land below review_at (lookup), at it (refund) and at block_at (wipe)."""
    from typing import Any

    from keel import App, Context, ToolNotAllowed
    from keel.config import GovernanceSettings

    GOVERNANCE = {
        "without_policy": "allowlist",
        "risk": {"default_tool": 5, "tools": {"refund": 40, "wipe": 45}, "run_carry": 0},
        "resources": {
            "refund": {"kind": "order", "sensitivity": "confidential", "id_arg": "order_id"},
            "wipe": {"kind": "account", "sensitivity": "restricted", "id_arg": "account"},
        },
    }
    app = App("shop", guard=False, governor=GovernanceSettings(enabled=True, table=GOVERNANCE))


    @app.tool(sandbox=False)
    def refund(order_id: str, cents: int) -> dict[str, Any]:
        """Refund an order."""
        return {"refunded": cents}


    @app.tool(sandbox=False)
    def wipe(account: str) -> dict[str, Any]:
        """Erase an account."""
        return {"wiped": account}


    @app.workflow(tools=["refund"])
    async def refund_flow(ctx: Context, order_id: str, cents: int) -> dict[str, Any]:
        try:
            return await ctx.tool("refund", order_id=order_id, cents=cents)
        except ToolNotAllowed as exc:
            return {"refused": exc.message}


    @app.workflow(tools=["wipe"])
    async def wipe_flow(ctx: Context, account: str) -> dict[str, Any]:
        return await ctx.tool("wipe", account=account)
    '''
)


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    """A CLI in a directory holding the shop, with a `keel worker` serving it for the test's length."""
    cli = Cli(tmp_path)
    cli.env.update(KEEL_POLL_INTERVAL_S="0.1", COLUMNS="200")
    (tmp_path / "shop.py").write_text(SHOP)
    cli.ok("db", "upgrade")
    with (tmp_path / "worker.log").open("w") as log:
        worker = subprocess.Popen(
            cli.argv("worker", "shop.py", "--concurrency", "2"),
            cwd=tmp_path,
            env=cli.env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            yield cli
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=HANG_GUARD_S) == 0
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


def start(cli: Cli, workflow: str, arguments: dict[str, Any]) -> str:
    return cli.ok("run", f"shop.py:{workflow}", "--input", json.dumps(arguments), "--enqueue").stdout.strip()


def pending_review(cli: Cli, run_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def listed() -> bool:
        found[:] = [r for r in cli.json("review", "list") if r["run_id"] == run_id]
        return bool(found)

    wait_for(listed, f"a review request from run {run_id}")
    return found[0]


def finished(cli: Cli, run_id: str) -> dict[str, Any]:
    wait_for(lambda: cli.show(run_id)["status"] in ("succeeded", "failed"), f"run {run_id} to end")
    return cli.show(run_id)


def test_a_review_is_listed_shown_and_approved_and_the_run_goes_on(cli: Cli) -> None:
    run_id = start(cli, "refund_flow", {"order_id": "A1", "cents": 1999})
    review = pending_review(cli, run_id)
    assert (review["action"], review["risk_score"], review["kind"], review["status"]) == (
        "tool:refund",
        70,
        "review",
        "pending",
    )
    assert cli.show(run_id)["status"] == "waiting"
    table = cli.ok("review", "list").stdout
    assert review["review_id"] in table and "tool:refund" in table and "0/1" in table
    shown = cli.ok("review", "show", review["review_id"]).stdout
    assert "tool:refund at risk 70" in shown
    assert "risk 70 >= review_at 70" in shown
    assert "no active policy set" in shown  # none was approved: the allowlist is the policy
    assert "sensitivity 30, tool 40" in shown

    approved = cli.ok("review", "approve", review["review_id"], "--by", "alice", "--reason", "known customer")
    assert f"review {review['review_id']} approved by alice: tool:refund goes ahead" in approved.stdout
    assert "audited: entry" in approved.stderr
    assert finished(cli, run_id)["result"] == {"refunded": 1999}
    assert cli.json("review", "list") == []
    (decided,) = cli.json("review", "list", "--all")
    assert decided["status"] == "approved" and decided["approvals"][0]["by"] == "alice"
    assert decided["reason"] == "known customer"

    again = cli("review", "approve", review["review_id"], "--by", "bob")
    assert again.returncode == 1
    assert "is already approved (by alice): a decision is final" in again.stderr
    cli.ok("audit", "verify")


def test_a_rejection_refuses_the_call_with_the_reason(cli: Cli) -> None:
    run_id = start(cli, "refund_flow", {"order_id": "B2", "cents": 500})
    review = pending_review(cli, run_id)
    missing = cli("review", "reject", review["review_id"], "--by", "bob")
    assert missing.returncode == 2 and "--reason" in missing.stderr
    rejected = cli.json("review", "reject", review["review_id"], "--by", "bob", "--reason", "over the limit")
    assert rejected["decided"] is True and rejected["signalled"] is True
    assert rejected["review"]["status"] == "rejected" and rejected["review"]["rejected_by"] == "bob"
    result = finished(cli, run_id)["result"]
    assert result == {
        "refused": f"tool 'refund' refused: rejected in review {review['review_id']} by bob: over the limit"
    }


def test_an_override_takes_two_different_people(cli: Cli) -> None:
    run_id = start(cli, "wipe_flow", {"account": "acct-9"})
    review = pending_review(cli, run_id)
    assert (review["kind"], review["risk_score"], review["approvals_needed"]) == ("override", 95, 2)
    first = cli.ok("review", "approve", review["review_id"], "--by", "alice")
    assert "1 of 2" in first.stdout and "a second, different approver" in first.stdout
    twice = cli("review", "approve", review["review_id"], "--by", "ALICE")
    assert twice.returncode == 1
    assert "already approved review" in twice.stderr and "two-person rule" in twice.stderr
    assert cli.show(run_id)["status"] == "waiting"
    second = cli.ok("review", "approve", review["review_id"], "--by", "bob")
    assert "approved by alice, bob" in second.stdout
    assert finished(cli, run_id)["result"] == {"wiped": "acct-9"}


def test_unknown_reviews_are_named(cli: Cli) -> None:
    for args in (("show", "nope"), ("approve", "nope", "--by", "alice")):
        proc = cli("review", *args)
        assert proc.returncode == 2
        assert "no review with id 'nope'" in proc.stderr
    empty = cli.ok("review", "list")
    assert "no reviews are waiting" in empty.stderr
