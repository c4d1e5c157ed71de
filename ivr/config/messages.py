"""Validation messages in the reader's language, with the fields named in words.

pydantic says what is wrong in English ("Input should be a valid integer");
people read French (or English, if they chose it). `describe` turns one
pydantic error into (path, message): the message from its `type` and `ctx`,
written in French (the catalogs' source language) and translated by
`callbook.i18n`. `field_label` names a dotted path ("structures.0.referents.1")
in words ("structure n° 1 › référent n° 2"). Machine-readable paths and
codes stay as they are for the JSON API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from callbook.i18n import DEFAULT_LOCALE, N_, gettext

MESSAGES: Mapping[str, str] = {
    "missing": N_("ce champ est obligatoire"),
    "extra_forbidden": N_("ce champ n'est pas attendu ici"),
    "string_type": N_("un texte est attendu"),
    "string_too_short": N_("au moins %(min_length)s caractère(s)"),
    "string_too_long": N_("au plus %(max_length)s caractère(s)"),
    "string_pattern_mismatch": N_("la forme n'est pas reconnue"),
    "int_type": N_("un nombre entier est attendu"),
    "int_parsing": N_("un nombre entier est attendu"),
    "int_from_float": N_("un nombre entier est attendu, sans décimales"),
    "float_type": N_("un nombre est attendu"),
    "float_parsing": N_("un nombre est attendu"),
    "finite_number": N_("un nombre fini est attendu"),
    "bool_type": N_("oui ou non est attendu"),
    "bool_parsing": N_("oui ou non est attendu"),
    "greater_than": N_("la valeur doit être supérieure à %(gt)s"),
    "greater_than_equal": N_("la valeur doit être au moins %(ge)s"),
    "less_than": N_("la valeur doit être inférieure à %(lt)s"),
    "less_than_equal": N_("la valeur doit être au plus %(le)s"),
    "too_short": N_("au moins %(min_length)s élément(s)"),
    "too_long": N_("au plus %(max_length)s élément(s)"),
    "list_type": N_("une liste est attendue"),
    "dict_type": N_("un ensemble de champs est attendu"),
    "model_type": N_("un ensemble de champs est attendu"),
    "model_attributes_type": N_("un ensemble de champs est attendu"),
    "literal_error": N_("valeur inconnue : valeurs possibles %(expected)s"),
    "enum": N_("valeur inconnue : valeurs possibles %(expected)s"),
    "date_type": N_("une date est attendue (AAAA-MM-JJ)"),
    "date_parsing": N_("une date est attendue (AAAA-MM-JJ)"),
    "date_from_datetime_parsing": N_("une date est attendue (AAAA-MM-JJ)"),
    "date_from_datetime_inexact": N_("une date sans heure est attendue"),
    "time_type": N_("une heure est attendue (HH:MM)"),
    "time_parsing": N_("une heure est attendue (HH:MM)"),
    "datetime_type": N_("une date et une heure sont attendues"),
    "datetime_parsing": N_("une date et une heure sont attendues (AAAA-MM-JJTHH:MM)"),
    "datetime_from_date_parsing": N_("une date et une heure sont attendues (AAAA-MM-JJTHH:MM)"),
    "timezone_aware": N_("le décalage horaire manque (par exemple +01:00)"),
    "timezone_naive": N_("sans décalage horaire"),
    "json_invalid": N_("le JSON n'est pas lisible"),
    "url_parsing": N_("une adresse web est attendue"),
    "union_tag_invalid": N_("type inconnu"),
    "none_required": N_("ce champ doit rester vide"),
}
"""French message per pydantic error type; %(name)s come from the error's ctx."""

