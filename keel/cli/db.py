"""`keel db`: the database schema."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from keel.cli._output import console, print_json
from keel.cli._target import CliState
from keel.store import open_store

app = typer.Typer(help="The database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command(
    ctx: typer.Context, json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """Apply Keel's migrations up to the latest revision (needed on PostgreSQL; automatic on SQLite)."""
    state: CliState = ctx.obj
    url = state.resolved_url()
    store = open_store(url, migrate=True)
    try:
        revision = store.upgrade()  # already applied by open_store; this reads the revision back
    finally:
        store.close()
    shown = make_url(url).render_as_string(hide_password=True)
    if json_out:
        print_json({"database": shown, "revision": revision})
    else:
        console.print(f"database {shown} is at revision {revision}", soft_wrap=True, markup=False)
