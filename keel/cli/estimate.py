"""`keel estimate`: what a run would cost, before anything runs."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from keel.cli._output import console, note, print_json
from keel.cli._target import CliState, load_workflow
from keel.cli.run import parse_input
from keel.engine.estimate import HISTORY_RUNS, CostEstimate, CostGate, gate_for, usd

# Nothing to estimate from is not a usage error (the call was right; the data is missing).
NOTHING_TO_ESTIMATE = 1


def estimate_command(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="module:workflow or path/to/file.py:workflow")],
    input_json: Annotated[
        str | None,
        typer.Option("--input", "-i", help="Workflow arguments: a JSON object (keywords) or array (positional)."),
    ] = None,
    runs: Annotated[
        int, typer.Option("--runs", "-n", min=1, help="Past runs to learn from, most recent first.")
    ] = HISTORY_RUNS,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Estimate a run's model calls, tokens and USD (with a range) before starting it."""
    state: CliState = ctx.obj
    args, kwargs = parse_input(input_json)
    loaded = load_workflow(target, state)  # TARGET resolves exactly as for `keel run`
    app, wf = loaded.app, loaded.workflow
    try:
        estimate, reason = app._estimate(wf, args, kwargs, history_runs=runs)
    finally:
        app.close()
    gate = gate_for(wf, estimate, reason)
    if json_out:
        print_json(
            {
                "workflow": wf.name,
                "version": wf.version,
                "estimate": estimate.to_dict() if estimate is not None else None,
                "reason": reason or None,
                "confirm_above_usd": wf.confirm_above_usd,
                "needs_approval": gate.needs_approval if gate is not None else None,
            }
        )
    if estimate is None:
        note(
            f"error: nothing to estimate {wf.name} v{wf.version} from: {reason}. Run it a few times "
            f"(`keel run {target} --input ...`) or give it an estimate hook: @app.workflow(estimate=fn)"
        )
        raise typer.Exit(NOTHING_TO_ESTIMATE)
    if not json_out:
        _render(f"{wf.name} v{wf.version}", estimate, gate)


def _render(workflow: str, estimate: CostEstimate, gate: CostGate | None) -> None:
    if estimate.source == "history":
        based_on = estimate.detail
    else:
        based_on = "the workflow's estimate hook"
        if estimate.source != "hook":  # the hook named its own source
            based_on += f" ({estimate.source})"
        if estimate.detail:
            based_on += f": {estimate.detail}"
    rows: list[tuple[str, Any]] = [
        ("model calls", estimate.calls),
        ("input tokens", f"~{estimate.input_tokens:,}"),
        ("output tokens", f"~{estimate.output_tokens:,}"),
        ("cost", f"{estimate.describe()}  (point estimate, low–high)"),
        ("based on", based_on),
    ]
    if gate is not None:
        verdict = "waits for approval" if gate.needs_approval else "starts at once"
        rows.append(("confirm above", f"{usd(gate.threshold)}: a run with this input {verdict}"))
    console.print(f"{workflow}: {estimate.describe()}", soft_wrap=True, markup=False, style="bold")
    for label, value in rows:
        console.print(f"  {label:<14} {value}", soft_wrap=True, markup=False)
