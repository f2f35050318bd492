"""`keel runs` (inspect and operate runs) and `keel dlq` (the dead-letter queue)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Annotated

import typer

from keel.app import STOPPED, App
from keel.cli._output import (
    console,
    dlq_json,
    dlq_table,
    print_json,
    render_run,
    run_json,
    runs_table,
    short_id,
    step_json,
    transition_json,
)
from keel.cli._target import CliState, load_app
from keel.cli.run import drive, ensure_drivable, report, source_of
from keel.cli.trace import SortKey, explain, explanation_json, load_records, render_explanation
from keel.engine.estimate import current_user
from keel.errors import UsageError
from keel.store import RunRecord
from keel.types import RunStatus

app = typer.Typer(
    help="Inspect runs and act on them: resume, abort, cancel, pause, approve, signal.", no_args_is_help=True
)
dlq_app = typer.Typer(help="The dead-letter queue: runs parked after a step failed for good.", no_args_is_help=True)

RunId = Annotated[str, typer.Argument(metavar="ID", help="Run id, or an unambiguous prefix of it.")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
WorkflowFilter = Annotated[str | None, typer.Option("--workflow", "-w", help="Only runs of this workflow.")]
Limit = Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many, newest first.")]
AppOption = Annotated[
    str | None,
    typer.Option(
        "--app",
        metavar="MODULE_OR_FILE",
        help="Import this App and carry the request out here, instead of leaving it to a worker.",
    ),
]

# Each control: how to record it, the status it leads to once carried out (the exit code of
# --app depends on reaching it), and what recording it means until a worker carries it out.
_CONTROLS: dict[str, tuple[Callable[[App, str], RunRecord], str, str]] = {
    "resume": (
        App.resume,
        RunStatus.SUCCEEDED.value,
        "it is {status} again with a fresh attempt budget and its failed step is retried",
    ),
    "abort": (
        App.abort,
        RunStatus.FAILED.value,
        "it is {status}; its completed steps are compensated in reverse order and it ends failed",
    ),
    "cancel": (
        App.cancel,
        RunStatus.CANCELLED.value,
        "it stops at its next step boundary, its completed steps are compensated and it ends cancelled",
    ),
}


@app.command("list")
def list_command(
    ctx: typer.Context,
    status: Annotated[RunStatus | None, typer.Option("--status", "-s", help="Only runs in this status.")] = None,
    workflow: WorkflowFilter = None,
    limit: Limit = 50,
    json_out: JsonOut = False,
) -> None:
    """List runs, newest first."""
    state: CliState = ctx.obj
    with state.store() as store:
        runs = store.list_runs(status=status.value if status else None, workflow=workflow, limit=limit)
    if json_out:
        print_json([run_json(r) for r in runs])
    elif runs:
        console.print(runs_table(runs))
    else:
        console.print("no runs", style="dim")


@app.command("show")
def show_command(ctx: typer.Context, run_id: RunId, json_out: JsonOut = False) -> None:
    """Show a run: its fields, journal steps, status transitions and error."""
    state: CliState = ctx.obj
    with state.store() as store:
        run = store.find_run(run_id)
        steps = store.load_journal(run.run_id)
        transitions = store.transitions(run.run_id)
        approval = store.awaiting_approval(run.run_id)
    if json_out:
        print_json(
            {
                **run_json(run),
                "awaiting_approval": approval,
                "steps": [step_json(s) for s in steps],
                "transitions": [transition_json(t) for t in transitions],
            }
        )
        return
    render_run(run, steps, transitions)
    if approval is not None:
        console.print()
        console.print(
            f"not started, {approval}. Approve it with `keel runs approve {short_id(run.run_id)}` "
            f"(or drop it: `keel runs cancel {short_id(run.run_id)}`)",
            style="yellow",
            soft_wrap=True,
            markup=False,
        )


@app.command("explain")
def explain_command(
    ctx: typer.Context,
    run_id: RunId,
    sort: Annotated[
        str,
        typer.Option(
            "--sort",
            metavar="share|time|cost",
            help="Order by the larger of the time and cost shares (share), by time, or by cost.",
        ),
    ] = "share",
    json_out: JsonOut = False,
) -> None:
    """Where a run's time and money went, step by step, largest share first."""
    if sort not in ("share", "time", "cost"):
        raise UsageError(f"--sort must be share, time or cost, got {sort!r}")
    order: SortKey = "time" if sort == "time" else "cost" if sort == "cost" else "share"
    state: CliState = ctx.obj
    with state.store() as store:
        records = load_records(store, run_id)
    explanation = explain(records, now=time.time(), sort=order)
    if json_out:
        print_json(explanation_json(explanation))
    else:
        render_explanation(explanation)


