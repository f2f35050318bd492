"""Retention: the audit log's purge horizon, the hashes of purged entries, and the record of exports.

Revision ID: 0014_retention
Revises: 0013_reviews
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_retention"
down_revision = "0013_reviews"
branch_labels = None
depends_on = None

# Refused by trigger once written, like the log itself (0009).
APPEND_ONLY = ("keel_audit_pruned", "keel_audit_exports")


def upgrade() -> None:
    op.create_table(
        "keel_audit_pruned",
        # What verification still needs of a purged entry: its hash (the next entry's prev_hash) and
        # its signature (the Merkle leaf is hash ‖ signature). No data.
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
    )
    op.create_table(
        "keel_audit_exports",
        sa.Column("first_seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("last_seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("sink", sa.String(500), primary_key=True),
        sa.Column("exported_at", sa.Float, nullable=False),
    )
    horizon = op.create_table(
        "keel_audit_horizon",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.bulk_insert(horizon, [dict(id=1, seq=0, updated_at=0.0)])
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgres()
    else:
        _upgrade_sqlite()


def _upgrade_postgres() -> None:
    # Entries: UPDATE and TRUNCATE stay refused; DELETE only at or below the horizon. One trigger
    # of the same name as before, so that dropping it still removes the whole guard (as tests do).
    op.execute("DROP TRIGGER keel_audit_entries_append_only ON keel_audit_entries")
    op.execute(
        "CREATE FUNCTION keel_audit_entries_guard() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN IF TG_OP = 'DELETE' AND OLD.seq <= (SELECT seq FROM keel_audit_horizon WHERE id = 1) THEN "
        "RETURN OLD; END IF; "
        "RAISE EXCEPTION 'keel_audit_entries is append-only: % refused (entry % is above the retention horizon)', "
        "TG_OP, OLD.seq USING ERRCODE = 'integrity_constraint_violation'; END $$"
    )
    op.execute(
        "CREATE TRIGGER keel_audit_entries_append_only BEFORE UPDATE OR DELETE ON keel_audit_entries "
        "FOR EACH ROW EXECUTE FUNCTION keel_audit_entries_guard()"
    )
    op.execute(
        "CREATE FUNCTION keel_audit_horizon_forward() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN IF TG_OP <> 'UPDATE' OR NEW.seq < OLD.seq OR NEW.id <> OLD.id THEN "
        "RAISE EXCEPTION 'keel_audit_horizon only moves forward: % refused', TG_OP "
        "USING ERRCODE = 'integrity_constraint_violation'; END IF; RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER keel_audit_horizon_forward BEFORE UPDATE OR DELETE ON keel_audit_horizon "
        "FOR EACH ROW EXECUTE FUNCTION keel_audit_horizon_forward()"
    )
    op.execute(
        "CREATE TRIGGER keel_audit_horizon_no_truncate BEFORE TRUNCATE ON keel_audit_horizon "
        "FOR EACH STATEMENT EXECUTE FUNCTION keel_audit_append_only()"
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


def _upgrade_sqlite() -> None:
    op.execute("DROP TRIGGER keel_audit_entries_no_delete")
    op.execute(
        "CREATE TRIGGER keel_audit_entries_no_delete BEFORE DELETE ON keel_audit_entries "
        "WHEN OLD.seq > (SELECT seq FROM keel_audit_horizon WHERE id = 1) "
        "BEGIN SELECT RAISE(ABORT, 'keel_audit_entries is append-only: DELETE above the retention horizon refused'); "
        "END"
    )
    op.execute(
        "CREATE TRIGGER keel_audit_horizon_forward BEFORE UPDATE ON keel_audit_horizon "
        "WHEN NEW.seq < OLD.seq OR NEW.id <> OLD.id "
        "BEGIN SELECT RAISE(ABORT, 'keel_audit_horizon only moves forward: UPDATE refused'); END"
    )
    op.execute(
        "CREATE TRIGGER keel_audit_horizon_no_delete BEFORE DELETE ON keel_audit_horizon "
        "BEGIN SELECT RAISE(ABORT, 'keel_audit_horizon only moves forward: DELETE refused'); END"
    )
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER keel_audit_entries_append_only ON keel_audit_entries")
        op.execute(
            "CREATE TRIGGER keel_audit_entries_append_only BEFORE UPDATE OR DELETE ON keel_audit_entries "
            "FOR EACH ROW EXECUTE FUNCTION keel_audit_append_only()"
        )
    else:
        op.execute("DROP TRIGGER keel_audit_entries_no_delete")
        op.execute(
            "CREATE TRIGGER keel_audit_entries_no_delete BEFORE DELETE ON keel_audit_entries "
            "BEGIN SELECT RAISE(ABORT, 'keel_audit_entries is append-only: DELETE refused'); END"
        )
    # Dropping the tables drops their triggers. Entries already purged stay purged.
    for table in ("keel_audit_horizon", *reversed(APPEND_ONLY)):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS keel_audit_entries_guard()")
        op.execute("DROP FUNCTION IF EXISTS keel_audit_horizon_forward()")
