"""Audit events written in the same transaction as the state change they record, sealed into the chain in batches.

Revision ID: 0011_audit_outbox
Revises: 0010_kill_switch
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_audit_outbox"
down_revision = "0010_kill_switch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "keel_audit_outbox",
        # The rowid on SQLite; sealing takes rows in this order, which is commit order per run.
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("event", sa.Text, nullable=False),  # the AuditEvent's fields as JSON, already redacted
    )


def downgrade() -> None:
    op.drop_table("keel_audit_outbox")
