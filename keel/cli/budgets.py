"""`keel budgets`: what each budget has spent, holds for calls in flight, and refused."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from keel.cli._output import console, iso, print_json, short_id
from keel.cli._target import CliState
from keel.store.budgets import LedgerState


def ledger_json(ledger: LedgerState) -> dict[str, Any]:
    return {
        "budget": ledger.key,
        "level": ledger.level,
        "limit_usd": ledger.limit_usd,
        "limit_tokens": ledger.limit_tokens,
        "spent_usd": round(ledger.spent_usd, 6),
        "spent_tokens": ledger.spent_tokens,
        "reserved_usd": round(max(0.0, ledger.reserved_usd), 6),
        "reserved_tokens": max(0, ledger.reserved_tokens),
        "used": round(ledger.used_fraction(), 4),
        "calls": ledger.calls,
        "refusals": ledger.refusals,
        "updated_at": iso(ledger.updated_at),
    }


def _amount(spent: float | int, limit: float | int | None, usd: bool) -> str:
    if limit is None:
        return "-"
    if usd:
        return f"${spent:,.4f}/${limit:,.2f}"
    return f"{int(spent):,}/{int(limit):,}"


def _short(key: str) -> str:
    # Run ids are long; the table shows them as `keel runs list` does (--json has them whole).
    kind, _, rest = key.partition(":")
    return f"run:{short_id(rest)}" if kind == "run" else key


def budgets_command(
    ctx: typer.Context,
    prefix: Annotated[
        str | None,
        typer.Argument(metavar="[PREFIX]", help="Only budgets whose key starts with this (org:acme, run:, tag:...)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="Most recently used first.")] = 50,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show budgets: spent of each limit, held by calls in flight, calls reserved and refused."""
    state: CliState = ctx.obj
    with state.store() as store:
        ledgers = store.budget_ledgers(prefix, limit)
    if json_out:
        print_json([ledger_json(ledger) for ledger in ledgers])
        return
    if not ledgers:
        console.print("no budget has been used yet (set limits in keel.toml [budgets])", style="dim")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("BUDGET", no_wrap=True)
    table.add_column("USD", justify="right", no_wrap=True)
    table.add_column("TOKENS", justify="right", no_wrap=True)
    table.add_column("USED", justify="right")
    table.add_column("HELD", justify="right")
    table.add_column("CALLS", justify="right")
    table.add_column("REFUSED", justify="right")
    for ledger in ledgers:
        used = ledger.used_fraction()
        table.add_row(
            _short(ledger.key),
            _amount(ledger.spent_usd, ledger.limit_usd, usd=True),
            _amount(ledger.spent_tokens, ledger.limit_tokens, usd=False),
            f"[{'red' if used >= 1 else 'yellow' if used >= 0.8 else 'green'}]{used:.0%}[/]",
            f"${max(0.0, ledger.reserved_usd):,.4f}",
            str(ledger.calls),
            f"[red]{ledger.refusals}[/]" if ledger.refusals else "0",
        )
    console.print(table)
