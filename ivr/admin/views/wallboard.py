"""What the wall screen shows, in the reader's language: its first paint and its JSON.

The page (`/admin/wallboard`) and its refresh (`/admin/wallboard.json`,
fetched every few seconds by `static/wallboard.js`) show the same values,
formatted and translated here once: the script only copies text into the
page, and the few words it writes itself come from the page's `data-`
attributes. A member's state is a `member_state` label.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext

from ivr.admin.views import status
from ivr.board import Board
from ivr.config import ConfigDocument
from ivr.i18n import label

REFRESH_SECONDS = 4


def duration(seconds: int | float | None) -> str:
    """'42 s', '3 min 05 s', '1 h 02 min'; '—' for none."""
    if seconds is None:
        return "—"
    total = max(round(seconds), 0)
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f} %"


def _on_call(doc: ConfigDocument, now: datetime, zone: ZoneInfo) -> tuple[str, str]:
    """(who is on call now, the line under it)."""
    duty = status.duty(doc, now)
    if not duty.configured:
        return "—", gettext("pas d'astreinte configurée")
    if duty.window is None:
        if duty.next_window is None:
            return gettext("personne"), gettext("aucune astreinte à venir")
        start = duty.next_window[0].astimezone(zone)
        line = gettext(
            "prochaine : %(who)s à partir de %(start)s",
            who=duty.next_primary or "—",
            start=f"{start:%d/%m %H:%M}",
        )
        return gettext("personne"), line
    end = duty.window[1].astimezone(zone)
    backups = ", ".join(duty.escalation[1:])
    line = gettext("jusqu'au %(day)s à %(time)s", day=f"{end:%d/%m}", time=f"{end:%H:%M}")
    if backups:
        line = gettext("%(line)s ; ensuite : %(backups)s", line=line, backups=backups)
    return duty.primary or "—", line


def board_view(board: Board, doc: ConfigDocument, now: datetime) -> dict[str, Any]:
    """Every text of the wall screen: `fields` by element id, lists for the tables."""
    zone = ZoneInfo(board.timezone)
    hotline = status.opening_states(doc, now)[0]
    on_call, on_call_line = _on_call(doc, now, zone)
    today = board.today
    fields = {
        "wb-waiting": str(board.waiting),
        "wb-longest": duration(board.longest_wait) if board.waiting else "—",
        "wb-busy": str(board.busy),
        "wb-free": str(len(board.members) - board.busy),
        "wb-answered": str(today.answered),
        "wb-abandoned": str(today.abandoned),
        "wb-abandon-rate": percent(today.abandon_rate),
        "wb-service-level": percent(today.service_level),
        "wb-threshold": gettext("répondus en %(seconds)s s ou moins", seconds=board.threshold),
        "wb-open": gettext("Ouvert") if hotline.is_open else gettext("Fermé"),
        "wb-oncall": on_call,
        "wb-oncall-line": on_call_line,
        "wb-updated": gettext("Mis à jour à %(time)s", time=f"{now.astimezone(zone):%H:%M:%S}"),
    }
    return {
        "fields": fields,
        "alert": board.waiting > 0 and board.busy == len(board.members),
        "closed": not hotline.is_open,
        "teams": [
            {"name": t.name, "waiting": str(t.waiting), "longest": duration(t.longest_wait)}
            for t in board.teams
            if t.waiting or t.team == "hotline"
        ],
        "members": [
            {"number": m.number, "state": m.state, "label": label("member_state", m.state)}
            for m in board.members
        ],
        "refresh_seconds": REFRESH_SECONDS,
        "figures": board.to_dict(),
    }
