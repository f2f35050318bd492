"""Alembic, driven from code: Keel ships its migrations inside the package."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

VERSION_TABLE = "keel_alembic_version"


def _config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "keel.store:migrations")
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def upgrade(conn: Connection, revision: str = "head") -> None:
    command.upgrade(_config(conn), revision)


def current(conn: Connection) -> str | None:
    revision: str | None = MigrationContext.configure(
        conn, opts={"version_table": VERSION_TABLE}
    ).get_current_revision()
    return revision


def head() -> str | None:
    revision: str | None = ScriptDirectory.from_config(_config()).get_current_head()
    return revision
