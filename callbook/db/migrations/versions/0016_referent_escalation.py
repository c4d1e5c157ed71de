"""Referents and escalation: the referent role and its structure, a ticket's level,
and the pieces of the voicemails' real-time transcriptions.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

Written by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)
ROLES_BEFORE = "role IN ('admin', 'technician', 'viewer')"
ROLES_AFTER = "role IN ('admin', 'technician', 'viewer', 'referent')"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("structure", sa.String(length=64), nullable=True))
        batch.drop_constraint(op.f("ck_users_role"), type_="check")
        batch.create_check_constraint("role", ROLES_AFTER)
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(
            sa.Column("level", sa.String(length=10), nullable=False, server_default="local")
        )
        batch.add_column(
            sa.Column("escalated_by", sa.String(length=64), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("escalated_at", TZ, nullable=True))
        batch.add_column(
            sa.Column("escalation_note", sa.String(length=2000), nullable=False, server_default="")
        )
    op.create_index("ix_tickets_level", "tickets", ["level", "status"])
    op.create_index("ix_ticket_messages_call_sid", "ticket_messages", ["call_sid"])
    op.create_table(
        "transcript_pieces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_sid", sa.String(length=34), nullable=False),
        sa.Column("transcription_sid", sa.String(length=34), nullable=False),
        sa.Column("sequence_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcript_pieces")),
        sa.UniqueConstraint(
            "transcription_sid", "sequence_id", name=op.f("uq_transcript_pieces_piece")
        ),
    )
    op.create_index("ix_transcript_pieces_call_sid", "transcript_pieces", ["call_sid"])


def downgrade() -> None:
    op.drop_index("ix_transcript_pieces_call_sid", table_name="transcript_pieces")
    op.drop_table("transcript_pieces")
    op.drop_index("ix_ticket_messages_call_sid", table_name="ticket_messages")
    op.drop_index("ix_tickets_level", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        for column in ("escalation_note", "escalated_at", "escalated_by", "level"):
            batch.drop_column(column)
    op.execute("DELETE FROM users WHERE role = 'referent'")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_role"), type_="check")
        batch.create_check_constraint("role", ROLES_BEFORE)
        batch.drop_column("structure")
