"""`keel run`: start a workflow and drive it here, printing each step as it completes.

Exit codes: 0 the run succeeded (or is queued behind a pause), 1 it failed, 2 the command was
called wrongly, 3 the run was created but waits for its cost to be approved (the workflow's
`confirm_above_usd`), 130 interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from typing import Annotated, Any

import typer
from rich.text import Text

from keel.app import STOPPED, App, RunHandle
from keel.cli._output import StepPrinter, console, error_message, note, print_json, short_id, status_text
from keel.cli._target import CliState, load_workflow, split_target
from keel.engine.estimate import CostGate, current_user
from keel.errors import InputValidationError, UsageError
from keel.store import RunRecord
from keel.types import RunStatus

# Created, not started: its estimated cost waits for `keel runs approve`. Not 0, so that
# `keel run ... && next` does not go on as if the run had happened; not 1, which scripts read as a
# failure and retry (each retry would leave another run waiting for approval).
AWAITING_APPROVAL = 3


def parse_input(raw: str | None) -> tuple[list[Any], dict[str, Any]]:
    """--input as (args, kwargs): a JSON object is keyword arguments, an array positional ones."""
    if raw is None:
        return [], {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise InputValidationError(f"--input is not valid JSON: {exc}") from None
    if isinstance(value, dict):
        return [], value
    if isinstance(value, list):
        return value, {}
    raise InputValidationError(
        f"--input must be a JSON object (keyword arguments) or array (positional arguments), got {type(value).__name__}"
    )


def source_of(run: RunRecord) -> str:
    """The module or file a run was started from (its recorded TARGET without the workflow)."""
    return split_target(run.target)[0] if run.target else "MODULE_OR_FILE"


def ensure_drivable(app: App, run: RunRecord) -> None:
    """Refuse to wait forever on a run whose workflow version this app cannot execute."""
    if app.registry.workflow(run.workflow_name, run.workflow_version) is None:
        raise UsageError(
            f"run {run.run_id} needs workflow {run.workflow_name!r} version {run.workflow_version!r}, "
            f"which app {app.name!r} does not register"
        )


async def drive_inline(app: App, run_id: str) -> tuple[RunRecord, bool]:
    """Drive a run in this process until it ends, parks or is held: (run, stopped by a signal)."""
    # A first SIGINT/SIGTERM drains: the current step finishes and the run is released at the
    # step boundary for any worker to continue. A second one stops at once (the lease lapses).
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def interrupt() -> None:
        stop.set()
        app.engine.draining = True  # the execution releases the run at its next step boundary
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)  # a second signal gets the default behaviour

    with contextlib.suppress(NotImplementedError):  # no loop signal handlers on Windows
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, interrupt)
    try:
        run = await RunHandle(app, run_id).drive(stop=stop, return_when_held=True)
        return run, stop.is_set() and run.status not in STOPPED
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


def drive(app: App, run_id: str, *, json_out: bool) -> tuple[RunRecord, bool]:
    """Drive a run inline, printing its steps unless the output is JSON; (run, interrupted)."""
    if not json_out:
        app.listeners.append(StepPrinter(run_id))
    try:
        return asyncio.run(drive_inline(app, run_id))
    except KeyboardInterrupt:
        note(
            f"interrupted: run {run_id} keeps its lease for up to {app.settings.lease_ttl_s:g}s; "
            "after that any worker picks it up from its last checkpoint"
        )
        raise typer.Exit(130) from None


def report(
    run: RunRecord,
    *,
    json_out: bool,
    created: bool = True,
    interrupted: bool = False,
    expected: str = RunStatus.SUCCEEDED.value,
    approval: str | None = None,
) -> int:
    """Print where a run stopped; returns the exit code (0 when it reached `expected` or is held).

    `approval`: why the run waits for cost approval, when it does (exit code 3).
    """
    held = run.status not in STOPPED and not interrupted
    if interrupted:
        code = 130
    elif held and approval is not None:
        code = AWAITING_APPROVAL
    elif held:
        code = 0  # queued behind a pause: nothing went wrong
    else:
        code = 0 if run.status == expected else 1
    if json_out:
        err = json.loads(run.error) if run.error else None
        print_json(
            {
                "run_id": run.run_id,
                "status": run.status,
                "result": json.loads(run.result) if run.result is not None else None,
                "error": {"type": err.get("type"), "message": err.get("message")} if isinstance(err, dict) else None,
                "created": created,
                **({"awaiting_approval": approval, "approve_command": approve_command(run)} if approval else {}),
            }
        )
    rid = run.run_id
    # Why the run is not finished goes to stderr in both modes: JSON readers see the status.
    if interrupted:
        note(
            f"stopped: run {rid} was released at a step boundary ({run.status}); "
            f"a worker (`keel worker {source_of(run)}`) continues it from its last checkpoint"
        )
    elif held and approval is not None:
        note(
            f"run {rid} is created but not started, {approval}.\n"
            f"  approve it: {approve_command(run)}   (then a worker runs it: `keel worker {source_of(run)}`; "
            f"or add `--app {source_of(run)}` to run it here)\n"
            f"  or drop it: keel runs cancel {rid}"
        )
    elif held:
        if run.paused:
            why, fix = "the run is paused", f"keel runs unpause {short_id(rid)}"
        else:
            why, fix = f"workflow {run.workflow_name!r} is paused", f"keel workflows unpause {run.workflow_name}"
        note(f"run {rid} is queued but not started: {why}; it continues once unpaused (`{fix}`)")
    elif json_out:
        pass  # the JSON object carries the outcome and the error
    elif run.status == expected:
        line = Text(f"run {rid} ")
        line.append(status_text(run.status))
        if run.status != RunStatus.SUCCEEDED.value and run.error:
            line.append(f"  {error_message(run)}", style="dim")
        console.print(line, soft_wrap=True)
        if run.status == RunStatus.SUCCEEDED.value:
            console.print(
                json.dumps(json.loads(run.result or "null"), indent=2, ensure_ascii=False), soft_wrap=True, markup=False
            )
        note(f"see where the time went: keel trace {short_id(rid)}  ·  keel runs explain {short_id(rid)}")
    elif run.status == RunStatus.DEAD_LETTER.value:
        note(
            f"error: run {rid} is parked in the dead-letter queue: {error_message(run)} "
            f"(fix the cause, then `keel runs resume {short_id(rid)}`)"
        )
    elif run.status == RunStatus.CANCELLED.value:
        note(f"error: run {rid} was cancelled")
    else:
        note(f"error: run {rid} {run.status}: {error_message(run)}")
    return code


def approve_command(run: RunRecord) -> str:
    """The exact command that approves a run's cost."""
    return f"keel runs approve {run.run_id}"


