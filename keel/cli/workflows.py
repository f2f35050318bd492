"""`keel workflows`: what the database knows about each workflow, and pausing one."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from keel.cli._output import console, note, print_json
from keel.cli._target import CliState
from keel.types import RunStatus

app = typer.Typer(help="Workflows with runs in the database; pause or unpause one.", no_args_is_help=True)

WorkflowName = Annotated[str, typer.Argument(metavar="NAME", help="Workflow name (all its versions).")]


def summarize(summary: list[dict[str, Any]], paused: set[str]) -> list[dict[str, Any]]:
    """One row per (workflow, version) with run counts per status; paused names without runs too."""
    rows: dict[tuple[str, str | None], dict[str, Any]] = {}
    for item in summary:
        key = (item["workflow_name"], item["workflow_version"])
        row = rows.setdefault(
            key, {"name": key[0], "version": key[1], "paused": key[0] in paused, "runs": {}, "total": 0}
        )
        row["runs"][item["status"]] = item["n"]
        row["total"] += item["n"]
    for name in paused - {name for name, _ in rows}:
        rows[(name, None)] = {"name": name, "version": None, "paused": True, "runs": {}, "total": 0}
    order = {s.value: i for i, s in enumerate(RunStatus)}
    for row in rows.values():
        row["runs"] = dict(sorted(row["runs"].items(), key=lambda kv: order.get(kv[0], len(order))))
    return sorted(rows.values(), key=lambda r: (r["name"], r["version"] or ""))


@app.command("list")
def list_command(
    ctx: typer.Context, json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False
) -> None:
    """List workflows with their run counts per status and whether they are paused."""
    state: CliState = ctx.obj
    with state.store() as store:
        rows = summarize(store.workflow_summary(), store.paused_workflows())
    if json_out:
        print_json(rows)
        return
    if not rows:
        console.print("no workflows have runs yet", style="dim")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("WORKFLOW")
    table.add_column("VERSION")
    table.add_column("PAUSED")
    table.add_column("TOTAL", justify="right")
    table.add_column("RUNS")
    for row in rows:
        counts = ", ".join(f"{status} {n}" for status, n in row["runs"].items()) or "-"
        table.add_row(
            row["name"],
            row["version"] or "-",
            "[yellow]yes[/yellow]" if row["paused"] else "no",
            str(row["total"]),
            counts,
        )
    console.print(table)


def _set_paused(ctx: typer.Context, name: str, paused: bool) -> None:
    state: CliState = ctx.obj
    with state.control_app() as op_app:
        known = {item["workflow_name"] for item in op_app.store.workflow_summary()}
        if paused:
            op_app.pause_workflow(name)
        else:
            op_app.unpause_workflow(name)
    if name not in known:
        # Pausing ahead of a deploy is legitimate, but a typo would otherwise go unnoticed.
        note(f"note: no runs of workflow {name!r} are recorded yet")
    if paused:
        console.print(
            f"workflow {name} paused: workers start no new runs or steps of it until `keel workflows unpause {name}`",
            soft_wrap=True,
            markup=False,
        )
    else:
        console.print(f"workflow {name} unpaused: workers pick up its runs again", soft_wrap=True, markup=False)


@app.command("pause")
def pause_command(ctx: typer.Context, name: WorkflowName) -> None:
    """Hold every run of a workflow at its next step boundary, and start no new ones."""
    _set_paused(ctx, name, True)


@app.command("unpause")
def unpause_command(ctx: typer.Context, name: WorkflowName) -> None:
    """Let a paused workflow's runs continue."""
    _set_paused(ctx, name, False)
