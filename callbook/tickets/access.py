"""Which tickets and callbacks an account may see and handle.

A referent works on its own structure only: every list, page, action,
API route and export that reads tickets or callbacks narrows its query
with `scope_tickets` / `scope_callbacks` for the account's `scope_of`, so a
ticket of another structure is not found (404), not merely hidden from a
template. The other roles reach every ticket their role admits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from callbook.accounts.users import User
from callbook.tickets import Callback, Ticket

ALL = None
NOWHERE = "\x00"
"""A structure key no ticket has: a referent without a structure sees nothing."""


def scope_of(user: User | None) -> str | None:
    """The only structure whose tickets `user` sees, or None (`ALL`) for every ticket."""
    if user is not None and user.role == "referent":
        return user.structure or NOWHERE
    return ALL


def may_be_assigned(user: User, structure: str | None) -> bool:
    """Whether tickets within `structure`'s reach may be given to `user`: an active
    technician or admin, or for a referent's structure, one of its referents."""
    if not user.active:
        return False
    if structure is ALL:
        return user.role in ("technician", "admin")
    return user.role == "referent" and user.structure == structure


def scope_tickets(query: Select[Any], structure: str | None) -> Select[Any]:
    """`query` over tickets, narrowed to `structure` (unchanged for `ALL`)."""
    if structure is ALL:
        return query
    return query.where(Ticket.structure == structure)


def scope_callbacks(query: Select[Any], structure: str | None) -> Select[Any]:
    """`query` over callbacks: those of the structure's tickets, or, without a
    ticket, those the structure's referents answer."""
    if structure is ALL:
        return query
    of_structure = select(Ticket.id).where(Ticket.structure == structure)
    return query.where(
        or_(
            Callback.ticket_id.in_(of_structure),
            and_(Callback.ticket_id.is_(None), Callback.answering == structure),
        )
    )


def find_ticket_in(session: Session, number: str, structure: str | None) -> Ticket | None:
    """The ticket `number` if it is within `structure`'s reach, else None."""
    query = scope_tickets(select(Ticket).where(Ticket.number == number.strip()), structure)
    return session.scalars(query).one_or_none()


def find_callback_in(session: Session, callback_id: int, structure: str | None) -> Callback | None:
    """The callback `callback_id` if it is within `structure`'s reach, else None."""
    query = scope_callbacks(select(Callback).where(Callback.id == callback_id), structure)
    return session.scalars(query).one_or_none()
