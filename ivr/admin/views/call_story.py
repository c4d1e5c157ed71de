"""A call's history told in French sentences, one per event, at local times.

"09:31:02 — L'appelant a choisi « Incident technique » (touche 1)". Each event
kind has its own function (`TELLERS`); an event this module does not know (a
newer version wrote it) gets a generic sentence with its label
(`callbook.labels`). Names come from the configuration: motives, structures,
referents, technicians, the hotline; an id no longer in it is shown as is.
Event data is stored JSON: every value is read defensively.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from callbook.labels import label
from ivr.admin.views.story_queue import QUEUE_TELLERS
from ivr.admin.views.story_values import (
    Context,
    Data,
    Teller,
    capital,
    int_of,
    leg_of,
    lower_first,
    moment_of,
    seconds_of,
    text_of,
    who,
)
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


# -- one function per event kind --------------------------------------------------


def _started(data: Data, context: Context) -> str:
    caller = text_of(data, "caller") or "numéro masqué"
    contact = text_of(data, "contact")
    who = f"{contact} ({caller})" if contact else caller
    structure = text_of(data, "structure")
    if not structure:
        return f"Appel reçu : {who}"
    item = context.doc.structure(structure) if context.doc is not None else None
    return (
        f"Appel reçu : {who}, {'contact de ' if contact else ''}{item.name if item else structure}"
    )


def _menu_choice(data: Data, context: Context) -> str:
    key = text_of(data, "motive")
    motive = context.doc.motive(key) if context.doc is not None else None
    name = motive.title if motive else label("family", text_of(data, "family"))
    channel = text_of(data, "channel")
    if channel == "keypad" and motive is not None:
        how = f" (touche {motive.digit})"
    elif channel == "speech":
        how = " (à la voix)"
    else:
        how = ""
    return f"L'appelant a choisi « {name} »{how}"


def _motive_title(data: Data, context: Context) -> str:
    key = text_of(data, "motive")
    motive = context.doc.motive(key) if context.doc is not None else None
    return motive.title if motive is not None else key or "aucun motif"


def _menu_understood(data: Data, context: Context) -> str:
    score = data.get("score")
    sure = f", certitude {round(score)} %" if isinstance(score, int | float) else ""
    return (
        f"Compris à la voix : « {text_of(data, 'speech')} » → {_motive_title(data, context)}{sure}"
    )


def _menu_check(data: Data, context: Context) -> str:
    heard, motive = text_of(data, "speech"), _motive_title(data, context)
    return f"Compris à la voix sans certitude : « {heard} » ; à confirmer : « {motive} »"


def _menu_checked(data: Data, context: Context) -> str:
    answer = {"yes": "a confirmé", "no": "a refusé"}.get(
        text_of(data, "answer"), "n'a pas répondu clairement pour"
    )
    return f"L'appelant {answer} « {_motive_title(data, context)} »"


def _menu_invalid(data: Data, context: Context) -> str:
    heard = text_of(data, "speech") or text_of(data, "digits")
    return f"Choix non reconnu (« {heard} », essai n° {int_of(data, 'attempt') or 1})"


def _menu_no_input(data: Data, context: Context) -> str:
    return f"L'appelant n'a rien choisi (essai n° {int_of(data, 'attempt') or 1})"


def _menu_gave_up(data: Data, context: Context) -> str:
    return f"Aucun motif reconnu après {int_of(data, 'attempts') or '?'} essais"


def _structure(data: Data, context: Context) -> str:
    key = text_of(data, "structure")
    item = context.doc.structure(key) if context.doc is not None else None
    how = " (département tapé au clavier)" if text_of(data, "source") == "keypad" else ""
    return f"Structure identifiée : {item.name if item else key}{how}"


def _structure_unknown(data: Data, context: Context) -> str:
    digits = text_of(data, "digits")
    return f"Département « {digits} » inconnu (essai n° {int_of(data, 'attempt') or 1})"


def _route(data: Data, context: Context) -> str:
    legs = data.get("legs")
    context.legs = [str(t) for t in legs] if isinstance(legs, list) else []
    route = text_of(data, "route")
    text = f"Orientation : {lower_first(label('route', route))}"
    if data.get("urgent") is True:
        text += ", urgent"
    if text_of(data, "reason") == "manual closure":
        text += " (fermeture exceptionnelle)"
    if context.legs:
        names = list(dict.fromkeys(who(t, context) for t in context.legs))
        text += f" ; à appeler : {', '.join(names)}"
    if at := text_of(data, "callback_at"):
        text += f" ; rappel possible {moment_of(at, context)}"
    return text


def _dial(data: Data, context: Context) -> str:
    numbers = data.get("numbers")
    count = len(numbers) if isinstance(numbers, list) else 0
    rung = f" ({count} numéros)" if count > 1 else ""
    return f"Transfert vers {who(text_of(data, 'target'), context)}{rung}"


def _dial_skipped(data: Data, context: Context) -> str:
    return f"{who(text_of(data, 'target'), context)} déjà en ligne : transfert passé"


def _dial_result(data: Data, context: Context) -> str:
    status = text_of(data, "status")
    if status == "completed":
        outcome = f"a répondu ({seconds_of(data)})" if int_of(data, "duration") else "a répondu"
    else:
        outcome = lower_first(label("call_status", status))
    return f"Transfert vers {who(text_of(data, 'target'), context)} : {outcome}"


def _whisper(data: Data, context: Context) -> str:
    return f"Annonce de l'appel à {leg_of(data, context)}"


def _whisper_accepted(data: Data, context: Context) -> str:
    return f"{capital(leg_of(data, context))} a accepté l'appel (touche 1)"


def _whisper_declined(data: Data, context: Context) -> str:
    return f"{capital(leg_of(data, context))} a refusé l'appel"


def _answered(data: Data, context: Context) -> str:
    talk = f" ; conversation de {seconds_of(data)}" if int_of(data, "duration") else ""
    return f"Répondu par {who(text_of(data, 'target'), context)}{talk}"


def _voicemail_offered(data: Data, context: Context) -> str:
    return "Messagerie proposée" + (" (message urgent)" if data.get("urgent") is True else "")


def _voicemail_recorded(data: Data, context: Context) -> str:
    return f"Message vocal enregistré ({seconds_of(data) or '? s'})"


def _voicemail_too_short(data: Data, context: Context) -> str:
    return f"Message trop court ({seconds_of(data) or '? s'}) : aucun ticket ouvert"


def _ticket(data: Data, context: Context) -> str:
    return f"Ticket n° {text_of(data, 'number')} ouvert"


def _callback_requested(data: Data, context: Context) -> str:
    return f"Rappel demandé, prévu {moment_of(text_of(data, 'due_at'), context)}"


def _callback_attempt(data: Data, context: Context) -> str:
    status = lower_first(label("call_status", text_of(data, "status")))
    return f"Rappel n° {text_of(data, 'callback')} : {status}"


def _recording(data: Data, context: Context) -> str:
    if text_of(data, "status") not in ("", "completed"):
        return f"Enregistrement : {lower_first(label('call_status', text_of(data, 'status')))}"
    return f"Enregistrement disponible ({seconds_of(data) or '? s'})"


def _transcription(data: Data, context: Context) -> str:
    text = text_of(data, "text").strip()
    if text_of(data, "status") != "completed" or not text:
        return "Transcription du message impossible"
    return f"Transcription du message : « {text} »"


def _status(data: Data, context: Context) -> str:
    status = text_of(data, "status")
    text = f"Fin de l'appel : {lower_first(label('call_status', status))}"
    return text + (f", {seconds_of(data)} en tout" if int_of(data, "duration") else "")


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
        names.append(motive.title if motive else key)
    chosen = ", ".join(f"« {capital(n)} »" for n in names) or "aucun"
    return f"{text_of(data, 'author') or '?'} a modifié les motifs de l'appel : {chosen}"


def _note_set(data: Data, context: Context) -> str:
    return f"{text_of(data, 'author') or '?'} a modifié la note"


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
    "menu.understood": _menu_understood,
    **QUEUE_TELLERS,
    "menu.check": _menu_check,
    "menu.checked": _menu_checked,
}
