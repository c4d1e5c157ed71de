"""Recordings to delete at Twilio, queued by the retention purge and by erasures.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

Written by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "recording_deletions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_sid", sa.String(length=34), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("requested_at", TZ, nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("deleted_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_deletions")),
        sa.UniqueConstraint("recording_sid", name=op.f("uq_recording_deletions_recording_sid")),
    )
    op.create_index(
        "ix_recording_deletions_due", "recording_deletions", ["deleted_at", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_recording_deletions_due", table_name="recording_deletions")
    op.drop_table("recording_deletions")
