"""Rules that relate several parts of the document, and coverage warnings.

Errors make a document invalid; warnings (holes in the next 30 days) are
shown on import and in the admin but do not block it: people most often
discover an uncovered on-call night only when a call fails.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from callbook.i18n import N_
from ivr.config.document import ConfigDocument
from ivr.config.messages import Problem, problem
from schedules import Calendar
from schedules.instants import Interval, wall_to_us

WARNING_HORIZON_DAYS = 30


def _dupes(values: list[str]) -> list[str]:
    return sorted(v for v, n in Counter(values).items() if n > 1)


def check_references(
    sections: dict[str, Any], calendar_names: set[str] | None = None
) -> list[Problem]:
    """Cross-field errors over whichever sections validated on their own.

    A check that needs a section that failed its own validation is skipped:
    that section's errors are already listed. Calendar references are checked
    against the names written in the file even when a calendar is invalid.
    """
    out: list[Problem] = []
    calendars = sections.get("calendars")
    if calendars is None:
        calendars = calendar_names
    referents = sections.get("referents")
    structures = sections.get("structures")
    technicians = sections.get("technicians")
    service = sections.get("service")

    def need_calendar(path: str, key: str | None) -> None:
        if calendars is not None and key is not None and key not in calendars:
            known = ", ".join(sorted(calendars)) or "aucun"
            out.append(
                problem(path, N_("calendrier inconnu « %(key)s » (connus : %(known)s)"),
                        key=key, known=known)
            )  # fmt: skip

    if (hotline := sections.get("hotline")) is not None:
        need_calendar("hotline.calendar", hotline.calendar)
    if referents is not None:
        for dup in _dupes([r.id for r in referents]):
            out.append(
                problem(
                    "referents",
                    N_("l'identifiant de référent « %(id)s » est pris deux fois"),
                    id=dup,
                )
            )
        for i, referent in enumerate(referents):
            need_calendar(f"referents.{i}.calendar", referent.calendar)
    if structures is not None:
        for dup in _dupes([s.id for s in structures]):
            out.append(
                problem(
                    "structures",
                    N_("l'identifiant de structure « %(id)s » est pris deux fois"),
                    id=dup,
                )
            )
        owners: dict[str, str] = {}
        for i, structure in enumerate(structures):
            need_calendar(f"structures.{i}.calendar", structure.calendar)
            for code in structure.departments:
                if code in owners:
                    out.append(
                        problem(
                            f"structures.{i}.departments",
                            N_(
                                "le département %(code)s est revendiqué par « %(first)s » et "
                                "par « %(second)s »"
                            ),
                            code=code,
                            first=owners[code],
                            second=structure.id,
                        )
                    )
                owners.setdefault(code, structure.id)
            if referents is not None:
                known = {r.id for r in referents}
                for j, ref in enumerate(structure.referents):
                    if ref not in known:
                        out.append(
                            problem(
                                f"structures.{i}.referents.{j}",
                                N_("référent inconnu « %(id)s »"),
                                id=ref,
                            )
                        )
    if technicians is not None:
        for dup in _dupes([t.id for t in technicians]):
            out.append(
                problem(
                    "technicians",
                    N_("l'identifiant de technicien « %(id)s » est pris deux fois"),
                    id=dup,
                )
            )
    if (oncall := sections.get("oncall")) is not None and technicians is not None:
        known = {t.id for t in technicians}
        schedule = oncall.schedule
        for j, member in enumerate(schedule.rota.members):
            if member not in known:
                out.append(
                    problem(
                        f"oncall.schedule.rota.members.{j}",
                        N_("technicien inconnu « %(id)s »"),
                        id=member,
                    )
                )
        for j, override in enumerate(schedule.overrides):
            if override.technician not in known:
                out.append(
                    problem(
                        f"oncall.schedule.overrides.{j}.technician",
                        N_("technicien inconnu « %(id)s »"),
                        id=override.technician,
                    )
                )
    if (contacts := sections.get("contacts")) is not None:
        for dup in _dupes([c.number for c in contacts]):
            out.append(
                problem(
                    "contacts", N_("le numéro de contact %(number)s figure deux fois"), number=dup
                )
            )
        if structures is not None:
            known = {s.id for s in structures}
            for i, contact in enumerate(contacts):
                if contact.structure is not None and contact.structure not in known:
                    out.append(
                        problem(
                            f"contacts.{i}.structure",
                            N_("structure inconnue « %(id)s »"),
                            id=contact.structure,
                        )
                    )
    if (motives := sections.get("motives")) is not None:
        for dup in _dupes([m.digit for m in motives]):
            out.append(
                problem("motives", N_("la touche %(digit)s sert à plusieurs motifs"), digit=dup)
            )
        for dup in _dupes([m.key for m in motives]):
            out.append(
                problem(
                    "motives", N_("l'identifiant de motif « %(key)s » est pris deux fois"), key=dup
                )
            )
        words = [w for m in motives for w in set(m.keywords)]
        for dup in _dupes(words):
            out.append(
                problem(
                    "motives", N_("le mot-clé « %(word)s » appartient à plusieurs motifs"), word=dup
                )
            )
        phrases = [p for m in motives for p in {p.casefold() for p in m.phrases}]
        for dup in _dupes(phrases):
            out.append(
                problem(
                    "motives",
                    N_("la phrase « %(phrase)s » appartient à plusieurs motifs"),
                    phrase=dup,
                )
            )
        if sections.get("oncall", "missing") is None and any(m.oncall for m in motives):
            out.append(
                problem(
                    "oncall",
                    N_("un motif peut joindre l'astreinte, mais aucune astreinte n'est configurée"),
                )
            )
    if service is not None:
        out.extend(_routing_loops(sections, set(service.numbers)))
    return out


def _routing_loops(sections: dict[str, Any], own: set[str]) -> list[Problem]:
    """A transfer to our own number would ring this service again, forever."""
    out: list[Problem] = []
    groups: list[tuple[str, Any]] = [
        ("referents", sections.get("referents")),
        ("technicians", sections.get("technicians")),
    ]
    if (hotline := sections.get("hotline")) is not None:
        groups.append(("hotline", [hotline]))
    for name, items in groups:
        for i, item in enumerate(items or []):
            for j, number in enumerate(item.numbers):
                if number in own:
                    path = f"{name}.numbers.{j}" if name == "hotline" else f"{name}.{i}.numbers.{j}"
                    out.append(
                        problem(
                            path,
                            N_(
                                "%(number)s est un numéro du service lui-même (l'appel "
                                "tournerait en boucle)"
                            ),
                            number=number,
                        )
                    )
    return out


# -- coverage warnings ---------------------------------------------------------


def _intervals(calendar: Calendar, first: date, days: int) -> list[Interval]:
    return [
        interval
        for offset in range(-1, days + 1)
        for interval in calendar.day_intervals(first + timedelta(days=offset))
    ]


def _overlaps(a: list[Interval], b: list[Interval]) -> bool:
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i][0] < b[j][1] and b[j][0] < a[i][1]:
            return True
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return False


def coverage_warnings(doc: ConfigDocument, now: datetime) -> list[Problem]:
    """Holes in the next 30 days that would only show when a call fails."""
    out: list[Problem] = []
    horizon = WARNING_HORIZON_DAYS
    for i, structure in enumerate(doc.structures):
        if structure.support != "phone":
            continue
        calendar = doc.calendar(structure.calendar)
        first = now.astimezone(calendar.zone).date()
        opening = _intervals(calendar, first, horizon)
        if not opening:
            out.append(
                problem(
                    f"structures.{i}",
                    N_("« %(id)s » n'ouvre jamais dans les %(days)s prochains jours"),
                    id=structure.id,
                    days=horizon,
                )
            )
            continue
        reachable: list[Interval] = []
        for key in structure.referents:
            referent = doc.referent(key)
            if referent is None:
                continue
            if referent.calendar is None:
                reachable = opening
                break
            reachable.extend(_intervals(doc.calendar(referent.calendar), first, horizon))
        if not _overlaps(opening, sorted(reachable)):
            out.append(
                problem(
                    f"structures.{i}.referents",
                    N_(
                        "aucun référent de « %(id)s » n'est disponible pendant ses "
                        "heures d'ouverture dans les %(days)s prochains jours"
                    ),
                    id=structure.id,
                    days=horizon,
                )
            )
    if doc.oncall is not None:
        out.extend(_oncall_warnings(doc, now, horizon))
    return out


def _oncall_warnings(doc: ConfigDocument, now: datetime, horizon: int) -> list[Problem]:
    out: list[Problem] = []
    schedule = doc.oncall.schedule  # type: ignore[union-attr]
    zone = schedule.zone
    first = now.astimezone(zone).date()
    reported: set[str] = set()
    for offset in range(horizon):
        day = first + timedelta(days=offset)
        for start_us, _ in schedule.day_intervals(day):
            start = datetime.fromtimestamp(start_us / 1e6, tz=zone)
            escalation, _ = schedule.escalation_at(start)
            active = [t for t in escalation if (tech := doc.technician(t)) and tech.active]
            if not active:
                out.append(
                    problem(
                        "oncall",
                        N_("personne de joignable pour la fenêtre d'astreinte du %(start)s"),
                        start=f"{start:%d/%m/%Y %H:%M}",
                    )
                )
            elif active[0] != escalation[0] and escalation[0] not in reported:
                reported.add(escalation[0])
                out.append(
                    problem(
                        "oncall",
                        N_(
                            "« %(inactive)s » est d'astreinte le %(day)s mais inactif ; "
                            "les appels vont d'abord à « %(first)s »"
                        ),
                        inactive=escalation[0],
                        day=f"{day:%d/%m/%Y}",
                        first=active[0],
                    )
                )
        rota = schedule.rota
        if day.weekday() == rota.handover_weekday.index:
            minute = rota.handover_minute
            wall = datetime.combine(day, datetime.min.time()) + timedelta(minutes=minute)
            exists = (
                datetime.fromtimestamp(wall_to_us(day, minute, zone) / 1e6, tz=zone).replace(
                    tzinfo=None
                )
                == wall
            )
            if not exists:
                out.append(
                    problem(
                        "oncall.schedule.rota.handover_time",
                        N_(
                            "la relève du %(day)s à %(time)s tombe dans l'heure sautée au "
                            "passage à l'heure d'été ; elle aura lieu quand les horloges "
                            "avancent"
                        ),
                        day=f"{day:%d/%m/%Y}",
                        time=rota.handover_time,
                    )
                )
    return out
