"""Spoken French: TwiML <Say> in the configured voice, times, reasons."""

from __future__ import annotations

from datetime import datetime

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.config import ConfigDocument
from schedules import ClosedKind, ClosedReason

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip


def say(target: VoiceResponse | Gather, doc: ConfigDocument, text: str) -> None:
    """Append a <Say> in the service's language and voice."""
    options: dict[str, str] = {"language": doc.service.language}
    if doc.service.voice:
        options["voice"] = doc.service.voice
    target.say(text, **options)


def spoken_time(moment: datetime) -> str:
    """09:00 -> '9 h', 14:30 -> '14 h 30', 12:00 -> 'midi', 00:00 -> 'minuit'
    (how times are said in French)."""
    if moment.minute == 0:
        return {0: "minuit", 12: "midi"}.get(moment.hour, f"{moment.hour} h")
    return f"{moment.hour} h {moment.minute:02d}"


def spoken_when(moment: datetime, now: datetime) -> str:
    """'aujourd'hui à 14 h', 'demain à 9 h', 'lundi 28 décembre à 9 h'.

    Both instants are read in the zone of `moment` (the answering side's), so
    "demain" means tomorrow where the service is.
    """
    local_now = now.astimezone(moment.tzinfo)
    days = (moment.date() - local_now.date()).days
    at = spoken_time(moment)
    if days == 0:
        return f"aujourd'hui à {at}"
    if days == 1:
        return f"demain à {at}"
    day = "1er" if moment.day == 1 else str(moment.day)
    return f"{WEEKDAYS[moment.weekday()]} {day} {MONTHS[moment.month - 1]} à {at}"


def spoken_day(moment: datetime, now: datetime) -> str:
    """'aujourd'hui', 'demain', 'dimanche' within the week, else 'lundi 28 décembre'.

    Read in the zone of `moment`, like `spoken_when`.
    """
    days = (moment.date() - now.astimezone(moment.tzinfo).date()).days
    if days == 0:
        return "aujourd'hui"
    if days == 1:
        return "demain"
    weekday = WEEKDAYS[moment.weekday()]
    if 1 < days < 7:
        return weekday
    day = "1er" if moment.day == 1 else str(moment.day)
    return f"{weekday} {day} {MONTHS[moment.month - 1]}"


def spoken_window(start: datetime, end: datetime, now: datetime) -> str:
    """An on-call window: 'demain de 9 h à 10 h', 'mardi de 6 h à 22 h'."""
    return f"{spoken_day(start, now)} de {spoken_time(start)} à {spoken_time(end)}"


def closed_phrase(reason: ClosedReason) -> str:
    """A reason as words after 'Le service est actuellement fermé : …'."""
    if reason.kind is ClosedKind.holiday:
        return f"jour férié, {reason.label}"
    if reason.kind is ClosedKind.closure:
        return f"fermeture exceptionnelle, {reason.label}"
    if reason.kind is ClosedKind.lunch:
        return "c'est la pause de midi"
    if reason.kind is ClosedKind.manual:
        return "fermeture exceptionnelle"
    return "nous sommes en dehors des horaires d'ouverture"


def spoken_digits(number: str) -> str:
    """'+33473258339' -> '04 73 25 83 39' said in pairs (French numbers)."""
    digits = number.removeprefix("+33")
    if digits != number:
        digits = "0" + digits
    digits = "".join(c for c in digits if c.isdigit())
    return " ".join(digits[i : i + 2] for i in range(0, len(digits), 2))
