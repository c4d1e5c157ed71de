"""Every sentence a caller (or a technician's whisper) hears, in French.

Each prompt is a `str.format` template; the placeholders a prompt may use are
fixed here, so a typo such as `{motif}` is refused when the document is
loaded instead of failing during a call.
"""

from __future__ import annotations

from string import Formatter
from typing import Self

from pydantic import BaseModel, ConfigDict, model_validator

PLACEHOLDERS: dict[str, frozenset[str]] = {
    "welcome": frozenset({"service"}),
    "menu_intro": frozenset(),
    "menu_item": frozenset({"label", "digit"}),
    "menu_no_input": frozenset(),
    "menu_invalid": frozenset(),
    "menu_give_up": frozenset(),
    "menu_not_understood": frozenset(),
    "motive_confirm": frozenset({"motive"}),
    "motive_check": frozenset({"motive"}),
    "motive_rejected": frozenset(),
    "department_ask": frozenset(),
    "department_unknown": frozenset(),
    "structure_confirm": frozenset({"structure"}),
    "transfer_referent": frozenset({"structure"}),
    "transfer_hotline": frozenset(),
    "transfer_oncall": frozenset(),
    "oncall_next": frozenset({"when"}),
    "closed": frozenset({"reason"}),
    "reopens": frozenset({"when"}),
    "manual_closure": frozenset(),
    "no_answer": frozenset(),
    "voicemail_offer": frozenset(),
    "voicemail_urgent": frozenset(),
    "voicemail_urgent_later": frozenset(),
    "callback_announce": frozenset({"when"}),
    "callback_offer": frozenset(),
    "callback_none": frozenset(),
    "oncall_alerted": frozenset(),
    "oncall_alert_later": frozenset({"when"}),
    "ticket_number": frozenset({"ticket"}),
    "goodbye": frozenset(),
    "whisper_oncall": frozenset({"caller", "structure", "motive"}),
    "technical_problem": frozenset(),
    "callback_whisper": frozenset({"ticket", "caller", "structure", "motive"}),
    "alert_whisper": frozenset({"ticket", "caller", "structure", "motive"}),
    "callback_connecting": frozenset(),
    "callback_caller_absent": frozenset(),
    "callback_not_started": frozenset(),
    "alert_sms": frozenset({"ticket", "caller", "motive"}),
    "callback_sms": frozenset({"ticket", "when"}),
    "queue_intro": frozenset(),
    "queue_place": frozenset({"place"}),
    "queue_estimate": frozenset({"minutes"}),
    "queue_hold_offer": frozenset(),
    "queue_hold_free": frozenset(),
    "queue_hold_withheld": frozenset(),
    "queue_closing": frozenset(),
    "queue_too_long": frozenset(),
    "queue_connecting": frozenset(),
    "queue_whisper": frozenset({"caller", "motive", "waited"}),
    "queue_nobody": frozenset(),
    "missed_sms": frozenset({"service", "when"}),
}


