"""Tickets from voicemails, their messages and history; callbacks to place.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Written by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=6), nullable=False),
        sa.Column("caller_number", sa.String(length=64), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("structure", sa.String(length=64), nullable=False),
        sa.Column("motive", sa.String(length=64), nullable=False),
        sa.Column("family", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=False),
        sa.Column("call_sid", sa.String(length=34), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("deadline_warned", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("deadline_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("number", name=op.f("uq_tickets_number")),
    )
    op.create_index("ix_tickets_caller_open", "tickets", ["caller_number", "status"])
    op.create_index("ix_tickets_deadline", "tickets", ["status", "deadline_at"])
    # Reports: the tickets opened in a period, answered from the index alone.
    op.create_index(
        "ix_tickets_period", "tickets", ["created_at", "structure", "status", "deadline_at"]
    )
    op.create_table(
        "ticket_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("recording_sid", sa.String(length=34), nullable=False),
        sa.Column("recording_url", sa.String(length=500), nullable=False),
        sa.Column("duration", sa.Integer(), nullable=False),
        sa.Column("transcription", sa.Text(), nullable=False),
        sa.Column("call_sid", sa.String(length=34), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_messages_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_messages")),
        sa.UniqueConstraint("recording_sid", name=op.f("uq_ticket_messages_recording_sid")),
    )
    op.create_table(
        "ticket_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_history_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_history")),
    )
    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("call_sid", sa.String(length=34), nullable=False),
        sa.Column("caller_number", sa.String(length=64), nullable=False),
        sa.Column("answering", sa.String(length=64), nullable=False),
        sa.Column("agent_numbers", sa.JSON(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("due_at", TZ, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=False),
        sa.Column("claimed_at", TZ, nullable=True),
        sa.Column("outbound_sid", sa.String(length=34), nullable=False),
        sa.Column("caller_notified", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_callbacks_ticket_id_tickets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
    )
    op.create_index("ix_callbacks_due", "callbacks", ["status", "due_at", "rank"])
    # Reports: the callbacks asked in a period, answered from the index alone.
    op.create_index(
        "ix_callbacks_period", "callbacks", ["created_at", "kind", "status", "due_at", "ticket_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_callbacks_period", table_name="callbacks")
    op.drop_index("ix_callbacks_due", table_name="callbacks")
    op.drop_table("callbacks")
    op.drop_table("ticket_history")
    op.drop_table("ticket_messages")
    op.drop_index("ix_tickets_period", table_name="tickets")
    op.drop_index("ix_tickets_deadline", table_name="tickets")
    op.drop_index("ix_tickets_caller_open", table_name="tickets")
    op.drop_table("tickets")
