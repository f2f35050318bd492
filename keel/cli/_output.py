"""Rendering for people (Rich) and for programs (JSON on stdout, nothing else on it)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from keel.errors import UsageError
from keel.store import RunRecord, StepRecord

if TYPE_CHECKING:
    # Listeners run only where a run runs, so the executor is already imported by then.
    from keel.engine.executor import RunEvent, StepEvent
    from keel.observe.logging import LogFormat

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

STATUS_STYLES = {
    "succeeded": "green",
    "replayed": "dim",
    "retrying": "yellow",
    "waiting": "cyan",
    "pending": "cyan",
    "running": "blue",
    "compensating": "magenta",
    "failed": "red",
    "dead_letter": "bold red",
    "cancelled": "yellow",
}


def print_json(value: Any) -> None:
    """One JSON document on stdout (plain text: no colours, no wrapping)."""
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def note(message: str) -> None:
    """A human-facing remark on stderr, so stdout stays parseable."""
    err_console.print(message, soft_wrap=True, markup=False)


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def iso(ts: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC, for JSON."""
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def when(ts: float | None) -> str:
    """Epoch seconds as a UTC time for tables."""
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"


def short_id(run_id: str) -> str:
    """The first 8 characters: enough for every command, which accepts unambiguous prefixes."""
    return run_id[:8]


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def error_of(run: RunRecord) -> dict[str, Any] | None:
    """The run's stored error as a dict (type, code, message, traceback), if it has one."""
    err = _loads(run.error)
    if err is None:
        return None
    return err if isinstance(err, dict) else {"message": str(err)}


def error_message(run: RunRecord) -> str:
    """The stored error's message (a StepFailedError's already names the step's exception)."""
    err = error_of(run) or {}
    return str(err.get("message") or err.get("type") or "no error recorded")


# -- records as JSON -----------------------------------------------------------------------------


def run_json(run: RunRecord) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "workflow_name": run.workflow_name,
        "workflow_version": run.workflow_version,
        "status": run.status,
        "input": _loads(run.input),
        "result": _loads(run.result),
        "error": error_of(run),
        "idempotency_key": run.idempotency_key,
        "org_id": run.org_id,
        "user_id": run.user_id,
        "target": run.target,
        "created_at": iso(run.created_at),
        "updated_at": iso(run.updated_at),
        "wake_at": iso(run.wake_at),
        "lease_owner": run.lease_owner,
        "lease_expires_at": iso(run.lease_expires_at),
        "step_count": run.step_count,
        "attempt": run.attempt,
        "failed_step": run.failed_step,
        "paused": run.paused,
        "control": run.control,
        "flags": run.flags.split(",") if run.flags else [],
    }


def step_json(step: StepRecord) -> dict[str, Any]:
    return {
        "seq": step.seq,
        "name": step.name,
        "kind": step.kind,
        "status": step.status,
        "attempts": step.attempts,
        "duration_s": _step_duration(step),
        "started_at": iso(step.started_at),
        "finished_at": iso(step.finished_at),
        "wake_at": iso(step.wake_at),
        "error": _loads(step.error),
    }


def transition_json(row: dict[str, Any]) -> dict[str, Any]:
    return {"at": iso(row["at"]), "from": row["from_status"], "to": row["to_status"], "cause": row["cause"]}


def _step_duration(step: StepRecord) -> float | None:
    if step.started_at is None or step.finished_at is None:
        return None
    return round(step.finished_at - step.started_at, 6)


# -- tables --------------------------------------------------------------------------------------


