"""Labels people read for the codes the call book stores.

Every code a person sees (ticket status and priority, callback state, call
outcome and route, motive family, event names, revision state) has a label
here; the admin, the API's human messages, the CLI and the exports call
`label(kind, code, locale)`. French is the default locale.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_LOCALE = "fr"

_FR: Mapping[str, Mapping[str, str]] = {
    "ticket_status": {
        "new": "Nouveau",
        "assigned": "Attribué",
        "in_progress": "En cours",
        "waiting": "En attente",
        "resolved": "Résolu",
        "closed": "Clos",
    },
    "priority": {"urgent": "Urgente", "high": "Haute", "normal": "Normale", "low": "Basse"},
    "callback_status": {
        "pending": "À rappeler",
        "claimed": "Pris en charge",
        "dialing": "Appel en cours",
        "done": "Rappelé",
        "failed": "Échec",
        "canceled": "Annulé",
    },
    "route": {
        "referent": "Référents locaux",
        "hotline": "Hotline nationale",
        "oncall": "Astreinte",
        "voicemail": "Messagerie",
        "no_phone": "Sans téléphone",
        "closed": "Fermé",
        "menu": "Menu",
        "abandoned": "Abandonné",
    },
    "outbox_status": {
        "pending": "En attente",
        "sending": "En cours d'envoi",
        "sent": "Envoyé",
        "failed": "Échec",
    },
    "outbox_kind": {"email": "E-mail", "sms": "SMS", "event": "Événement"},
    "outbox_topic": {
        "ticket.created": "Nouveau ticket",
        "ticket.ack": "Accusé de réception",
        "deadline.warning": "Échéance proche",
        "deadline.overdue": "Échéance dépassée",
        "oncall.alert": "Alerte d'astreinte",
        "escalation.confirmation": "Transmission confirmée",
        "escalation.national": "Transmission à l'assistance nationale",
    },
    "ticket_level": {"local": "Local", "national": "National"},
    "role": {
        "admin": "Administrateur",
        "technician": "Technicien",
        "viewer": "Lecteur",
        "referent": "Référent",
    },
    "family": {
        "incident": "Incident technique",
        "usage": "Question d'usage",
        "evolution": "Demande d'évolution",
        "account": "Compte et accès",
        "directory": "Annuaire",
        "emergency": "Urgence",
    },
    "event": {
        "menu.understood": "Motif compris à la voix",
        "menu.check": "Motif à confirmer",
        "menu.checked": "Réponse à la confirmation",
        "call.started": "Appel reçu",
        "menu.choice": "Motif choisi",
        "menu.invalid": "Choix non reconnu",
        "menu.no_input": "Aucun choix",
        "menu.gave_up": "Menu abandonné",
        "structure": "Structure identifiée",
        "structure.unknown": "Département inconnu",
        "route": "Orientation",
        "dial": "Transfert",
        "dial.skipped": "Ligne occupée, passée",
        "dial.result": "Résultat du transfert",
        "whisper": "Annonce au technicien",
        "whisper.accepted": "Appel accepté par le technicien",
        "whisper.declined": "Appel refusé par le technicien",
        "answered": "Appel répondu",
        "voicemail.offered": "Messagerie proposée",
        "voicemail.recorded": "Message enregistré",
        "voicemail.too_short": "Message trop court",
        "ticket": "Ticket ouvert",
        "callback.requested": "Rappel demandé",
        "callback.attempt": "Tentative de rappel",
        "recording": "Enregistrement disponible",
        "transcription": "Transcription",
        "status": "Fin de l'appel",
        "motives.set": "Motifs modifiés",
        "note.set": "Note modifiée",
    },
    "channel": {"keypad": "Clavier", "speech": "Voix", "technician": "Technicien"},
    "call_status": {
        "queued": "En attente",
        "ringing": "Sonnerie",
        "in-progress": "En cours",
        "completed": "Terminé",
        "busy": "Occupé",
        "no-answer": "Pas de réponse",
        "failed": "Échec",
        "canceled": "Annulé",
    },
}


def label(kind: str, code: str | None, locale: str = DEFAULT_LOCALE) -> str:
    """The label of `code` among `kind`'s codes; an unknown code is shown as is."""
    if code is None or code == "":
        return "—"
    return _FR.get(kind, {}).get(code, code)