FIELDS: Mapping[str, str] = {
    "body": N_("requête"),
    "service": N_("service"),
    "hotline": N_("assistance nationale"),
    "menu": N_("menu vocal"),
    "tickets": N_("tickets et rappels"),
    "calendars": N_("calendriers"),
    "calendar": N_("calendrier"),
    "structures": N_("structure"),
    "structure": N_("structure"),
    "referents": N_("référent"),
    "technicians": N_("technicien"),
    "technician": N_("technicien"),
    "contacts": N_("contact"),
    "contact": N_("contact"),
    "motives": N_("motif"),
    "motive": N_("motif"),
    "prompts": N_("messages"),
    "oncall": N_("astreinte"),
    "schedule": N_("planning"),
    "rota": N_("roulement"),
    "members": N_("membre"),
    "overrides": N_("remplacement"),
    "closure": N_("fermeture manuelle"),
    "name": N_("nom"),
    "id": N_("identifiant"),
    "key": N_("identifiant"),
    "label": N_("libellé"),
    "number": N_("numéro"),
    "numbers": N_("numéro"),
    "email": N_("adresse électronique"),
    "timezone": N_("fuseau horaire"),
    "holidays": N_("jours fériés"),
    "weekly": N_("horaires de la semaine"),
    "exceptions": N_("exception"),
    "ranges": N_("plages"),
    "start": N_("début"),
    "end": N_("fin"),
    "until": N_("jusqu'au"),
    "message": N_("message"),
    "departments": N_("départements"),
    "support": N_("mode d'assistance"),
    "redirect_message": N_("message de redirection"),
    "ring": N_("sonnerie"),
    "strategy": N_("mode de sonnerie"),
    "timeout": N_("durée de sonnerie"),
    "ring_timeout": N_("durée de sonnerie"),
    "digit": N_("touche du clavier"),
    "keywords": N_("mots-clés"),
    "family": N_("famille"),
    "priority": N_("priorité"),
    "sms": N_("numéro pour les SMS"),
    "active": N_("actif"),
    "voice": N_("voix"),
    "caller_id": N_("numéro présenté"),
    "speech": N_("reconnaissance de la parole"),
    "attempts": N_("essais"),
    "deadline_hours": N_("délais"),
    "handover_time": N_("heure de relève"),
    "handover_weekday": N_("jour de relève"),
    "period_weeks": N_("période (semaines)"),
    "anchor": N_("date de départ"),
    "working_day_windows": N_("fenêtres des jours ouvrés"),
    "rest_day_windows": N_("fenêtres des jours de repos"),
    "status": N_("statut"),
    "assignee": N_("attribué à"),
    "into": N_("ticket de destination"),
    "due_at": N_("date du rappel"),
    "note": N_("note"),
    "author": N_("auteur"),
    "comment": N_("commentaire"),
    "username": N_("identifiant"),
    "display_name": N_("nom affiché"),
    "password": N_("mot de passe"),
    "role": N_("rôle"),
    "locale": N_("langue"),
    "from": N_("du"),
    "to": N_("au"),
    "format": N_("format"),
    "view": N_("affichage"),
    "page": N_("page"),
    "document": N_("document"),
}
"""French name of each field (a path segment) a person may have to correct."""


def field_label(path: str, locale: str = DEFAULT_LOCALE) -> str:
    """'structures.0.referents.1' -> 'structure n° 1 › référent n° 2' (positions from 1)."""
    if not path:
        return gettext("document", locale)
    words: list[str] = []
    for part in path.split("."):
        if part.isdigit() and words:
            words[-1] = gettext("%(name)s n° %(position)s", locale) % {
                "name": words[-1],
                "position": int(part) + 1,
            }
        elif part in FIELDS:
            words.append(gettext(FIELDS[part], locale))
        else:
            words.append(part)
    return " › ".join(words)


def pydantic_message(error: Mapping[str, Any], locale: str = DEFAULT_LOCALE) -> str:
    """The reader's sentence for one pydantic error (its `type` and `ctx`)."""
    kind = str(error.get("type", ""))
    ctx = dict(error.get("ctx") or {})
    if kind in ("value_error", "assertion_error"):
        # A validator's own words (French): translated when the catalog knows them.
        return gettext(str(ctx.get("error", error.get("msg", ""))), locale)
    template = MESSAGES.get(kind)
    if template is None:
        return gettext("valeur refusée (%(detail)s)", locale) % {"detail": error.get("msg", "")}
    try:
        return gettext(template, locale) % {k: shown(v) for k, v in ctx.items()}
    except (KeyError, ValueError, TypeError):
        return gettext(template, locale)


def shown(value: object) -> str:
    """pydantic's ctx values as a reader sees them ("'a' or 'b'" -> « a » ou « b »)."""
    text = str(value)
    return text.replace("' or '", "', '").replace("'", "")


def describe(
    error: Mapping[str, Any], prefix: str = "", locale: str = DEFAULT_LOCALE
) -> tuple[str, str]:
    """(dotted path, message) of one pydantic error; the path stays machine-readable."""
    loc = [str(p) for p in error.get("loc", ())]
    path = ".".join([prefix, *loc] if prefix else loc)
    return path, pydantic_message(error, locale)


def sentence(path: str, message: str, locale: str = DEFAULT_LOCALE) -> str:
    """'structure n° 1 › calendrier : calendrier inconnu « x »' for a person."""
    return gettext("%(field)s : %(message)s", locale) % {
        "field": field_label(path, locale),
        "message": message,
    }


@dataclass(frozen=True, slots=True)
class Problem:
    """One error or warning, with the dotted path of what it is about.

    `message` is French. When `template` is set, the message is `template %
    params` and another locale reads `in_locale(locale)` from the catalogs.
    """

    path: str
    message: str
    template: str = ""
    params: tuple[tuple[str, object], ...] = ()

    def __str__(self) -> str:
        return f"{self.path or '(document)'}: {self.message}"

    def in_locale(self, locale: str) -> str:
        """The message in `locale` (French when there is no translation)."""
        if not self.template:
            return gettext(self.message, locale)
        return gettext(self.template, locale) % dict(self.params)

    def sentence(self, locale: str = "fr") -> str:
        """'structure n° 1 › calendrier : calendrier inconnu « x »': the field named in words."""
        return sentence(self.path, self.in_locale(locale), locale)


def problem(path: str, template: str, **params: object) -> Problem:
    """A Problem whose French `template` is translated in the catalogs (see `in_locale`)."""
    return Problem(path, template % params, template, tuple(params.items()))
