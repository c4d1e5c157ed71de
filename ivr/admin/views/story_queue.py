"""The waiting line's events in a call's story (`call_story`)."""

from __future__ import annotations

from ivr.admin.views.story_values import Context, Data, Teller, int_of, moment_of, text_of, who


def _queue_entered(data: Data, context: Context) -> str:
    team = text_of(data, "team")
    name = who(team, context) if team else "l'équipe"
    return f"Mis en file d'attente pour {name}"


def _queue_hold(data: Data, context: Context) -> str:
    due = text_of(data, "due_at")
    when = f", prévu {moment_of(due, context)}" if due else " dès qu'un conseiller sera libre"
    return f"L'appelant a choisi d'être rappelé en gardant sa place{when}"


def _queue_hold_refused(data: Data, context: Context) -> str:
    return "Rappel impossible (numéro masqué) : l'appelant reste en file"


QUEUE_OUTCOMES = {
    "bridged": "mis en relation avec un conseiller",
    "abandoned": "a raccroché",
    "closing": "fermeture : orienté vers la messagerie",
    "max_wait": "attente maximale atteinte : orienté vers la messagerie",
    "hold": "rappel demandé",
}


def _queue_left(data: Data, context: Context) -> str:
    outcome = QUEUE_OUTCOMES.get(text_of(data, "outcome"), text_of(data, "outcome") or "?")
    waited = int_of(data, "waited")
    after = f" après {waited} s d'attente" if waited is not None else ""
    return f"Sortie de la file{after} : {outcome}"


def _call_missed(data: Data, context: Context) -> str:
    recovery = data.get("recovery")
    kinds = {"sms": "SMS envoyé", "callback": "rappel programmé"}
    done = [kinds.get(str(r), str(r)) for r in recovery] if isinstance(recovery, list) else []
    return "Appel manqué" + (f" ({', '.join(done)})" if done else " (aucune relance)")


QUEUE_TELLERS: dict[str, Teller] = {
    "queue.entered": _queue_entered,
    "queue.hold": _queue_hold,
    "queue.hold_refused": _queue_hold_refused,
    "queue.left": _queue_left,
    "call.missed": _call_missed,
}
