"""Human review requests for risky actions, and their decisions.

Revision ID: 0013_reviews
Revises: 0012_policies
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_reviews"
down_revision = "0012_policies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "keel_reviews",
        sa.Column("review_id", sa.String(100), primary_key=True),  # "<run_id>:<step>": one per governed action
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("risk_score", sa.Integer, nullable=False),
        sa.Column("policy_version", sa.String(100)),
        sa.Column("kind", sa.String(20), nullable=False),  # review | override
        sa.Column("status", sa.String(20), nullable=False),  # pending | approved | rejected
        sa.Column("requested_at", sa.Float, nullable=False),
        sa.Column("approvals", sa.Text, nullable=False),  # JSON list of {"by", "at"}
        sa.Column("rejected_by", sa.String(200)),
        sa.Column("reason", sa.Text),
        sa.Column("decided_at", sa.Float),
        sa.Column("details", sa.Text),  # JSON: workflow, org, principal, reasons, factors (no arguments)
    )
    op.create_index("ix_keel_reviews_status", "keel_reviews", ["status", "requested_at"])
    op.create_index("ix_keel_reviews_run", "keel_reviews", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_keel_reviews_run", table_name="keel_reviews")
    op.drop_index("ix_keel_reviews_status", table_name="keel_reviews")
    op.drop_table("keel_reviews")
