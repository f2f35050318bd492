"""The model gateway's exact cache: answers by org and request hash, with an expiry.

Revision ID: 0003_llm_cache
Revises: 0002_observe
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_llm_cache"
down_revision = "0002_observe"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "keel_llm_cache",
        sa.Column("org_key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), primary_key=True),
        sa.Column("route", sa.String(200), nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("keel_llm_cache")
