"""Labels people read for the codes the call book stores.

Every code a person sees (ticket status and priority, callback state, call
outcome and route, motive family, event names, revision state, roles, audit
entries, export formats and periods) has a label here; the admin, the API's
human messages, the CLI and the exports call `label(kind, code, locale)`.

The labels are written in French, the source language of the catalogs
(`callbook.i18n`); another locale reads them through its gettext catalog, so
the English words live in `callbook/translations/en/LC_MESSAGES/messages.po`
with every other string of the interface. `N_` only marks them for extraction.
"""

from __future__ import annotations

from collections.abc import Mapping

from callbook.i18n import DEFAULT_LOCALE, N_, gettext

_FR: Mapping[str, Mapping[str, str]] = {
    "ticket_status": {
        "new": N_("Nouveau"),
        "assigned": N_("Attribué"),
        "in_progress": N_("En cours"),
        "waiting": N_("En attente"),
        "resolved": N_("Résolu"),
        "closed": N_("Clos"),
    },
    "priority": {
        "urgent": N_("Urgente"),
        "high": N_("Haute"),
        "normal": N_("Normale"),
        "low": N_("Basse"),
    },
    "callback_status": {
        "pending": N_("À rappeler"),
        "claimed": N_("Pris en charge"),
        "dialing": N_("Appel en cours"),
        "done": N_("Rappelé"),
        "failed": N_("Échec"),
        "canceled": N_("Annulé"),
        "held": N_("En file (dès qu'un conseiller est libre)"),
    },
    "callback_kind": {"callback": N_("Rappel demandé"), "alert": N_("Alerte urgente")},
    "callback_view": {
        "active": N_("À traiter"),
        "pending": N_("À rappeler"),
        "failed": N_("Échec"),
        "done": N_("Rappelé"),
        "canceled": N_("Annulé"),
        "all": N_("Tous"),
    },
    "call_status": {
        "queued": N_("En file"),
        "initiated": N_("Lancé"),
        "ringing": N_("Sonne"),
        "in-progress": N_("En cours"),
        "completed": N_("Terminé"),
        "busy": N_("Occupé"),
        "failed": N_("Échec"),
        "no-answer": N_("Sans réponse"),
        "canceled": N_("Annulé"),
        "answered": N_("Décroché"),
    },
    "direction": {"inbound": N_("Entrant"), "outbound": N_("Sortant")},
    "route": {
        "referent": N_("Référents locaux"),
        "hotline": N_("Hotline nationale"),
        "oncall": N_("Astreinte"),
        "voicemail": N_("Messagerie"),
        "no_phone": N_("Sans téléphone"),
        "closed": N_("Fermé"),
        "menu": N_("Menu"),
        "abandoned": N_("Abandonné"),
    },
    "outcome": {
        "answered": N_("Répondu"),
        "unanswered": N_("Non répondu"),
        "referent": N_("Référent"),
        "hotline": N_("Assistance nationale"),
        "oncall": N_("Astreinte"),
        "voicemail": N_("Messagerie"),
        "no_phone": N_("Structure sans téléphone"),
        "closed": N_("Fermé"),
        "abandoned": N_("Raccroché avant orientation"),
    },
    "family": {
        "incident": N_("Incident technique"),
        "usage": N_("Question d'usage"),
        "evolution": N_("Demande d'évolution"),
        "account": N_("Compte et accès"),
        "directory": N_("Annuaire"),
        "emergency": N_("Urgence"),
    },
    "event": {
        "queue.entered": N_("Mis en file d'attente"),
        "queue.hold": N_("Rappel en gardant sa place"),
        "queue.hold_refused": N_("Rappel impossible en file"),
        "queue.left": N_("Sortie de la file"),
        "call.missed": N_("Appel manqué"),
        "menu.understood": N_("Motif compris à la voix"),
        "menu.check": N_("Motif à confirmer"),
        "menu.checked": N_("Réponse à la confirmation"),
        "structure": N_("Structure identifiée"),
        "route": N_("Orientation"),
        "dial": N_("Transfert"),
        "whisper": N_("Annonce au technicien"),
        "answered": N_("Appel répondu"),
        "ticket": N_("Ticket ouvert"),
        "call.started": N_("Appel reçu"),
        "menu.choice": N_("Choix au menu"),
        "menu.invalid": N_("Touche non valable"),
        "menu.no_input": N_("Aucune réponse au menu"),
        "menu.gave_up": N_("Menu abandonné"),
        "structure.unknown": N_("Structure inconnue"),
        "dial.result": N_("Résultat de l'appel transféré"),
        "dial.skipped": N_("Numéro sauté"),
        "whisper.accepted": N_("Appel accepté par le technicien"),
        "whisper.declined": N_("Appel refusé par le technicien"),
        "voicemail.offered": N_("Messagerie proposée"),
        "voicemail.recorded": N_("Message enregistré"),
        "voicemail.too_short": N_("Message trop court"),
        "callback.requested": N_("Rappel demandé"),
        "callback.accepted": N_("Rappel accepté"),
        "callback.attempt": N_("Tentative de rappel"),
        "callback.dialing": N_("Rappel en cours"),
        "callback.done": N_("Rappel effectué"),
        "callback.failed": N_("Rappel en échec"),
        "callback.retry": N_("Rappel à refaire"),
        "callback.rescheduled": N_("Rappel reprogrammé"),
        "callback.canceled": N_("Rappel annulé"),
        "motives.set": N_("Motifs renseignés"),
        "note.set": N_("Note renseignée"),
        "status": N_("Statut de l'appel"),
        "recording": N_("Enregistrement"),
        "transcription": N_("Transcription"),
    },
    "ticket_action": {
        "escalated": N_("Escalade au niveau national"),
        "created": N_("Ouverture"),
        "callback.scheduled": N_("Rappel programmé"),
        "alert.scheduled": N_("Alerte programmée"),
        "merged": N_("Nouveau message ajouté"),
        "status": N_("Changement de statut"),
        "assigned": N_("Attribution"),
        "merged_into": N_("Fusionné dans un autre ticket"),
        "merged_from": N_("A reçu un ticket fusionné"),
        "recording": N_("Enregistrement reçu"),
        "transcription": N_("Transcription reçue"),
        "callback.dialing": N_("Rappel en cours"),
        "callback.done": N_("Rappel effectué"),
        "callback.failed": N_("Rappel en échec"),
        "callback.retry": N_("Rappel à refaire"),
        "callback.rescheduled": N_("Rappel reprogrammé"),
        "callback.canceled": N_("Rappel annulé"),
    },
    "actor": {
        "system": N_("Système"),
        "dispatcher": N_("Répartiteur des rappels"),
        "twilio": N_("Twilio"),
        "api": N_("API (jeton partagé)"),
    },
    "channel": {"keypad": N_("Clavier"), "speech": N_("Voix"), "technician": N_("Technicien")},
    "revision_state": {
        "draft": N_("Brouillon"),
        "active": N_("Active"),
        "inactive": N_("Inactive"),
        "superseded": N_("Remplacée"),
    },
    "role": {
        "admin": N_("Administrateur"),
        "technician": N_("Technicien"),
        "viewer": N_("Lecteur"),
        "referent": N_("Référent"),
    },
    "ticket_level": {"local": N_("Local"), "national": N_("National")},
    "audit_entity": {
        "outbox": N_("Envoi"),
        "config": N_("Configuration"),
        "draft": N_("Brouillon"),
        "user": N_("Utilisateur"),
        "ticket": N_("Ticket"),
        "callback": N_("Rappel"),
        "call": N_("Appel"),
        "caller": N_("Appelant"),
        "token": N_("Jeton d'API"),
        "revision": N_("Révision"),
    },
    "audit_action": {
        "resend": N_("Renvoi"),
        "escalate": N_("Escalade"),
        "publish": N_("Publication"),
        "rollback": N_("Retour arrière"),
        "edit": N_("Modification"),
        "discard": N_("Abandon"),
        "create": N_("Création"),
        "update": N_("Modification"),
        "disable": N_("Désactivation"),
        "set-password": N_("Nouveau mot de passe"),
        "status": N_("Changement de statut"),
        "assign": N_("Attribution"),
        "merge": N_("Fusion"),
        "cancel": N_("Annulation"),
        "motives": N_("Motifs"),
        "note": N_("Note"),
        "erase": N_("Effacement"),
        "access": N_("Droit d'accès"),
        "revoke": N_("Révocation"),
        "closure.on": N_("Fermeture exceptionnelle"),
        "closure.off": N_("Fin de la fermeture exceptionnelle"),
    },
    "export_format": {"csv": N_("CSV (tableur, texte)"), "xlsx": N_("Excel (.xlsx)")},
    "period": {
        "day": N_("Jour"),
        "week": N_("Semaine"),
        "month": N_("Mois"),
        "quarter": N_("Trimestre"),
        "custom": N_("Période choisie"),
    },
    "outbox_status": {
        "pending": N_("À envoyer"),
        "sending": N_("Envoi en cours"),
        "sent": N_("Envoyé"),
        "failed": N_("Échec"),
    },
    "outbox_kind": {"email": N_("E-mail"), "sms": N_("SMS"), "event": N_("Événement")},
    "outbox_topic": {
        "ticket.created": N_("Nouveau ticket"),
        "ticket.ack": N_("Accusé de réception"),
        "deadline.warning": N_("Échéance proche"),
        "deadline.overdue": N_("Échéance dépassée"),
        "oncall.alert": N_("Alerte d'astreinte"),
        "escalation.confirmation": N_("Transmission confirmée"),
        "escalation.national": N_("Transmission à l'assistance nationale"),
        "ticket.updated": N_("Ticket modifié"),
        "ticket.escalated": N_("Ticket escaladé"),
        "call.completed": N_("Appel terminé"),
        "callback.completed": N_("Rappel effectué"),
        "call.missed": N_("Appel manqué"),
    },
    "support": {
        "phone": N_("Téléphone"),
        "no_phone": N_("Sans téléphone"),
        "hotline_only": N_("Hotline seulement"),
    },
    "strategy": {"sequential": N_("L'un après l'autre"), "simultaneous": N_("Tous ensemble")},
    "change": {"added": N_("Ajouté"), "removed": N_("Supprimé"), "changed": N_("Modifié")},
    "boolean": {"true": N_("Oui"), "false": N_("Non")},
    "member_state": {"free": N_("libre"), "ringing": N_("sonne"), "talking": N_("en ligne")},
    "queue_outcome": {
        "waiting": N_("En attente"),
        "bridged": N_("Mis en relation"),
        "abandoned": N_("Raccroché en attente"),
        "closing": N_("Sorti à la fermeture"),
        "max_wait": N_("Sorti après l'attente maximale"),
        "hold": N_("Rappel proposé en file"),
    },
}


def label(kind: str, code: str | None, locale: str = DEFAULT_LOCALE) -> str:
    """The label of `code` among `kind`'s codes; an unknown code is shown as is."""
    if code is None or code == "":
        return "—"
    french = _FR.get(kind, {}).get(code)
    if french is None:
        return code
    return gettext(french, locale)


def choices(kind: str, locale: str = DEFAULT_LOCALE) -> list[tuple[str, str]]:
    """(code, label) of every code of `kind`, in their order here (for selects)."""
    return [(code, label(kind, code, locale)) for code in _FR.get(kind, {})]


def kinds() -> dict[str, tuple[str, ...]]:
    """Every kind and its codes (for tests and documentation)."""
    return {kind: tuple(codes) for kind, codes in _FR.items()}
