"""The time zones a form offers: France's first (mainland and overseas), then every zone.

A zone is picked from a list, never typed: `zone_groups` gives the choices,
`zone_problem` the French message for a name that is not one of them (a
forged or outdated form).
"""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

FRENCH_ZONES: tuple[tuple[str, str], ...] = (
    ("Europe/Paris", "France métropolitaine"),
    ("America/Guadeloupe", "Guadeloupe"),
    ("America/Martinique", "Martinique"),
    ("America/Cayenne", "Guyane"),
    ("Indian/Reunion", "La Réunion"),
    ("Indian/Mayotte", "Mayotte"),
    ("Pacific/Noumea", "Nouvelle-Calédonie"),
    ("Pacific/Tahiti", "Polynésie française (Tahiti)"),
    ("Pacific/Marquesas", "Polynésie française (Marquises)"),
    ("Pacific/Gambier", "Polynésie française (Gambier)"),
    ("America/Miquelon", "Saint-Pierre-et-Miquelon"),
    ("America/St_Barthelemy", "Saint-Barthélemy"),
    ("America/Marigot", "Saint-Martin"),
    ("Pacific/Wallis", "Wallis-et-Futuna"),
    ("Indian/Kerguelen", "Terres australes et antarctiques françaises"),
)
"""France's zones, the mainland first: the hotline's structures live in these."""

Choices = list[tuple[str, str]]


@cache
def known_zones() -> frozenset[str]:
    """The IANA names this machine's zone database knows (read once)."""
    return frozenset(available_timezones())


def zone_groups(current: str = "") -> list[tuple[str, Choices]]:
    """[(group label, [(zone, label)])]: France's zones, then all zones sorted.

    A current value that is not a known zone (an older document) is offered
    first, marked unknown, so the page shows what is stored until it is changed.
    """
    known = known_zones()
    french = [(zone, f"{name} — {zone}") for zone, name in FRENCH_ZONES if zone in known]
    groups: list[tuple[str, Choices]] = [
        ("France", french),
        ("Tous les fuseaux horaires", [(zone, zone) for zone in sorted(known)]),
    ]
    if current and current not in known:
        groups.insert(0, ("Valeur actuelle", [(current, f"{current} (inconnu)")]))
    return groups


def zone_problem(name: str) -> str | None:
    """None for a known zone, else why it is refused, in French."""
    if name in known_zones():
        return None
    if not name.strip():
        return "Choisissez un fuseau horaire dans la liste."
    return f"Fuseau horaire inconnu : « {name} ». Choisissez-le dans la liste."
