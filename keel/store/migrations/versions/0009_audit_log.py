"""The governance audit log: entries, signed checkpoints, public keys, the chain's head; append-only by trigger.

Revision ID: 0009_audit_log
Revises: 0008_guard_vault
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_audit_log"
down_revision = "0008_guard_vault"
branch_labels = None
depends_on = None

# The tables whose rows, once written, the database itself refuses to change or remove.
APPEND_ONLY = ("keel_audit_entries", "keel_audit_checkpoints", "keel_audit_keys")
GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "keel_audit_entries",
        # The rowid on SQLite (INTEGER PRIMARY KEY): no separate primary-key index to write.
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("timestamp", sa.String(32), nullable=False),
        sa.Column("trace_id", sa.String(32)),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("actor_kind", sa.String(20), nullable=False),
        sa.Column("actor_id", sa.String(200), nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("resource", sa.String(500)),
        sa.Column("decision", sa.String(50)),
        sa.Column("policy_version", sa.String(100)),
        sa.Column("risk_score", sa.Integer),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
    )
    op.create_index("uq_keel_audit_entries_event_id", "keel_audit_entries", ["event_id"], unique=True)
    op.create_table(
        "keel_audit_checkpoints",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("timestamp", sa.String(32), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
    )
    op.create_table(
        "keel_audit_keys",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("algorithm", sa.String(20), nullable=False),
        sa.Column("public_key", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    head = op.create_table(
        "keel_audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("frontier", sa.Text, nullable=False),
        sa.Column("checkpoint_size", sa.BigInteger, nullable=False),
        sa.Column("checkpoint_at", sa.Float),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    # The row every append locks: created here, so appends never race to create it.
    op.bulk_insert(
        head,
        [dict(id=1, seq=0, hash=GENESIS, frontier="", checkpoint_size=0, checkpoint_at=None, updated_at=0.0)],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION keel_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP "
            "USING ERRCODE = 'integrity_constraint_violation'; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION keel_audit_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION keel_audit_append_only()"
            )
    else:
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
                )


def downgrade() -> None:
    # Dropping the tables drops their triggers; the log goes with them, as any downgrade's data does.
    for table in ("keel_audit_head", *reversed(APPEND_ONLY)):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS keel_audit_append_only()")
