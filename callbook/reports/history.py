"""The lines of the "Historique des sollicitations", read from the call book.

One line per call-motive (a call covering two motives is two lines; a call
with no motive is one line with an empty motive), in the order calls began.
Rows are fetched in batches (a server-side cursor on PostgreSQL), so a
quarter of a large hotline is read in bounded memory.

The call book stores codes (a route, a family, a structure id, a motive
key); a `Wording` turns them into what a manager reads: `callbook.labels`
for the service's own codes, and `Names` for the ids the configuration
defines (it lives in `ivr`, which passes them in).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from callbook.calls.models import Call, CallMotive
from callbook.labels import DEFAULT_LOCALE, label
from callbook.reports import in_period
from callbook.tickets import Ticket, TicketMessage

BATCH = 2000
MASK = "•"
YES, NO = "oui", "non"

HEADERS = (
    "Date",
    "Heure",
    "Appel",
    "Ticket",
    "Numéro",
    "Structure",
    "Contact",
    "Motif",
    "Famille",
    "Canal",
    "Issue",
    "Aux heures d'ouverture",
    "Répondu par",
    "Durée (s)",
    "Attente (s)",
)
"""The columns of every export; the date and the time are the call's local ones."""

HistoryRow = tuple[
    datetime, str, str, str, str, str, str, str, str, str, str, str, int | None, int | None
]
"""A line as read: the local start (naive) then the columns after "Heure"."""


@dataclass(frozen=True, slots=True)
class Names:
    """What the configuration calls the ids the call book stores.

    `people` names who answered: referents and technicians by id, and the
    hotline. An id without a name is shown as stored.
    """

    motives: Mapping[str, str] = field(default_factory=dict)
    structures: Mapping[str, str] = field(default_factory=dict)
    people: Mapping[str, str] = field(default_factory=dict)


Translate = Callable[[str], str]


def _cached(words: Callable[[str], str]) -> Translate:
    """`words` once per distinct code: a quarter repeats a few dozen codes 300,000 times."""
    seen: dict[str, str] = {"": ""}

    def translate(code: str) -> str:
        try:
            return seen[code]
        except KeyError:
            seen[code] = found = words(code)
            return found

    return translate


@dataclass(frozen=True, slots=True)
class Wording:
    """How each coded column is written: the words people read, or the codes as stored."""

    structure: Translate
    motive: Translate
    family: Translate
    channel: Translate
    route: Translate
    answered_by: Translate

    @classmethod
    def labels(cls, names: Names | None = None, locale: str = DEFAULT_LOCALE) -> Wording:
        names = names or Names()
        return cls(
            structure=_cached(lambda code: names.structures.get(code, code)),
            motive=_cached(lambda code: names.motives.get(code, code)),
            family=_cached(lambda code: label("family", code, locale)),
            channel=_cached(lambda code: label("channel", code, locale)),
            route=_cached(lambda code: label("route", code, locale)),
            answered_by=_cached(
                lambda code: names.people.get(code) or label("route", code, locale)
            ),
        )

    @classmethod
    def codes(cls) -> Wording:
        def same(code: str) -> str:
            return code

        return cls(same, same, same, same, same, same)


def mask_number(number: str) -> str:
    """The country code and the last two digits, one dot per hidden digit.

    "+33612345678" -> "+33 ••••••• 78", "+262692123456" -> "+262 ••••••• 56".
    What does not parse as an international number keeps its last two
    digits only ("0612345678" -> "•••••••• 78"); a value without digits
    (an anonymous caller) is hidden whole.
    """
    text = number.strip()
    if not text:
        return ""
    digits = "".join(c for c in text if c.isdigit())
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and parsed.country_code:
        prefix = str(parsed.country_code)
        national = digits[len(prefix) :] if digits.startswith(prefix) else digits
        return f"+{prefix} {MASK * max(len(national) - 2, 0)} {national[-2:]}"
    if len(digits) < 3:
        return MASK * 3
    return f"{MASK * (len(digits) - 2)} {digits[-2:]}"


def _tickets(start: datetime) -> Any:
    """The ticket each call's voicemail went to (a new one, or the caller's open one).

    Messages are recorded during their call, so none of an earlier period
    can belong to a call of this one.
    """
    return (
        select(TicketMessage.call_sid, func.min(Ticket.number).label("number"))
        .join(Ticket, Ticket.id == TicketMessage.ticket_id)
        .where(TicketMessage.created_at >= start, TicketMessage.call_sid != "")
        .group_by(TicketMessage.call_sid)
        .subquery("call_tickets")
    )


