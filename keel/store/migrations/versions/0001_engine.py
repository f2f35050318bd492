"""The durable engine: runs, journal, transitions, signals, breakers, blobs, workflow controls.

Revision ID: 0001_engine
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_engine"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "keel_runs",
        sa.Column("run_id", sa.String(36), primary_key=True),
        sa.Column("workflow_name", sa.String(200), nullable=False),
        sa.Column("workflow_version", sa.String(50), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("input", sa.Text, nullable=False),
        sa.Column("result", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("idempotency_key", sa.String(255)),
        sa.Column("org_id", sa.String(200)),
        sa.Column("user_id", sa.String(200)),
        sa.Column("target", sa.String(500)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("wake_at", sa.Float),
        sa.Column("lease_owner", sa.String(120)),
        sa.Column("lease_expires_at", sa.Float),
        sa.Column("fencing_token", sa.BigInteger, nullable=False),
        sa.Column("step_count", sa.Integer, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("failed_step", sa.String(300)),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("control", sa.String(20)),
    )
    op.create_index("ix_keel_runs_claim", "keel_runs", ["status", "wake_at"])
    op.create_index(
        "uq_keel_runs_idempotency_key",
        "keel_runs",
        ["idempotency_key"],
        unique=True,
        sqlite_where=sa.text("idempotency_key IS NOT NULL"),
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_index("ix_keel_runs_workflow", "keel_runs", ["workflow_name", "workflow_version"])
    op.create_table(
        "keel_steps",
        sa.Column("run_id", sa.String(36), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("result", sa.Text),
        sa.Column("result_ref", sa.String(64)),
        sa.Column("args", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("wake_at", sa.Float),
        sa.Column("started_at", sa.Float),
        sa.Column("finished_at", sa.Float),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "keel_transitions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("from_status", sa.String(20)),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("cause", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_keel_transitions_run_id", "keel_transitions", ["run_id"])
    op.create_table(
        "keel_signals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("consumed_seq", sa.Integer),
    )
    op.create_index("ix_keel_signals_run", "keel_signals", ["run_id", "name"])
    op.create_table(
        "keel_breakers",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("opened_at", sa.Float),
        sa.Column("trial_until", sa.Float),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "keel_blobs",
        sa.Column("blob_id", sa.String(64), primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "keel_workflow_controls",
        sa.Column("workflow_name", sa.String(200), primary_key=True),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "keel_workflow_controls",
        "keel_blobs",
        "keel_breakers",
        "keel_signals",
        "keel_transitions",
        "keel_steps",
        "keel_runs",
    ):
        op.drop_table(table)