def runs_table(runs: list[RunRecord]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("ID", no_wrap=True)
    table.add_column("WORKFLOW")
    table.add_column("STATUS", no_wrap=True)
    table.add_column("STEPS", justify="right")
    table.add_column("CREATED (UTC)", no_wrap=True)
    for run in runs:
        status = status_text(run.status)
        if run.paused:
            status.append(" (paused)", style="yellow")
        if run.flags:
            status.append(f" ({run.flags})", style="yellow")
        table.add_row(
            short_id(run.run_id),
            f"{run.workflow_name} v{run.workflow_version}",
            status,
            str(run.step_count),
            when(run.created_at),
        )
    return table


def render_run(run: RunRecord, steps: list[StepRecord], transitions: list[dict[str, Any]]) -> None:
    """`keel runs show`: the run's fields, its journal, its transitions and its error."""
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold", no_wrap=True)
    fields.add_column(overflow="fold")
    status = status_text(run.status)
    if run.paused:
        status.append(" (paused)", style="yellow")
    if run.control:
        status.append(f" ({run.control} requested)", style="magenta")
    if run.flags:
        # e.g. budget_exceeded: the workflow caught a hard stop and returned a partial result.
        status.append(f" ({run.flags})", style="yellow")
    rows: list[tuple[str, str | Text | None]] = [
        ("run", run.run_id),
        ("workflow", f"{run.workflow_name} v{run.workflow_version}"),
        ("status", status),
        ("target", run.target),
        ("input", run.input),
        ("result", run.result),
        ("idempotency key", run.idempotency_key),
        ("org / user", " / ".join(x or "-" for x in (run.org_id, run.user_id)) if run.org_id or run.user_id else None),
        ("created", when(run.created_at) + " UTC"),
        ("updated", when(run.updated_at) + " UTC"),
        ("wakes at", when(run.wake_at) + " UTC" if run.wake_at and run.status == "waiting" else None),
        ("lease", f"{run.lease_owner} until {when(run.lease_expires_at)} UTC" if run.lease_owner else None),
    ]
    for label, value in rows:
        if value is not None:
            fields.add_row(label, value)
    console.print(fields)

    console.print()
    journal = Table(title="steps", title_justify="left", box=None, pad_edge=False, header_style="bold")
    journal.add_column("SEQ", justify="right")
    journal.add_column("NAME")
    journal.add_column("KIND")
    journal.add_column("STATUS", no_wrap=True)
    journal.add_column("ATTEMPTS", justify="right")
    journal.add_column("DURATION", justify="right", no_wrap=True)
    for step in steps:
        journal.add_row(
            str(step.seq),
            step.name,
            step.kind,
            status_text(step.status),
            str(step.attempts),
            duration(_step_duration(step)),
        )
    if steps:
        console.print(journal)
    else:
        console.print("[dim]no steps journaled yet[/dim]")

    console.print()
    history = Table(title="transitions", title_justify="left", box=None, pad_edge=False, header_style="bold")
    history.add_column("AT (UTC)", no_wrap=True)
    history.add_column("FROM", no_wrap=True)
    history.add_column("TO", no_wrap=True)
    history.add_column("CAUSE")
    for row in transitions:
        history.add_row(when(row["at"]), row["from_status"] or "-", status_text(row["to_status"]), row["cause"])
    console.print(history)

    if run.error:
        console.print()
        where = f" in step {run.failed_step!r}" if run.failed_step else ""
        console.print(Text(f"error{where}: {error_message(run)}", style="red"))


def dlq_table(runs: list[RunRecord]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("ID", no_wrap=True)
    table.add_column("WORKFLOW")
    table.add_column("FAILED STEP")
    table.add_column("ERROR", overflow="fold")
    table.add_column("PARKED (UTC)", no_wrap=True)
    for run in runs:
        table.add_row(
            short_id(run.run_id),
            f"{run.workflow_name} v{run.workflow_version}",
            run.failed_step or "-",
            error_message(run),
            when(run.updated_at),
        )
    return table


def dlq_json(run: RunRecord) -> dict[str, Any]:
    err = error_of(run) or {}
    return {
        "run_id": run.run_id,
        "workflow_name": run.workflow_name,
        "workflow_version": run.workflow_version,
        "failed_step": run.failed_step,
        "error_type": err.get("type"),
        "error_message": err.get("message"),
        "parked_at": iso(run.updated_at),
        "target": run.target,
    }


# -- live progress -------------------------------------------------------------------------------


_REPORTED = frozenset({"succeeded", "failed", "cancelled", "dead_letter"})


class StepPrinter:
    """A run listener that prints each step of one run as it completes (for `keel run`)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def __call__(self, event: StepEvent | RunEvent) -> None:
        from keel.engine.executor import RunEvent

        if event.run_id != self.run_id:
            return
        if isinstance(event, RunEvent):
            if event.status in _REPORTED:
                return  # the command reports where the run ended once it stops
            line = Text("  run ")
            line.append(status_text(event.status))
            line.append(f"  {event.cause}", style="dim")
            console.print(line, soft_wrap=True)
            return
        line = Text(f"  {event.seq:>3}  ")
        line.append(f"{event.name:<28}", style="dim" if event.status == "replayed" else "bold")
        line.append(" ")
        line.append(f"{event.status:<10}", style=STATUS_STYLES.get(event.status, ""))
        if event.status != "waiting":
            line.append(f"  attempt {event.attempt}  {duration(event.duration_s):>8}")
        if event.kind not in ("step", "wait"):
            line.append(f"  ({event.kind})", style="dim")
        if event.error:
            line.append(f"  {event.error}", style="red" if event.status == "failed" else "yellow")
        console.print(line, soft_wrap=True)


class StepLogger:
    """A run listener that logs one line per step event (for `keel worker`)."""

    def __init__(self) -> None:
        self.log = logging.getLogger("keel.cli.worker")

    def __call__(self, event: StepEvent | RunEvent) -> None:
        from keel.engine.executor import RunEvent

        if isinstance(event, RunEvent):
            level = logging.WARNING if event.status in ("failed", "dead_letter") else logging.INFO
            self.log.log(
                level,
                "run %s",
                event.status,
                extra={
                    "event_type": f"run.{event.status}",
                    "run_id": event.run_id,
                    "workflow": event.workflow,
                    "cause": event.cause,
                },
            )
            return
        if event.status == "retrying":
            return  # the engine logs each retry itself, with its delay
        level = logging.WARNING if event.status == "failed" else logging.INFO
        extra: dict[str, Any] = {
            "event_type": f"step.{event.status}",
            "run_id": event.run_id,
            "workflow": event.workflow,
            "seq": event.seq,
            "step": event.name,
            "attempt": event.attempt,
            "duration_ms": round(event.duration_s * 1000, 1),
        }
        if event.error:
            extra["error"] = event.error
        self.log.log(level, "step %s", event.status, extra=extra)


_LOG_FORMATS: dict[str, LogFormat] = {"json": "json", "console": "console"}


class _DeferredLogging(logging.Handler):
    """Keel's log handler, configured when the first record at the chosen level arrives.

    A command that logs nothing (most of them, at the default level "error") never imports structlog,
    a tenth of a short command's start-up.
    """

    def __init__(self, level: str, fmt: LogFormat) -> None:
        super().__init__()
        self.settings = (level, fmt)

    def emit(self, record: logging.LogRecord) -> None:
        from keel.observe.logging import configure_logging

        root = logging.getLogger()
        root.removeHandler(self)
        configure_logging(*self.settings)
        for handler in root.handlers:
            if record.levelno >= handler.level:
                handler.handle(record)


def setup_logging(level: str, fmt: str = "console") -> None:
    """Log records to stderr, one line each (JSON for machines, or for people); the library never prints."""
    if fmt not in _LOG_FORMATS:
        raise UsageError(f"--log-format must be json or console, got {fmt!r}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _DeferredLogging)]:
        root.removeHandler(old)
    if "keel.observe.logging" in sys.modules:
        sys.modules["keel.observe.logging"].configure_logging(level, _LOG_FORMATS[fmt])
    else:
        root.setLevel(level.upper())
        root.addHandler(_DeferredLogging(level, _LOG_FORMATS[fmt]))
    # Alembic narrates every migration check at INFO; only its problems matter here.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))
