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
        "held": "En file (dès qu'un conseiller est libre)",
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
    "family": {
        "incident": "Incident technique",
        "usage": "Question d'usage",
        "evolution": "Demande d'évolution",
        "account": "Compte et accès",
        "directory": "Annuaire",
        "emergency": "Urgence",
    },
}


def label(kind: str, code: str | None, locale: str = DEFAULT_LOCALE) -> str:
    """The label of `code` among `kind`'s codes; an unknown code is shown as is."""
    if code is None or code == "":
        return "—"
    return _FR.get(kind, {}).get(code, code)
