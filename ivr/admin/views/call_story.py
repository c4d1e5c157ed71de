"""A call's history told in French sentences, one per event, at local times.

"09:31:02 — L'appelant a choisi « Incident technique » (touche 1)". Each event
kind has its own function (`TELLERS`); an event this module does not know (a
newer version wrote it) gets a generic sentence with its label
(`callbook.labels`). Names come from the configuration: motives, structures,
referents, technicians, the hotline; an id no longer in it is shown as is.
Event data is stored JSON: every value is read defensively.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from callbook.labels import label
from ivr.admin.views.french import moment_label
from ivr.config import ConfigDocument


class StoredEvent(Protocol):
    seq: int
    at: datetime
    kind: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoryLine:
    seq: int
    at: datetime
    time: str
    """The local wall-clock time, "09:31:02"."""
    text: str


@dataclass(slots=True)
class Context:
    """What a sentence needs besides its event: names, the zone, the legs of the route."""

    doc: ConfigDocument | None
    zone: ZoneInfo
    legs: list[str] = field(default_factory=list)


Data = Mapping[str, Any]
Teller = Callable[[Data, Context], str]


def tell(
    events: Iterable[StoredEvent], doc: ConfigDocument | None, zone: ZoneInfo
) -> list[StoryLine]:
    """The story of a call: one French sentence per event, in their order."""
    context = Context(doc, zone)
    lines = []
    for event in sorted(events, key=lambda e: e.seq):
        data = event.data if isinstance(event.data, Mapping) else {}
        teller = TELLERS.get(event.kind, _unknown(event.kind))
        lines.append(
            StoryLine(
                event.seq,
                event.at,
                event.at.astimezone(zone).strftime("%H:%M:%S"),
                teller(data, context),
            )
        )
    return lines


# -- reading stored values --------------------------------------------------------


def _text(data: Data, key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


def _int(data: Data, key: str) -> int | None:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _seconds(data: Data, key: str = "duration") -> str:
    seconds = _int(data, key)
    return "" if seconds is None else f"{seconds} s"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _moment(value: str, context: Context) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment_label(moment, context.zone) if moment.tzinfo else value


def _who(target: str, context: Context) -> str:
    """The name of who is rung: the hotline, a referent or a technician."""
    doc = context.doc
    if target == "hotline":
        return doc.hotline.name if doc is not None else "la hotline nationale"
    if doc is not None:
        if (referent := doc.referent(target)) is not None:
            return referent.name
        if (technician := doc.technician(target)) is not None:
            return technician.name
    return target or "?"


def _leg(data: Data, context: Context) -> str:
    index = _int(data, "leg")
    if index is None or not 0 <= index < len(context.legs):
        return "le technicien"
    return _who(context.legs[index], context)


# -- one function per event kind --------------------------------------------------


def _started(data: Data, context: Context) -> str:
    caller = _text(data, "caller") or "numéro masqué"
    contact = _text(data, "contact")
    who = f"{contact} ({caller})" if contact else caller
    structure = _text(data, "structure")
    if not structure:
        return f"Appel reçu : {who}"
    item = context.doc.structure(structure) if context.doc is not None else None
    return (
        f"Appel reçu : {who}, {'contact de ' if contact else ''}{item.name if item else structure}"
    )


def _menu_choice(data: Data, context: Context) -> str:
    key = _text(data, "motive")
    motive = context.doc.motive(key) if context.doc is not None else None
    name = _capital(motive.label) if motive else label("family", _text(data, "family"))
    channel = _text(data, "channel")
    if channel == "keypad" and motive is not None:
        how = f" (touche {motive.digit})"
    elif channel == "speech":
        how = " (à la voix)"
    else:
        how = ""
    return f"L'appelant a choisi « {name} »{how}"


def _menu_invalid(data: Data, context: Context) -> str:
    heard = _text(data, "speech") or _text(data, "digits")
    return f"Choix non reconnu (« {heard} », essai n° {_int(data, 'attempt') or 1})"


def _menu_no_input(data: Data, context: Context) -> str:
    return f"L'appelant n'a rien choisi (essai n° {_int(data, 'attempt') or 1})"


def _menu_gave_up(data: Data, context: Context) -> str:
    return f"Aucun motif reconnu après {_int(data, 'attempts') or '?'} essais"


def _structure(data: Data, context: Context) -> str:
    key = _text(data, "structure")
    item = context.doc.structure(key) if context.doc is not None else None
    how = " (département tapé au clavier)" if _text(data, "source") == "keypad" else ""
    return f"Structure identifiée : {item.name if item else key}{how}"


def _structure_unknown(data: Data, context: Context) -> str:
    digits = _text(data, "digits")
    return f"Département « {digits} » inconnu (essai n° {_int(data, 'attempt') or 1})"


def _route(data: Data, context: Context) -> str:
    legs = data.get("legs")
    context.legs = [str(t) for t in legs] if isinstance(legs, list) else []
    route = _text(data, "route")
    text = f"Orientation : {_lower(label('route', route))}"
    if data.get("urgent") is True:
        text += ", urgent"
    if _text(data, "reason") == "manual closure":
        text += " (fermeture exceptionnelle)"
    if context.legs:
        names = list(dict.fromkeys(_who(t, context) for t in context.legs))
        text += f" ; à appeler : {', '.join(names)}"
    if at := _text(data, "callback_at"):
        text += f" ; rappel possible {_moment(at, context)}"
    return text


def _dial(data: Data, context: Context) -> str:
    numbers = data.get("numbers")
    count = len(numbers) if isinstance(numbers, list) else 0
    rung = f" ({count} numéros)" if count > 1 else ""
    return f"Transfert vers {_who(_text(data, 'target'), context)}{rung}"


def _dial_skipped(data: Data, context: Context) -> str:
    return f"{_who(_text(data, 'target'), context)} déjà en ligne : transfert passé"


def _dial_result(data: Data, context: Context) -> str:
    status = _text(data, "status")
    if status == "completed":
        outcome = f"a répondu ({_seconds(data)})" if _int(data, "duration") else "a répondu"
    else:
        outcome = _lower(label("call_status", status))
    return f"Transfert vers {_who(_text(data, 'target'), context)} : {outcome}"


def _whisper(data: Data, context: Context) -> str:
    return f"Annonce de l'appel à {_leg(data, context)}"


def _whisper_accepted(data: Data, context: Context) -> str:
    return f"{_capital(_leg(data, context))} a accepté l'appel (touche 1)"


def _whisper_declined(data: Data, context: Context) -> str:
    return f"{_capital(_leg(data, context))} a refusé l'appel"


def _answered(data: Data, context: Context) -> str:
    talk = f" ; conversation de {_seconds(data)}" if _int(data, "duration") else ""
    return f"Répondu par {_who(_text(data, 'target'), context)}{talk}"


def _voicemail_offered(data: Data, context: Context) -> str:
    return "Messagerie proposée" + (" (message urgent)" if data.get("urgent") is True else "")


def _voicemail_recorded(data: Data, context: Context) -> str:
    return f"Message vocal enregistré ({_seconds(data) or '? s'})"


def _voicemail_too_short(data: Data, context: Context) -> str:
    return f"Message trop court ({_seconds(data) or '? s'}) : aucun ticket ouvert"


def _ticket(data: Data, context: Context) -> str:
    return f"Ticket n° {_text(data, 'number')} ouvert"


def _callback_requested(data: Data, context: Context) -> str:
    return f"Rappel demandé, prévu {_moment(_text(data, 'due_at'), context)}"


def _callback_attempt(data: Data, context: Context) -> str:
    status = _lower(label("call_status", _text(data, "status")))
    return f"Rappel n° {_text(data, 'callback')} : {status}"


def _recording(data: Data, context: Context) -> str:
    if _text(data, "status") not in ("", "completed"):
        return f"Enregistrement : {_lower(label('call_status', _text(data, 'status')))}"
    return f"Enregistrement disponible ({_seconds(data) or '? s'})"


def _transcription(data: Data, context: Context) -> str:
    text = _text(data, "text").strip()
    if _text(data, "status") != "completed" or not text:
        return "Transcription du message impossible"
    return f"Transcription du message : « {text} »"


def _status(data: Data, context: Context) -> str:
    status = _text(data, "status")
    text = f"Fin de l'appel : {_lower(label('call_status', status))}"
    return text + (f", {_seconds(data)} en tout" if _int(data, "duration") else "")


def _motives_set(data: Data, context: Context) -> str:
    after = data.get("after")
    keys = (
        [str(m.get("motive", "")) for m in after if isinstance(m, Mapping)]
        if isinstance(after, list)
        else []
    )
    names = []
    for key in keys:
        motive = context.doc.motive(key) if context.doc is not None else None
        names.append(motive.label if motive else key)
    chosen = ", ".join(f"« {_capital(n)} »" for n in names) or "aucun"
    return f"{_text(data, 'author') or '?'} a modifié les motifs de l'appel : {chosen}"


def _note_set(data: Data, context: Context) -> str:
    return f"{_text(data, 'author') or '?'} a modifié la note"


def _unknown(kind: str) -> Teller:
    def generic(data: Data, context: Context) -> str:
        return f"Événement « {label('event', kind)} »"

    return generic


TELLERS: dict[str, Teller] = {
    "call.started": _started,
    "menu.choice": _menu_choice,
    "menu.invalid": _menu_invalid,
    "menu.no_input": _menu_no_input,
    "menu.gave_up": _menu_gave_up,
    "structure": _structure,
    "structure.unknown": _structure_unknown,
    "route": _route,
    "dial": _dial,
    "dial.skipped": _dial_skipped,
    "dial.result": _dial_result,
    "whisper": _whisper,
    "whisper.accepted": _whisper_accepted,
    "whisper.declined": _whisper_declined,
    "answered": _answered,
    "voicemail.offered": _voicemail_offered,
    "voicemail.recorded": _voicemail_recorded,
    "voicemail.too_short": _voicemail_too_short,
    "ticket": _ticket,
    "callback.requested": _callback_requested,
    "callback.attempt": _callback_attempt,
    "recording": _recording,
    "transcription": _transcription,
    "status": _status,
    "motives.set": _motives_set,
    "note.set": _note_set,
}
