"""Alembic environment: runs on the connection Keel hands over, never opens its own."""

from alembic import context

from keel.store.migrate import VERSION_TABLE
from keel.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Keel's migrations run through `keel db upgrade` or keel.store.open_store()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=True,  # SQLite alters tables by copy-and-move
)
with context.begin_transaction():
    context.run_migrations()
