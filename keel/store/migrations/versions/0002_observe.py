"""Observability: each run's trace context, per-step model usage, and the built-in span store.

Revision ID: 0002_observe
Revises: 0001_engine
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_observe"
down_revision = "0001_engine"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot ALTER a table beyond ADD COLUMN; Alembic copies it when needed.
    with op.batch_alter_table("keel_runs") as batch:
        batch.add_column(sa.Column("trace_id", sa.String(32)))
        batch.add_column(sa.Column("span_id", sa.String(16)))
        batch.add_column(sa.Column("parent_span_id", sa.String(16)))
    op.create_index("ix_keel_runs_trace", "keel_runs", ["trace_id"])
    with op.batch_alter_table("keel_steps") as batch:
        batch.add_column(sa.Column("tokens_input", sa.Integer))
        batch.add_column(sa.Column("tokens_output", sa.Integer))
        batch.add_column(sa.Column("cost_usd", sa.Float))
        batch.add_column(sa.Column("span_id", sa.String(16)))
        batch.add_column(sa.Column("worker_id", sa.String(120)))
        batch.add_column(sa.Column("events", sa.Text))
    op.create_table(
        "keel_spans",
        sa.Column("trace_id", sa.String(32), primary_key=True),
        sa.Column("span_id", sa.String(16), primary_key=True),
        sa.Column("parent_span_id", sa.String(16)),
        sa.Column("run_id", sa.String(36)),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("start_ns", sa.BigInteger, nullable=False),
        sa.Column("end_ns", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("events", sa.Text),
    )
    op.create_index("ix_keel_spans_run", "keel_spans", ["run_id"])


def downgrade() -> None:
    op.drop_table("keel_spans")
    with op.batch_alter_table("keel_steps") as batch:
        batch.drop_column("events")
        batch.drop_column("worker_id")
        batch.drop_column("span_id")
        batch.drop_column("cost_usd")
        batch.drop_column("tokens_output")
        batch.drop_column("tokens_input")
    op.drop_index("ix_keel_runs_trace", "keel_runs")
    with op.batch_alter_table("keel_runs") as batch:
        batch.drop_column("parent_span_id")
        batch.drop_column("span_id")
        batch.drop_column("trace_id")
