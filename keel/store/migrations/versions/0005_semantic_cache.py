"""The model gateway's semantic cache: answers by org, route and request, with the request's embedding.

Revision ID: 0005_semantic_cache
Revises: 0004_budgets
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_semantic_cache"
down_revision = "0004_budgets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "keel_llm_semcache",
        sa.Column("org_key", sa.String(200), primary_key=True),
        sa.Column("route", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), primary_key=True),
        # L2-normalised little-endian float32, 4 bytes a dimension.
        sa.Column("vector", sa.LargeBinary, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_keel_llm_semcache_scan", "keel_llm_semcache", ["org_key", "route", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_keel_llm_semcache_scan", table_name="keel_llm_semcache")
    op.drop_table("keel_llm_semcache")
