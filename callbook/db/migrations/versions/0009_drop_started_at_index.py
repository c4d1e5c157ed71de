"""Drop ix_calls_started_at: ix_calls_period leads with started_at and serves its queries.

Every new call wrote one more index page for it; reports, exports, the
purge and the call book's lists read calls by period through
ix_calls_period (migration 0003), whose first column is started_at.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29

Written by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_calls_started_at", table_name="calls")


def downgrade() -> None:
    op.create_index("ix_calls_started_at", "calls", ["started_at"])
