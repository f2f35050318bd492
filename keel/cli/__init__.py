"""The `keel` command: start and serve workflows, inspect and operate runs."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated

import typer

# Typer 0.29 vendors Click as typer._click and re-exports only TyperException, its base class.
from typer._click.exceptions import NoArgsIsHelpError
from typer._click.exceptions import UsageError as ClickUsageError

from keel.cli import audit, db, gdpr, guard, killswitch, observe, policy, retention, review, runs, workflows
from keel.cli._output import setup_logging
from keel.cli._target import CliState
from keel.cli.budgets import budgets_command
from keel.cli.estimate import estimate_command
from keel.cli.run import run_command
from keel.cli.trace import trace_command
from keel.cli.worker import worker_command
from keel.errors import ConfigError, KeelError, UsageError

app = typer.Typer(
    name="keel",
    help="Keel: durable workflows for AI agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # an unexpected exception is a bug: show the plain traceback
)


@app.callback()
def root(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="KEEL_DATABASE_URL",
            show_envvar=True,
            help="sqlite:///PATH or postgresql://... [default: sqlite:///.keel/keel.db]",
        ),
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option("--log-level", help="debug, info, warning or error [default: info for `worker`, else error]"),
    ] = None,
    log_format: Annotated[
        str | None,
        typer.Option(
            "--log-format",
            envvar="KEEL_LOG_FORMAT",
            show_envvar=True,
            help="json (one object per line) or console [default: json for `worker`, else console]",
        ),
    ] = None,
) -> None:
    """Keel: durable workflows for AI agents."""
    if log_level is not None and log_level.lower() not in ("debug", "info", "warning", "error", "critical"):
        raise UsageError(f"--log-level must be debug, info, warning or error, got {log_level!r}")
    log_format = log_format.lower() if log_format else None  # an empty KEEL_LOG_FORMAT means unset
    if log_format is not None and log_format not in ("json", "console"):
        raise UsageError(f"--log-format must be json or console, got {log_format!r}")
    # Progress is printed by the commands themselves; the engine's log lines would repeat it.
    setup_logging(log_level or "error", log_format or "console")
    ctx.obj = CliState(database_url=database_url or None, log_level=log_level, log_format=log_format)


app.command("run", no_args_is_help=True)(run_command)
app.command("estimate", no_args_is_help=True)(estimate_command)
app.command("worker", no_args_is_help=True)(worker_command)
app.command("trace", no_args_is_help=True)(trace_command)
app.command("budgets")(budgets_command)
app.add_typer(runs.app, name="runs")
app.add_typer(runs.dlq_app, name="dlq")
app.add_typer(workflows.app, name="workflows")
app.add_typer(db.app, name="db")
app.add_typer(observe.app, name="observe")
app.add_typer(guard.app, name="guard")
app.add_typer(audit.app, name="audit")
app.add_typer(gdpr.app, name="gdpr")
app.add_typer(killswitch.app, name="kill-switch")
app.add_typer(retention.app, name="retention")
app.add_typer(policy.app, name="policy")
app.add_typer(review.app, name="review")

# The one place where errors become exit codes: 2 when the command was called wrongly, 1 otherwise.
EXIT_CODES: tuple[tuple[type[KeelError], int], ...] = (
    (UsageError, 2),  # bad target, bad --input, input that does not fit the workflow
    (ConfigError, 2),  # a bad --database-url / KEEL_* setting
    (KeelError, 1),  # unknown run, invalid state, store errors, failed runs
)


def exit_code(exc: KeelError) -> int:
    return next(code for cls, code in EXIT_CODES if isinstance(exc, cls))


def _error(message: str) -> None:
    # One line, always: scripts and people both read the first line only.
    sys.stderr.write(f"error: {' '.join(message.split())}\n")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `keel` console script."""
    command = typer.main.get_command(app)
    try:
        rv = command.main(args=list(argv) if argv is not None else None, prog_name="keel", standalone_mode=False)
    except NoArgsIsHelpError as exc:
        if exc.format_message().strip():  # Typer's Rich help is already printed; Click's is not
            exc.show()
        sys.exit(exc.exit_code)
    except ClickUsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        _error(exc.format_message() + hint)
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:
        _error(exc.format_message())
        sys.exit(exc.exit_code)
    except typer.Abort:
        _error("aborted")
        sys.exit(1)
    except KeelError as exc:
        _error(exc.message)
        sys.exit(exit_code(exc))
    sys.exit(rv if isinstance(rv, int) else 0)


__all__ = ["app", "main"]
