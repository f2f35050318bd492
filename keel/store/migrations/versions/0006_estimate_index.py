"""Cost estimates: ix_keel_runs_workflow also orders a version's runs by creation time.

`keel estimate` and `confirm_above_usd` read the most recent runs of one workflow version. On
(workflow_name, workflow_version) alone that read sorts every run of the version (about 150 ms
at 100,000 runs); with created_at appended it walks the index backwards and stops (about 5 ms).
The index is widened rather than a second one added: created_at never changes, so a run still
writes one entry in it, once, at creation, and every query the narrower index served it serves.

Revision ID: 0006_estimate_index
Revises: 0005_semantic_cache
Create Date: 2026-11-27
"""

from alembic import op

revision = "0006_estimate_index"
down_revision = "0005_semantic_cache"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_keel_runs_workflow", table_name="keel_runs")
    op.create_index("ix_keel_runs_workflow", "keel_runs", ["workflow_name", "workflow_version", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_keel_runs_workflow", table_name="keel_runs")
    op.create_index("ix_keel_runs_workflow", "keel_runs", ["workflow_name", "workflow_version"])
