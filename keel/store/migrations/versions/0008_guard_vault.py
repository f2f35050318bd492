"""The guard's PII vault: per-subject wrapped data keys and each run's sealed placeholder values.

Revision ID: 0008_guard_vault
Revises: 0007_tool_credentials
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_guard_vault"
down_revision = "0007_tool_credentials"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "keel_guard_keys",
        sa.Column("subject", sa.String(200), primary_key=True),
        # Wrapped under the master key, which never enters the database.
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "keel_guard_vault",
        sa.Column("run_id", sa.String(36), primary_key=True),
        sa.Column("placeholder", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("pii_type", sa.String(40), nullable=False),
        sa.Column("ordinal", sa.Integer, nullable=False),
        # Both NULL once the subject is forgotten; the row stays so its number is never reused.
        sa.Column("value_mac", sa.LargeBinary),
        sa.Column("ciphertext", sa.LargeBinary),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    # Unique: two writers storing one value in one run end with one placeholder (NULLs are distinct).
    op.create_index("uq_keel_guard_vault_mac", "keel_guard_vault", ["run_id", "value_mac"], unique=True)
    op.create_index("ix_keel_guard_vault_subject", "keel_guard_vault", ["subject"])


def downgrade() -> None:
    op.drop_index("ix_keel_guard_vault_subject", table_name="keel_guard_vault")
    op.drop_index("uq_keel_guard_vault_mac", table_name="keel_guard_vault")
    op.drop_table("keel_guard_vault")
    op.drop_table("keel_guard_keys")
