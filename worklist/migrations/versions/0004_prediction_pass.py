"""prediction passes: when the sweeper last predicted breaches and applied the policy

Prediction rows are now rewritten only when they change materially (issue 3: the per-minute
rewrite of every waiting study held SQLite's write lock that claims wait on), so the time of
the last pass lives in its own row per network.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import worklist.models.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "predictionpass",
        sa.Column("network", sa.String(length=32), nullable=False),
        sa.Column("computed_at", worklist.models.types.UTCDateTime(), nullable=False),
        sa.Column("studies", sa.Integer(), nullable=False),
        sa.Column("breaching", sa.Integer(), nullable=False),
        sa.Column("rows_written", sa.Integer(), nullable=False),
        sa.Column("rows_removed", sa.Integer(), nullable=False),
        sa.Column("recommended", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["network"], ["network.code"]),
        sa.PrimaryKeyConstraint("network"),
    )


def downgrade() -> None:
    op.drop_table("predictionpass")
