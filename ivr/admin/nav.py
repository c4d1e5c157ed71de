"""The navigation bar: (endpoint, label) in display order.

A link shows only when its endpoint exists and the current user's role may
open it, so a page can be listed here before its module lands.
"""

from __future__ import annotations

from flask import current_app, url_for
from flask_babel import LazyString, lazy_gettext

from ivr.admin.auth import may_reach

NAV: tuple[tuple[str, LazyString], ...] = (
    ("admin.today", lazy_gettext("Aujourd'hui")),
    ("admin.wallboard", lazy_gettext("Tableau mural")),
    ("admin.agenda", lazy_gettext("Horaires")),
    ("admin.whatif", lazy_gettext("Que se passe-t-il si…")),
    ("admin.directory", lazy_gettext("Annuaire")),
    ("admin.calendars", lazy_gettext("Calendriers")),
    ("admin.oncall", lazy_gettext("Astreinte")),
    ("admin.my_oncall", lazy_gettext("Mes astreintes")),
    ("admin.technicians", lazy_gettext("Techniciens")),
    ("admin.contacts", lazy_gettext("Contacts")),
    ("admin.settings", lazy_gettext("Service et réglages")),
    ("admin.motives", lazy_gettext("Motifs et messages")),
    ("admin.publish", lazy_gettext("Publication")),
    ("admin.history", lazy_gettext("Historique")),
    ("admin.tickets", lazy_gettext("Tickets")),
    ("admin.callbacks", lazy_gettext("Rappels")),
    ("admin.calls", lazy_gettext("Main courante")),
    ("admin.reports", lazy_gettext("Rapports")),
    ("admin.outbox", lazy_gettext("Envois")),
    ("admin.audit", lazy_gettext("Journal d'audit")),
    ("admin.privacy", lazy_gettext("Données personnelles")),
    ("admin.users", lazy_gettext("Utilisateurs")),
)


def nav_links() -> list[tuple[str, LazyString, str]]:
    """(endpoint, label, url) of the links the current user may follow."""
    known = current_app.view_functions
    return [
        (endpoint, label, url_for(endpoint))
        for endpoint, label in NAV
        if endpoint in known and may_reach(endpoint)
    ]
