"""Indexes for the call book reports, exports and retention.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Written by hand.

A report reads, for every inbound call of a period, its structure,
direction, route, in_hours and answered_at, then the motive and family of its motives. The indexes
below hold exactly those columns, so the database answers from the indexes
alone (SQLite keeps the rowid, which is calls.id, in every index; PostgreSQL
gets `id` as an included column) and never reads the wide call rows (their
JSON state and last TwiML answer).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REPORTED = ["direction", "route", "in_hours", "answered_at"]


def upgrade() -> None:
    # Reports and exports of a period, all structures.
    op.create_index(
        "ix_calls_period",
        "calls",
        ["started_at", "structure", *REPORTED],
        postgresql_include=["id"],
    )
    # Reports and exports of one structure over a period.
    op.create_index(
        "ix_calls_structure_period",
        "calls",
        ["structure", "started_at", *REPORTED],
        postgresql_include=["id"],
    )
    # A call's motives, from the index alone.
    op.create_index("ix_call_motives_call_motive", "call_motives", ["call_id", "motive", "family"])


def downgrade() -> None:
    op.drop_index("ix_call_motives_call_motive", table_name="call_motives")
    op.drop_index("ix_calls_structure_period", table_name="calls")
    op.drop_index("ix_calls_period", table_name="calls")