@contextlib.contextmanager
def _operator_app(state: CliState, app_spec: str | None) -> Iterator[App]:
    """The user's App when --app is given (it can execute the run), else a bare control App."""
    if app_spec is None:
        with state.control_app() as bare:
            yield bare
        return
    user_app, _ = load_app(app_spec, state)
    try:
        yield user_app
    finally:
        user_app.close()


def _control(ctx: typer.Context, run_id: str, action: str, app_spec: str | None, json_out: bool) -> None:
    """Record resume/abort/cancel; with --app, also carry it out here until the run stops."""
    state: CliState = ctx.obj
    record, outcome, meaning = _CONTROLS[action]
    with _operator_app(state, app_spec) as op_app:
        run = op_app.store.find_run(run_id)
        if app_spec is not None:
            ensure_drivable(op_app, run)  # before recording anything: this app must be able to finish it
        # Recorded earlier without --app: only carrying it out is left.
        already = app_spec is not None and run.control == action and run.status not in STOPPED
        if not already:
            run = record(op_app, run.run_id)
        if app_spec is None:
            if json_out:
                print_json(run_json(run))
            else:
                source = source_of(run)
                console.print(
                    f"{action} recorded for run {run.run_id}: {meaning.format(status=run.status)}. "
                    f"A worker (`keel worker {source}`) carries it out, or add `--app {source}` "
                    "to do it here.",
                    soft_wrap=True,
                    markup=False,
                )
            return
        if not json_out:
            console.print(
                f"{action} {'already recorded' if already else 'recorded'} for run {run.run_id}; carrying it out here",
                soft_wrap=True,
                markup=False,
            )
        final, interrupted = drive(op_app, run.run_id, json_out=json_out)
        code = report(final, json_out=json_out, interrupted=interrupted, expected=outcome)
    if code:
        raise typer.Exit(code)


@app.command("resume")
def resume_command(ctx: typer.Context, run_id: RunId, app_spec: AppOption = None, json_out: JsonOut = False) -> None:
    """Retry a dead-lettered run's failed step with a fresh attempt budget."""
    _control(ctx, run_id, "resume", app_spec, json_out)


@app.command("abort")
def abort_command(ctx: typer.Context, run_id: RunId, app_spec: AppOption = None, json_out: JsonOut = False) -> None:
    """Give up on a dead-lettered run: compensate its completed steps; it ends failed."""
    _control(ctx, run_id, "abort", app_spec, json_out)


@app.command("cancel")
def cancel_command(ctx: typer.Context, run_id: RunId, app_spec: AppOption = None, json_out: JsonOut = False) -> None:
    """Stop a live run at its next step boundary, compensating completed steps; it ends cancelled."""
    _control(ctx, run_id, "cancel", app_spec, json_out)


def _pause(ctx: typer.Context, run_id: str, paused: bool, json_out: bool) -> None:
    state: CliState = ctx.obj
    with state.control_app() as op_app:
        run = op_app.store.find_run(run_id)
        run = op_app.pause(run.run_id) if paused else op_app.unpause(run.run_id)
    if json_out:
        print_json(run_json(run))
    elif paused:
        console.print(
            f"run {run.run_id} paused: it stops at its next step boundary and no worker continues it "
            f"until `keel runs unpause {short_id(run.run_id)}`",
            soft_wrap=True,
            markup=False,
        )
    else:
        console.print(f"run {run.run_id} unpaused: the next free worker continues it", soft_wrap=True, markup=False)


