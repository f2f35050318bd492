"""Alembic, driven from code: Keel ships its migrations inside the package.

Alembic is imported only when the schema must change: reading the applied revision is one SELECT, and
the head revision is read from the migration files' names, so opening an up-to-date store (every CLI
command) does not pay Alembic's import (~60 ms, a tenth of a short command's run).
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "keel_alembic_version"
# Migration files are named after their revision id, which starts with its place in the chain.
_REVISION_FILE = re.compile(r"^(\d{4}_\w+)\.py$")


def _config(conn: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "keel.store:migrations")
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def upgrade(conn: Connection, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(_config(conn), revision)


def current(conn: Connection) -> str | None:
    """The revision applied to the database (None on an empty one)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()  # noqa: S608 - constant
    # Keel's chain is linear, so there is at most one row; more would be a foreign branch.
    return rows[0] if len(rows) == 1 else None


@functools.cache
def head() -> str:
    """The newest revision shipped with this Keel."""
    names = [
        match.group(1)
        for entry in resources.files("keel.store.migrations").joinpath("versions").iterdir()
        if (match := _REVISION_FILE.match(entry.name))
    ]
    return max(names)