class Prompts(BaseModel):
    """Defaults are the shipped French sentences; the document may override any."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    welcome: str = "Bonjour et bienvenue à {service}."
    menu_intro: str = (
        "Dites-nous en quelques mots pourquoi vous appelez, ou tapez le chiffre correspondant."
    )
    menu_item: str = "Pour {label}, tapez {digit}."
    menu_no_input: str = "Nous n'avons rien entendu."
    menu_invalid: str = "Cette touche ne correspond à aucun choix."
    menu_not_understood: str = "Excusez-nous, nous n'avons pas bien compris."
    menu_give_up: str = "Nous n'avons pas pu identifier l'objet de votre appel."
    motive_confirm: str = "Vous appelez pour {motive}."
    motive_check: str = (
        "Vous appelez pour {motive}, c'est bien ça ? Dites oui ou tapez 1. Sinon, tapez 2."
    )
    motive_rejected: str = "D'accord, reprenons."
    department_ask: str = (
        "Tapez le numéro de votre département, puis la touche dièse. "
        "Pour la Corse-du-Sud, tapez 2 0 1 ; pour la Haute-Corse, tapez 2 0 2."
    )
    department_unknown: str = "Nous ne reconnaissons pas ce numéro de département."
    structure_confirm: str = "Vous dépendez de {structure}."
    transfer_referent: str = "Nous vous mettons en relation avec le référent de {structure}."
    transfer_hotline: str = "Nous vous mettons en relation avec l'assistance nationale."
    transfer_oncall: str = "Nous vous mettons en relation avec le technicien d'astreinte."
    oncall_next: str = "L'astreinte sera joignable {when}."
    closed: str = "Le service est actuellement fermé : {reason}."
    reopens: str = "Il rouvrira {when}."
    manual_closure: str = "Le service est exceptionnellement fermé."
    no_answer: str = "Aucun interlocuteur n'est disponible pour le moment."
    voicemail_offer: str = (
        "Après le bip, laissez votre nom, votre numéro de téléphone et l'objet de votre appel, "
        "puis raccrochez ou tapez dièse."
    )
    voicemail_urgent: str = (
        "Le technicien d'astreinte n'a pas pu répondre. Laissez un message après le bip : "
        "il sera alerté immédiatement."
    )
    voicemail_urgent_later: str = (
        "Après le bip, laissez votre nom, votre numéro de téléphone et la description de "
        "l'incident, puis raccrochez ou tapez dièse : votre message sera traité en urgence."
    )
    callback_announce: str = "Nous vous rappellerons {when}."
    callback_offer: str = (
        "Pour être rappelé dès la réouverture, tapez 1. "
        "Sinon, vous pouvez raccrocher : votre message sera traité."
    )
    callback_none: str = "Votre message sera traité dès que possible."
    oncall_alerted: str = "Le technicien d'astreinte a été prévenu."
    oncall_alert_later: str = (
        "Le technicien d'astreinte sera prévenu {when}, dès le début de l'astreinte."
    )
    ticket_number: str = "Votre demande est enregistrée sous le numéro {ticket}."
    goodbye: str = "Merci de votre appel. Au revoir."
    whisper_oncall: str = (
        "Appel d'astreinte : {caller}, de {structure}, pour {motive}. Tapez 1 pour prendre l'appel."
    )
    callback_whisper: str = (
        "Rappel à faire, ticket {ticket} : {caller}, de {structure}, pour {motive}. "
        "Tapez 1 pour lancer le rappel."
    )
    alert_whisper: str = (
        "Alerte d'astreinte, ticket {ticket} : message urgent de {caller}, de {structure}, "
        "pour {motive}. Tapez 1 pour rappeler la personne."
    )
    callback_connecting: str = "Appel de l'usager en cours."
    callback_caller_absent: str = "L'usager ne répond pas. Le rappel sera reprogrammé."
    callback_not_started: str = "Le rappel n'est pas lancé. Au revoir."
    alert_sms: str = "Astreinte : message urgent de {caller}, pour {motive}, ticket {ticket}."
    callback_sms: str = "Assistance : demande {ticket} enregistrée. Nous vous rappellerons {when}."
    queue_intro: str = (
        "Tous nos conseillers sont en ligne. Merci de patienter : "
        "nous prenons les appels dans leur ordre d'arrivée."
    )
    queue_place: str = "Vous êtes le {place} dans la file d'attente."
    queue_estimate: str = "Temps d'attente estimé : environ {minutes}."
    queue_hold_offer: str = "Pour être rappelé sans perdre votre place, tapez 1."
    queue_hold_free: str = "Nous vous rappellerons dès qu'un conseiller sera libre."
    queue_hold_withheld: str = (
        "Votre numéro est masqué : nous ne pouvons pas vous rappeler. Merci de patienter."
    )
    queue_closing: str = "L'assistance ferme et ne peut plus prendre votre appel en direct."
    queue_too_long: str = "L'attente se prolonge : nous ne pouvons pas vous répondre tout de suite."
    queue_connecting: str = "Un conseiller va vous répondre."
    queue_whisper: str = "Appel en attente depuis {waited} : {caller}, motif : {motive}."
    queue_nobody: str = "Plus personne n'attend. Au revoir."
    missed_sms: str = (
        "{service} : nous n'avons pas pu répondre à votre appel de {when}. "
        "Nous vous rappelons dès que possible."
    )
    technical_problem: str = (
        "Un incident technique empêche le traitement de votre appel. "
        "Nous vous mettons en relation avec l'assistance."
    )

    @model_validator(mode="after")
    def _placeholders(self) -> Self:
        problems = []
        for name, allowed in PLACEHOLDERS.items():
            text: str = getattr(self, name)
            if not text.strip():
                problems.append(f"{name}: a prompt cannot be empty")
                continue
            try:
                used = {field for _, field, _, _ in Formatter().parse(text) if field is not None}
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
                continue
            unknown = used - allowed
            if unknown:
                names = ", ".join("{" + u + "}" for u in sorted(unknown)) or "{}"
                known = ", ".join("{" + a + "}" for a in sorted(allowed)) or "none"
                problems.append(f"{name}: unknown placeholder {names} (allowed: {known})")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def say(self, name: str, **values: object) -> str:
        """The prompt with its values, contracted as French wants ("de le" -> "du")."""
        out: list[str] = []
        for literal, field, spec, conversion in Formatter().parse(str(getattr(self, name))):
            out.append(literal)
            if field is None:
                continue
            raw = values[field]
            if conversion:
                raw = {"r": repr, "s": str, "a": ascii}[conversion](raw)
            out.append(_contract(out, format(raw, spec or "")))
        return "".join(out)


# "de" and "à" before a value starting with an article or a vowel, as French
# speakers say them: "de le Cantal" -> "du Cantal", "à les" -> "aux",
# "de une structure" -> "d'une structure". Only where a value meets the
# template's words: the sentences themselves are written as they are said.
_CONTRACTIONS = {("de", "le"): "du", ("de", "les"): "des", ("à", "le"): "au", ("à", "les"): "aux"}
_VOWELS = tuple("aeiouyàâéèêëîïôöûùüAEIOUYÀÂÉÈÊËÎÏÔÖÛÙÜ")


def _contract(out: list[str], value: str) -> str:
    before = out[-1] if out else ""
    head, _, last = before.rstrip(" ").rpartition(" ")
    if not before.endswith(" ") or last not in ("de", "à"):
        return value
    first, _, rest = value.partition(" ")
    joined = _CONTRACTIONS.get((last, first.lower())) if rest else None
    if joined is not None:
        out[-1] = f"{head} " if head else ""
        return f"{joined} {rest}"
    if last == "de" and value.startswith(_VOWELS):
        out[-1] = f"{head} " if head else ""
        return f"d'{value}"
    return value
