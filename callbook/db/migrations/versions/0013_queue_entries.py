"""Callers waiting in a team's queue: one row per wait, and how it ended.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

Written by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "queue_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_sid", sa.String(length=34), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("caller_number", sa.String(length=64), nullable=False),
        sa.Column("enqueued_at", TZ, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("ended_at", TZ, nullable=True),
        sa.Column("wait_seconds", sa.Integer(), nullable=True),
        sa.Column("agent_number", sa.String(length=64), nullable=False),
        sa.Column("agent_call_sid", sa.String(length=34), nullable=False),
        sa.Column("callback_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["callback_id"],
            ["callbacks.id"],
            name=op.f("fk_queue_entries_callback_id_callbacks"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_entries")),
        sa.UniqueConstraint("call_sid", name=op.f("uq_queue_entries_call_sid")),
    )
    op.create_index(
        "ix_queue_entries_team_outcome", "queue_entries", ["team", "outcome", "enqueued_at"]
    )
    op.create_index("ix_queue_entries_period", "queue_entries", ["enqueued_at", "team"])


def downgrade() -> None:
    op.drop_index("ix_queue_entries_period", table_name="queue_entries")
    op.drop_index("ix_queue_entries_team_outcome", table_name="queue_entries")
    op.drop_table("queue_entries")
