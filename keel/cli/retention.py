"""`keel retention show | purge`: the retention policy in force, and the purge job that applies it."""

from __future__ import annotations

import sys
import time
from typing import Annotated, Any

import typer
from rich.table import Table

from keel.cli._output import console, note, print_json
from keel.cli._target import CliState

app = typer.Typer(help="Retention: how long runs, journals and the audit log are kept; purge what is older.")


def _days(days: int) -> str:
    return "forever" if days == 0 else f"{days:,} days"


@app.command("show")
def show_command(as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False) -> None:
    """Print the policy from KEEL_RETENTION_* and KEEL_RETENTION_FILE: defaults and per-org limits."""
    from keel.governance.retention import RetentionPolicy

    policy = RetentionPolicy.from_env()
    if as_json:
        print_json(policy.as_dict())
        return
    table = Table("org", "runs", "journal", "audit")
    for org in [None, *sorted(policy.orgs)]:
        limits = policy.limits(org)
        table.add_row(org or "(default)", _days(limits.runs_days), _days(limits.journal_days), _days(limits.audit_days))
    console.print(table)
    console.print(
        f"the audit log (one chain for every org) keeps {_days(policy.audit_limit_days())}; "
        f"purges work {policy.batch} runs per transaction"
    )


@app.command("purge")
def purge_command(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go; change nothing.")] = False,
    org: Annotated[
        str | None, typer.Option("--org", help="Only this org's runs (the audit log is then left alone).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Delete finished runs, journals and exported audit segments older than the policy allows."""
    from keel.governance import AuditLog
    from keel.governance.retention import RetentionPolicy, purge

    state: CliState = ctx.obj
    policy = RetentionPolicy.from_env()
    tty = sys.stderr.isatty()

    def progress(what: str, label: str, done: int) -> None:
        if tty:
            unit = "segments" if what == "audit" else "runs"
            print(f"\r  {what} {label}: {done:,} {unit}", end="", file=sys.stderr, flush=True)

    started = time.monotonic()
    with state.store() as store:
        log = AuditLog(store, signer=None) if dry_run else AuditLog.from_env(store)
        report = purge(store, policy, time.time(), audit=log, dry_run=dry_run, org=org, progress=progress)
    if tty:
        print(file=sys.stderr)
    if as_json:
        print_json(report.as_dict())
        return
    verb = "would remove" if dry_run else "removed"
    for label, counts in report.orgs.items():
        shown = {k: v for k, v in counts.items() if v}
        text = ", ".join(f"{v:,} {k}" for k, v in shown.items()) if shown else "nothing"
        console.print(f"{label}: {verb} {text}")
    audit: Any = report.audit
    if audit.segments:
        console.print(
            f"audit log: {verb} {audit.entries:,} entries in {audit.segments} sealed segment(s); "
            f"horizon {audit.horizon_before} -> {audit.horizon_after}"
        )
    else:
        console.print(f"audit log: {verb} nothing")
    if audit.stopped:
        note(f"audit log: {audit.stopped}")
    if report.audit_event_id:
        note(f"recorded as audit event {report.audit_event_id} ({time.monotonic() - started:.1f} s)")