def history_query(start: datetime, end: datetime, structure: str | None) -> Select[Any]:
    tickets = _tickets(start)
    return (
        select(
            Call.started_at,
            Call.call_sid,
            tickets.c.number,
            Call.from_number,
            Call.structure,
            Call.contact,
            CallMotive.motive,
            CallMotive.family,
            CallMotive.channel,
            Call.route,
            Call.in_hours,
            Call.answered_by,
            Call.duration,
            Call.answered_at,
        )
        .outerjoin(CallMotive, CallMotive.call_id == Call.id)
        .outerjoin(tickets, tickets.c.call_sid == Call.call_sid)
        .where(*in_period(start, end, structure))
        .order_by(Call.started_at, Call.id, CallMotive.position)
    )


def history_rows(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    structure: str | None = None,
    tz: str | ZoneInfo,
    mask_numbers: bool = False,
    wording: Wording | None = None,
    batch: int = BATCH,
) -> Iterator[HistoryRow]:
    """The lines of the history, fetched `batch` rows at a time.

    The first value is the local date and time the call began, without zone
    (as spreadsheets show it); empty text stays empty whatever the wording
    (a call without motive has no motive, family nor channel).
    """
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    words = wording or Wording.codes()
    query = history_query(start, end, structure).execution_options(yield_per=batch)
    for row in session.execute(query):
        wait = None
        if row.answered_at is not None:
            wait = max(round((row.answered_at - row.started_at).total_seconds()), 0)
        yield (
            row.started_at.astimezone(zone).replace(tzinfo=None, microsecond=0),
            row.call_sid,
            row.number or "",
            mask_number(row.from_number) if mask_numbers else row.from_number,
            words.structure(row.structure),
            row.contact,
            words.motive(row.motive or ""),
            words.family(row.family or ""),
            words.channel(row.channel or ""),
            words.route(row.route),
            "" if row.in_hours is None else (YES if row.in_hours else NO),
            words.answered_by(row.answered_by),
            row.duration,
            wait,
        )


def longest_values(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    structure: str | None,
    wording: Wording,
    mask_numbers: bool,
) -> list[int]:
    """The length of the longest value of each column (`HEADERS`) over the period.

    A streamed sheet needs its column widths before its first row: two
    grouped queries (calls, then motives) give every distinct code and the
    longest free texts, without reading the lines twice.
    """
    where = in_period(start, end, structure)
    longest = dict.fromkeys(HEADERS, 0)
    longest.update({"Date": len("31/12/2026"), "Heure": len("23:59:59"), "Ticket": 6})
    longest["Aux heures d'ouverture"] = len(YES)
    calls: Select[Any] = (
        select(
            Call.structure,
            Call.route,
            Call.answered_by,
            func.max(func.length(Call.call_sid)),
            func.max(func.length(Call.from_number)),
            func.max(func.length(Call.contact)),
            func.max(Call.duration),
        )
        .where(*where)
        .group_by(Call.structure, Call.route, Call.answered_by)
    )
    for group in session.execute(calls):
        sizes = {
            "Structure": len(wording.structure(group[0])),
            "Issue": len(wording.route(group[1])),
            "Répondu par": len(wording.answered_by(group[2])),
            "Appel": group[3] or 0,
            "Numéro": (group[4] or 0) + (2 if mask_numbers else 0),  # "+33 ••••••• 78"
            "Contact": group[5] or 0,
            "Durée (s)": len(str(group[6] or "")),
            "Attente (s)": len(str(group[6] or "")),  # a wait is never longer than its call
        }
        for header, size in sizes.items():
            longest[header] = max(longest[header], int(size))
    motives: Select[Any] = (
        select(CallMotive.motive, CallMotive.family, CallMotive.channel)
        .join(Call, Call.id == CallMotive.call_id)
        .where(*where)
        .distinct()
    )
    for motive, family, channel in session.execute(motives):
        longest["Motif"] = max(longest["Motif"], len(wording.motive(motive)))
        longest["Famille"] = max(longest["Famille"], len(wording.family(family)))
        longest["Canal"] = max(longest["Canal"], len(wording.channel(channel)))
    return [longest[header] for header in HEADERS]
