"""When the leg a call dials last stops ringing: a number is busy only while that leg may live.

Calls dialled before this migration have none; the busy rule reads their
start instead.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

Written by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("ringing_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("ringing_until")