@app.command("reveal")
def reveal_command(
    ctx: typer.Context,
    run_id: RunId,
    principal: Annotated[str, typer.Option("--as", help="Who asks (the reveal policy decides).")],
    app_spec: Annotated[
        str | None,
        typer.Option("--app", metavar="MODULE_OR_FILE", help="Use this App's reveal policy instead of the default."),
    ] = None,
) -> None:
    """Print a run's result with its PII placeholders replaced by the values, for an allowed principal."""
    state: CliState = ctx.obj
    with _operator_app(state, app_spec) as op_app:
        run = op_app.store.find_run(run_id)
        if run.result is None:
            raise UsageError(f"run {run.run_id} has no result ({run.status})")
        revealed = asyncio.run(op_app.reveal(run.run_id, run.result, principal=principal))
    print_json(json.loads(revealed))


@app.command("pause")
def pause_command(ctx: typer.Context, run_id: RunId, json_out: JsonOut = False) -> None:
    """Hold a run at its next step boundary until it is unpaused."""
    _pause(ctx, run_id, True, json_out)


@app.command("unpause")
def unpause_command(ctx: typer.Context, run_id: RunId, json_out: JsonOut = False) -> None:
    """Let a paused run continue."""
    _pause(ctx, run_id, False, json_out)


@app.command("approve")
def approve_command(
    ctx: typer.Context,
    run_id: RunId,
    by: Annotated[
        str | None, typer.Option("--by", help="Who approves, for the record [default: your login name].")
    ] = None,
    app_spec: AppOption = None,
    json_out: JsonOut = False,
) -> None:
    """Approve the estimated cost of a run waiting for it (confirm_above_usd); it then starts."""
    state: CliState = ctx.obj
    who = by if by is not None else current_user()
    with _operator_app(state, app_spec) as op_app:
        run = op_app.store.find_run(run_id)
        if app_spec is not None:
            ensure_drivable(op_app, run)  # before approving: this app must be able to run it
        run = op_app.approve(run.run_id, by=who)
        if app_spec is None:
            if json_out:
                print_json(run_json(run))
            else:
                source = source_of(run)
                console.print(
                    f"run {run.run_id}: cost approved by {who}. A worker (`keel worker {source}`) starts it, "
                    f"or add `--app {source}` to run it here.",
                    soft_wrap=True,
                    markup=False,
                )
            return
        if not json_out:
            console.print(f"run {run.run_id}: cost approved by {who}; running it here", soft_wrap=True, markup=False)
        final, interrupted = drive(op_app, run.run_id, json_out=json_out)
        code = report(final, json_out=json_out, interrupted=interrupted)
    if code:
        raise typer.Exit(code)


@app.command("signal")
def signal_command(
    ctx: typer.Context,
    run_id: RunId,
    name: Annotated[str, typer.Argument(help="The signal name the workflow waits for.")],
    payload: Annotated[str | None, typer.Option("--payload", "-p", help="The payload, as JSON.")] = None,
    json_out: JsonOut = False,
) -> None:
    """Deliver a signal to a run; a run waiting for it wakes up."""
    import json

    from keel.errors import InputValidationError

    try:
        value = None if payload is None else json.loads(payload)
    except ValueError as exc:
        raise InputValidationError(f"--payload is not valid JSON: {exc}") from None
    state: CliState = ctx.obj
    with state.control_app() as op_app:
        run = op_app.store.find_run(run_id)
        op_app.signal(run.run_id, name, value)
        run = op_app.store.get_run(run.run_id)
    if json_out:
        print_json(run_json(run))
    else:
        console.print(f"signal {name!r} delivered to run {run.run_id} ({run.status})", soft_wrap=True, markup=False)


@dlq_app.command("list")
def dlq_list_command(
    ctx: typer.Context,
    workflow: WorkflowFilter = None,
    limit: Limit = 50,
    json_out: JsonOut = False,
) -> None:
    """List parked runs with the step that failed and its error."""
    state: CliState = ctx.obj
    with state.store() as store:
        runs = store.list_runs(status=RunStatus.DEAD_LETTER.value, workflow=workflow, limit=limit)
    if json_out:
        print_json([dlq_json(r) for r in runs])
    elif runs:
        console.print(dlq_table(runs))
        console.print(
            "fix the cause, then `keel runs resume ID` (retry) or `keel runs abort ID` (compensate)",
            style="dim",
            soft_wrap=True,
            markup=False,
        )
    else:
        console.print("the dead-letter queue is empty", style="dim")
