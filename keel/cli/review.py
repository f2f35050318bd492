"""`keel review list | show | approve | reject`: the human decisions risky tool calls wait on.

Who may approve or reject is read from the `[governance]` table of keel.toml (or the file
KEEL_CONFIG names) at the first decision, by keel.governance.review.ReviewDesk: a name no
configured list holds is refused with exit code 1, and the review stays pending.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from keel.cli._output import console, iso, note, print_json
from keel.cli._target import CliState

if TYPE_CHECKING:
    from keel.governance.review import Outcome, Review

app = typer.Typer(
    help="Human review: tool calls whose risk score reached review_at (or block_at) wait for a decision here.",
    no_args_is_help=True,
)

ReviewId = Annotated[str, typer.Argument(help="The review's id (keel review list shows them).")]
By = Annotated[
    str,
    typer.Option(
        "--by",
        help="Who decides, for the record and the two-person rule; when [governance] reviewers (or "
        "override_approvers) is set in keel.toml, a name it lists.",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _json(review: Review) -> dict[str, object]:
    data = review.as_dict()
    data.update(requested_at=iso(review.requested_at), decided_at=iso(review.decided_at))
    data["approvals"] = [{"by": a["by"], "at": iso(a["at"])} for a in review.approvals]
    return data


@app.command("list")
def list_command(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Decided reviews too, newest first.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 100,
    as_json: AsJson = False,
) -> None:
    """The reviews waiting for a decision, oldest first (--all: every review)."""
    from keel.governance.review import ReviewDesk

    state: CliState = ctx.obj
    with state.store() as store:
        desk = ReviewDesk(store)
        reviews = desk.all(limit) if show_all else desk.pending(limit)
    if as_json:
        print_json([_json(r) for r in reviews])
        return
    if not reviews:
        note("no reviews" if show_all else "no reviews are waiting")
        return
    table = Table()
    table.add_column("review", no_wrap=True)  # what the next command needs: never wrapped
    for column in ("action", "risk", "kind", "status", "approvals", "requested"):
        table.add_column(column)
    for r in reviews:
        table.add_row(
            r.review_id,
            r.action,
            str(r.risk_score),
            r.kind,
            r.status,
            f"{len(r.approvals)}/{r.needed}",
            iso(r.requested_at) or "",
        )
    console.print(table)


@app.command("show")
def show_command(ctx: typer.Context, review_id: ReviewId, as_json: AsJson = False) -> None:
    """One review: the action, its risk and why, the policy version, and any decision."""
    from keel.governance.review import ReviewDesk

    state: CliState = ctx.obj
    with state.store() as store:
        review = ReviewDesk(store).get(review_id)
    if as_json:
        print_json(_json(review))
        return
    override = " (emergency override: two different approvers)" if review.needed == 2 else ""
    console.print(f"review {review.review_id}: {review.action} at risk {review.risk_score}{override}", markup=False)
    console.print(f"  run {review.run_id}, step {review.step}; requested {iso(review.requested_at)}", markup=False)
    console.print(f"  policy version: {review.policy_version or 'none active'}", markup=False)
    for reason in review.details.get("reasons") or ():
        console.print(f"  why: {reason}", markup=False, soft_wrap=True)
    factors = review.details.get("factors")
    if isinstance(factors, dict):
        console.print("  risk factors: " + ", ".join(f"{k} {v}" for k, v in factors.items()), markup=False)
    console.print(f"  status: {review.status}", markup=False)
    for approval in review.approvals:
        console.print(f"  approved by {approval['by']} at {iso(approval['at'])}", markup=False)
    if review.rejected_by:
        console.print(f"  rejected by {review.rejected_by} at {iso(review.decided_at)}", markup=False)
    if review.reason:
        console.print(f"  reason: {review.reason}", markup=False, soft_wrap=True)


def _report(outcome: Outcome, as_json: bool, what: str) -> None:
    if as_json:
        print_json({**outcome.as_dict(), "review": _json(outcome.review)})
    else:
        console.print(what, markup=False, soft_wrap=True)
        if outcome.decided and not outcome.signalled:
            note("the run had already ended: nothing was waiting on this review")
        if outcome.audit_seq is not None:
            note(f"audited: entry {outcome.audit_seq}")
        if outcome.anyone_may_decide:
            note("warning: no reviewer list is configured ([governance] reviewers in keel.toml): anyone may decide")
    if outcome.audit_error is not None:
        # The decision stands; exit 1 so that a missing audit record is never silent.
        note(f"error: the decision was recorded, but its audit entry could not be written: {outcome.audit_error}")
        raise typer.Exit(1)


@app.command("approve")
def approve_command(
    ctx: typer.Context,
    review_id: ReviewId,
    by: By,
    reason: Annotated[str | None, typer.Option("--reason", help="Why, for the record.")] = None,
    as_json: AsJson = False,
) -> None:
    """Approve: the run's tool call goes ahead (an override needs a second, different approver)."""
    from keel.governance.review import ReviewDesk

    state: CliState = ctx.obj
    with state.store() as store:
        outcome = ReviewDesk(store).approve(review_id, by, reason)
    r = outcome.review
    if outcome.decided:
        what = f"review {r.review_id} approved by {', '.join(a['by'] for a in r.approvals)}: {r.action} goes ahead"
    else:
        what = (
            f"override {r.review_id} approved by {outcome.operator}: {len(r.approvals)} of {r.needed}; "
            "a second, different approver must approve it (keel review approve ID --by NAME)"
        )
    _report(outcome, as_json, what)


@app.command("reject")
def reject_command(
    ctx: typer.Context,
    review_id: ReviewId,
    by: By,
    reason: Annotated[str, typer.Option("--reason", help="Why: the run's ToolNotAllowed error carries it.")],
    as_json: AsJson = False,
) -> None:
    """Reject: the run's tool call fails with ToolNotAllowed and the reason."""
    from keel.governance.review import ReviewDesk

    state: CliState = ctx.obj
    with state.store() as store:
        outcome = ReviewDesk(store).reject(review_id, by, reason)
    _report(
        outcome,
        as_json,
        f"review {outcome.review.review_id} rejected by {outcome.operator}: {outcome.review.action} refused",
    )
