"""Tool credentials: published signing keys, revocations (one, by org, all), per-org minting quotas.

Revision ID: 0007_tool_credentials
Revises: 0006_estimate_index
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_tool_credentials"
down_revision = "0006_estimate_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "keel_tool_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("algorithm", sa.String(20), nullable=False),
        # Public keys only (raw, base64url): private keys never enter the database.
        sa.Column("public_key", sa.String(200), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "keel_tool_revocations",
        # "*", "org:<id>" (generation = revoke-alls so far), "jti:<id>", "kid:<kid>".
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("generation", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("revoked_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float),
    )
    op.create_table(
        "keel_tool_quotas",
        sa.Column("org_id", sa.String(200), primary_key=True),
        sa.Column("window_start", sa.Float, nullable=False),
        sa.Column("minted", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("keel_tool_quotas")
    op.drop_table("keel_tool_revocations")
    op.drop_table("keel_tool_keys")