def ask(question: str) -> bool:
    """A yes/no question on the terminal (stderr, so stdout stays parseable); no by default."""
    sys.stderr.write(question)
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if not answer:
        sys.stderr.write("\n")  # end of input: the answer is no
    return answer.strip().lower() in ("y", "yes")


def decide_approval(gate: CostGate | None, *, yes: bool) -> str | None:
    """Who approves the run's cost up front: `--yes` or a "y" at the prompt; None leaves it waiting.

    Asks only when stdin is a terminal. Answering no starts nothing (exit 1).
    """
    if gate is None or not gate.needs_approval:
        return None
    if yes:
        return current_user()
    if not sys.stdin.isatty():
        return None  # nobody to ask: the run is created waiting for `keel runs approve`
    if ask(gate.question()):
        return current_user()
    note(f"not started: {gate.summary()}")
    raise typer.Exit(1)


def run_command(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="module:workflow or path/to/file.py:workflow")],
    input_json: Annotated[
        str | None,
        typer.Option("--input", "-i", help="Workflow arguments: a JSON object (keywords) or array (positional)."),
    ] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option("--idempotency-key", help="Start at most one run per key; reusing it returns that run."),
    ] = None,
    org: Annotated[str | None, typer.Option("--org", help="Organisation the run belongs to.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="User the run acts for.")] = None,
    enqueue: Annotated[
        bool, typer.Option("--enqueue", help="Only queue the run for a worker; print its id and return.")
    ] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", "-y", help="Approve the estimated cost up front (workflows with confirm_above_usd); don't ask."
        ),
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of progress.")] = False,
) -> None:
    """Start a workflow run and drive it here, step by step (or --enqueue it for a worker).

    A workflow with confirm_above_usd whose estimated cost is above it asks first when stdin is a
    terminal; with --yes it does not ask; otherwise the run is created waiting for
    `keel runs approve` and the command exits 3.
    """
    state: CliState = ctx.obj
    args, kwargs = parse_input(input_json)
    loaded = load_workflow(target, state)
    app = loaded.app
    try:
        gate = app._cost_gate(loaded.workflow, args, kwargs)
        approved_by = decide_approval(gate, yes=yes)
        # The WorkflowDef itself (not its function or name) pins the exact version the TARGET named.
        handle = app._start(
            loaded.workflow,
            args,
            kwargs,
            idempotency_key=idempotency_key,
            org_id=org,
            user_id=user,
            target=target,
            approved_by=approved_by,
            gate=gate,
        )
        run = handle.get()
        if approved_by is not None and handle.created and gate is not None:
            note(f"cost approved by {approved_by}: {gate.summary()}")
        if not handle.created:
            note(
                f"idempotency key {idempotency_key!r} already started run {run.run_id} "
                f"({run.workflow_name} v{run.workflow_version}, {run.status}); not starting another"
            )
        if handle.approval is not None:
            if enqueue and not json_out:
                console.print(run.run_id)  # --enqueue prints the id on stdout, waiting or not
            code = report(run, json_out=json_out, created=handle.created, approval=handle.approval)
            raise typer.Exit(code)
        if enqueue:
            if json_out:
                print_json({"run_id": run.run_id, "status": run.status, "created": handle.created})
            else:
                console.print(run.run_id)
                note(
                    f"queued {loaded.workflow.name} v{loaded.workflow.version}: a worker runs it "
                    f"(`keel worker {loaded.source}`)"
                )
            return
        if run.status not in STOPPED:
            ensure_drivable(app, run)
        if not json_out and run.status not in STOPPED:
            line = Text(f"run {run.run_id}  ")
            line.append(f"{run.workflow_name} v{run.workflow_version}", style="bold")
            console.print(line, soft_wrap=True)
        run, interrupted = drive(app, run.run_id, json_out=json_out)
        code = report(run, json_out=json_out, created=handle.created, interrupted=interrupted)
    finally:
        app.close()
    if code:
        raise typer.Exit(code)
