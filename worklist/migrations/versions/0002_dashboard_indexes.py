"""Indexes the dashboards need to stay fast over a year of studies.

- ``ix_study_reported_cover``: every period dashboard filters reported studies by
  ``reported_at``; on PostgreSQL the index carries the grouped and measured columns (INCLUDE) so
  a month or a year is read by an index-only scan instead of visiting millions of heap pages.
  SQLite has no INCLUDE: there it is a plain index on ``reported_at``, and the model's
  ``ix_study_reported_at`` stays as it is on both.
- ``ix_study_queue``: the live backlog, the breach gauge and ``waiting`` counts read only the
  studies still in the queue; a partial index keeps that to the few thousand waiting rows.
- ``ix_study_acquired_at``: arrivals per hour today on the operations page.
- ``ix_assignment_reporter_ended``: a reporter's tally for a day.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COVER = [
    "status",
    "site",
    "modality",
    "urgency",
    "acquired_at",
    "due_at",
    "reported_by",
    "sourcing",
    "work_units",
    "radiographer_reportable",
]
QUEUE = sa.text("status IN ('unreported', 'claimed', 'outsourced')")


def upgrade() -> None:
    with op.batch_alter_table("study", schema=None) as batch_op:
        batch_op.create_index(
            "ix_study_reported_cover", ["reported_at"], unique=False, postgresql_include=COVER
        )
        batch_op.create_index(
            "ix_study_queue",
            ["site", "modality", "urgency", "due_at"],
            unique=False,
            postgresql_where=QUEUE,
            sqlite_where=QUEUE,
        )
        batch_op.create_index("ix_study_acquired_at", ["acquired_at"], unique=False)
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assignment_reporter_ended", ["reporter_id", "ended_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_index("ix_assignment_reporter_ended")
    with op.batch_alter_table("study", schema=None) as batch_op:
        batch_op.drop_index("ix_study_acquired_at")
        batch_op.drop_index("ix_study_queue")
        batch_op.drop_index("ix_study_reported_cover")
