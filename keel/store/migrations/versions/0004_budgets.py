"""Budgets: one ledger row per budget and period, reservations held against them, run flags.

Revision ID: 0004_budgets
Revises: 0003_llm_cache
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_budgets"
down_revision = "0003_llm_cache"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "keel_budgets",
        # "org:ACME:month:2026-11", "run:<run id>", "tag:workflow:triage:day:2026-11-27", ...
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("level", sa.String(200), nullable=False),
        sa.Column("limit_usd", sa.Float),
        sa.Column("limit_tokens", sa.BigInteger),
        sa.Column("spent_usd", sa.Float, nullable=False, server_default="0"),
        sa.Column("spent_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("reserved_usd", sa.Float, nullable=False, server_default="0"),
        sa.Column("reserved_tokens", sa.BigInteger, nullable=False, server_default="0"),
        # Bit i set: alert threshold i has fired for this period.
        sa.Column("alerts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("calls", sa.Integer, nullable=False, server_default="0"),
        sa.Column("refusals", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "keel_budget_holds",
        sa.Column("hold_id", sa.String(36), primary_key=True),
        sa.Column("ledgers", sa.Text, nullable=False),  # JSON list of keel_budgets keys
        sa.Column("usd", sa.Float, nullable=False),
        sa.Column("tokens", sa.BigInteger, nullable=False),
        sa.Column("run_id", sa.String(36)),
        sa.Column("created_at", sa.Float, nullable=False),
        # A hold its caller never settled (its worker died mid-call) is released after this.
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_keel_budget_holds_expires", "keel_budget_holds", ["expires_at"])
    with op.batch_alter_table("keel_runs") as batch:
        # Comma-separated marks on a finished run, e.g. "budget_exceeded" (a partial result).
        batch.add_column(sa.Column("flags", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("keel_runs") as batch:
        batch.drop_column("flags")
    op.drop_index("ix_keel_budget_holds_expires", table_name="keel_budget_holds")
    op.drop_table("keel_budget_holds")
    op.drop_table("keel_budgets")
