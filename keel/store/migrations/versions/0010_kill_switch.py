"""The kill switch: one row every worker reads, engaged or released by operators.

Revision ID: 0010_kill_switch
Revises: 0009_audit_log
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_kill_switch"
down_revision = "0009_audit_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "keel_kill_switch",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("engaged", sa.Boolean, nullable=False),
        sa.Column("incident", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("engaged_by", sa.String(200)),
        sa.Column("engaged_at", sa.Float),
        sa.Column("pending_by", sa.String(200)),
        sa.Column("pending_at", sa.Float),
        sa.Column("released_by", sa.Text),
        sa.Column("released_at", sa.Float),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    # Created here, so engaging locks an existing row and never races to insert it.
    op.bulk_insert(table, [dict(id=1, engaged=False, incident=0, updated_at=0.0)])


def downgrade() -> None:
    op.drop_table("keel_kill_switch")
