"""Cedar policy sets, versioned by hash, activated after a second person approves.

Revision ID: 0012_policies
Revises: 0011_audit_outbox
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_policies"
down_revision = "0011_audit_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "keel_policy_versions",
        sa.Column("version", sa.String(80), primary_key=True),
        sa.Column("files", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("proposed_by", sa.String(200), nullable=False),
        sa.Column("proposed_at", sa.Float, nullable=False),
        sa.Column("approved_by", sa.String(200)),
        sa.Column("approved_at", sa.Float),
        sa.Column("rejected_by", sa.String(200)),
        sa.Column("rejected_at", sa.Float),
        sa.Column("superseded_at", sa.Float),
    )
    head = op.create_table(
        "keel_policy_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("active_version", sa.String(80)),
        sa.Column("activated_at", sa.Float),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    # Created here, so every change locks an existing row and never races to insert it.
    op.bulk_insert(head, [dict(id=1, active_version=None, activated_at=None, updated_at=0.0)])


def downgrade() -> None:
    op.drop_table("keel_policy_head")
    op.drop_table("keel_policy_versions")
