"""`keel kill-switch engage | release | status`: stop every agent at once; restart them with two approvers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli._output import console, iso, note, print_json
from keel.cli._target import CliState

if TYPE_CHECKING:
    from keel.governance.killswitch import Outcome, State

app = typer.Typer(
    help="The kill switch: revoke every agent credential, refuse new runs, hold runs in flight.",
    no_args_is_help=True,
)

By = Annotated[
    str | None,
    typer.Option("--by", help="Who is doing this, for the audit log [default: the OS user]."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _report_side_effects(outcome: Outcome) -> None:
    if outcome.audit_seq is not None:
        note(f"audited: entry {outcome.audit_seq}")
    if outcome.webhook.startswith("failed"):
        note(f"warning: the alert webhook {outcome.webhook}")
    elif outcome.webhook == "sent":
        note("alert webhook: sent")


def _exit_if_unaudited(outcome: Outcome) -> None:
    # The switch did change; exit 1 so that a missing audit record is never silent.
    if outcome.audit_error is not None:
        note(f"error: the kill switch changed, but its audit entry could not be written: {outcome.audit_error}")
        raise typer.Exit(1)


@app.command("engage")
def engage_command(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option("--reason", help="Why every agent must stop now (recorded and alerted).")],
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Revoke every agent credential, refuse new runs, and hold every run in flight at its next step."""
    from keel.governance.killswitch import KillSwitch

    state: CliState = ctx.obj
    with state.store() as store:
        outcome = KillSwitch(store).engage(reason, by)
    if as_json:
        print_json(outcome.as_dict())
    else:
        s = outcome.state
        again = " (it was already engaged: credentials revoked again)" if outcome.already_engaged else ""
        console.print(f"[bold red]kill switch ENGAGED[/bold red] by {outcome.operator}{again}", soft_wrap=True)
        console.print(f"  reason: {s.reason}", soft_wrap=True, markup=False)
        console.print(
            f"  every tool credential revoked (generation {outcome.credentials_generation}); new runs are refused; "
            "runs in flight finish their current step and hold",
            soft_wrap=True,
        )
        _report_side_effects(outcome)
        note("release it with two different approvers: keel kill-switch release --by NAME  (twice)")
    _exit_if_unaudited(outcome)


@app.command("release")
def release_command(ctx: typer.Context, by: By = None, as_json: AsJson = False) -> None:
    """Approve releasing the kill switch; the second approval, by a different person, releases it."""
    from keel.governance.killswitch import KillSwitch

    state: CliState = ctx.obj
    with state.store() as store:
        outcome = KillSwitch(store).approve_release(by)
    if as_json:
        print_json(outcome.as_dict())
    elif outcome.released:
        approvers = " and ".join(outcome.state.released_by)
        console.print(f"[green]kill switch released[/green] by {approvers}", soft_wrap=True)
        note("held runs continue at the workers' next poll; new runs may start")
        _report_side_effects(outcome)
    else:
        console.print(f"release approved by {outcome.operator}: 1 of 2", soft_wrap=True)
        note(
            "the kill switch stays engaged until a second, different approver runs: keel kill-switch release --by NAME"
        )
        _report_side_effects(outcome)
    _exit_if_unaudited(outcome)


@app.command("status")
def status_command(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Whether the kill switch is engaged, since when, by whom and why; any release awaiting approval."""
    from keel.governance.killswitch import KillSwitch

    state: CliState = ctx.obj
    with state.store() as store:
        s = KillSwitch(store, webhook=None).status()
    if as_json:
        print_json({**s.as_dict(), "engaged_at": iso(s.engaged_at), "released_at": iso(s.released_at)})
        return
    _print_status(s)


def _print_status(s: State) -> None:
    if s.engaged:
        console.print(
            f"[bold red]ENGAGED[/bold red] since {iso(s.engaged_at)} by {s.engaged_by} (incident {s.incident})",
            soft_wrap=True,
        )
        console.print(f"  reason: {s.reason}", soft_wrap=True, markup=False)
        if s.pending_by is not None:
            console.print(
                f"  release approved by {s.pending_by} at {iso(s.pending_at)}; awaiting a second, different approver",
                soft_wrap=True,
            )
        else:
            console.print("  release: needs two different approvers (keel kill-switch release --by NAME)")
    elif s.incident:
        console.print(
            f"[green]released[/green] at {iso(s.released_at)} by {' and '.join(s.released_by)} "
            f"(engaged {s.incident} time(s) so far)",
            soft_wrap=True,
        )
    else:
        console.print("[green]released[/green] (never engaged)")
