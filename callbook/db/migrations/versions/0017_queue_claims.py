"""Queue entries: when a member was claimed for a caller, and when that member's leg ended.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

Written by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("queue_entries", sa.Column("claimed_at", TZ, nullable=True))
    op.add_column("queue_entries", sa.Column("agent_ended_at", TZ, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("queue_entries") as batch:
        batch.drop_column("agent_ended_at")
        batch.drop_column("claimed_at")
