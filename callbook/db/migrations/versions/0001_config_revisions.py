"""Configuration revisions and the pointer to the active one.

Revision ID: 0001
Revises:
Create Date: 2026-06-01

Written by hand. `config_state` is created with its single row, pointing at
no revision: the first import (or the demo configuration) activates one.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "config_revisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_revisions")),
        sqlite_autoincrement=True,
    )
    state = op.create_table(
        "config_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("active_revision_id", sa.Integer(), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("activated_by", sa.String(length=200), server_default="", nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_config_state_single_row")),
        sa.ForeignKeyConstraint(
            ["active_revision_id"],
            ["config_revisions.id"],
            name=op.f("fk_config_state_active_revision_id_config_revisions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_state")),
    )
    op.bulk_insert(state, [{"id": 1, "active_revision_id": None, "activated_by": ""}])


def downgrade() -> None:
    op.drop_table("config_state")
    op.drop_table("config_revisions")
