"""The navigation bar: (endpoint, label) in display order.

A link shows only when its endpoint exists and the current user's role may
open it, so a page can be listed here before its module lands.
"""

from __future__ import annotations

from flask import current_app, url_for

from ivr.admin.auth import may_reach

NAV: tuple[tuple[str, str], ...] = (
    ("admin.today", "Aujourd'hui"),
    ("admin.wallboard", "Tableau mural"),
    ("admin.agenda", "Horaires"),
    ("admin.whatif", "Que se passe-t-il si…"),
    ("admin.directory", "Annuaire"),
    ("admin.calendars", "Calendriers"),
    ("admin.oncall", "Astreinte"),
    ("admin.my_oncall", "Mes astreintes"),
    ("admin.technicians", "Techniciens"),
    ("admin.contacts", "Contacts"),
    ("admin.settings", "Service et réglages"),
    ("admin.motives", "Motifs et messages"),
    ("admin.publish", "Publication"),
    ("admin.history", "Historique"),
    ("admin.tickets", "Tickets"),
    ("admin.callbacks", "Rappels"),
    ("admin.calls", "Main courante"),
    ("admin.reports", "Rapports"),
    ("admin.audit", "Journal d'audit"),
    ("admin.privacy", "Données personnelles"),
    ("admin.users", "Utilisateurs"),
)


def nav_links() -> list[tuple[str, str, str]]:
    """(endpoint, label, url) of the links the current user may follow."""
    known = current_app.view_functions
    return [
        (endpoint, label, url_for(endpoint))
        for endpoint, label in NAV
        if endpoint in known and may_reach(endpoint)
    ]
