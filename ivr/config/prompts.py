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
    "motive_confirm": frozenset({"motive"}),
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

    welcome: str = "Bienvenue à {service}."
    menu_intro: str = (
        "Pour nous aider à traiter votre appel, indiquez-en le motif : "
        "tapez le chiffre correspondant, ou dites-le simplement."
    )
    menu_item: str = "Pour {label}, tapez {digit}."
    menu_no_input: str = "Nous n'avons pas entendu votre choix."
    menu_invalid: str = "Ce choix n'est pas valide."
    menu_give_up: str = "Nous n'avons pas pu identifier le motif de votre appel."
    motive_confirm: str = "Vous avez choisi : {motive}."
    department_ask: str = (
        "Tapez le numéro de votre département, puis la touche dièse. "
        "Pour la Corse-du-Sud, tapez 2 0 1 ; pour la Haute-Corse, tapez 2 0 2."
    )
    department_unknown: str = "Ce numéro de département n'est pas reconnu."
    structure_confirm: str = "Votre appel concerne {structure}."
    transfer_referent: str = "Nous vous mettons en relation avec votre référent, {structure}."
    transfer_hotline: str = "Nous vous mettons en relation avec l'assistance nationale."
    transfer_oncall: str = "Nous vous mettons en relation avec le technicien d'astreinte."
    oncall_next: str = "L'astreinte est joignable {when}."
    closed: str = "Le service est actuellement fermé : {reason}."
    reopens: str = "Il rouvrira {when}."
    manual_closure: str = "Le service est exceptionnellement fermé."
    no_answer: str = "Aucun interlocuteur n'est disponible pour le moment."
    voicemail_offer: str = (
        "Laissez votre nom, votre numéro et l'objet de votre appel après le bip, "
        "puis tapez dièse ou raccrochez."
    )
    voicemail_urgent: str = (
        "Le technicien d'astreinte n'a pas pu répondre. Laissez un message après le bip : "
        "il sera alerté immédiatement."
    )
    voicemail_urgent_later: str = (
        "Laissez votre nom, votre numéro et la description de l'incident après le bip, "
        "puis tapez dièse ou raccrochez : votre message sera traité en urgence."
    )
    callback_announce: str = "Nous vous rappellerons {when}."
    callback_offer: str = (
        "Pour être rappelé dès la réouverture, tapez 1. "
        "Sinon, vous pouvez raccrocher : votre message sera traité."
    )
    callback_none: str = "Votre message sera traité dès que possible."
    oncall_alerted: str = "Le technicien d'astreinte est alerté."
    oncall_alert_later: str = (
        "Le technicien d'astreinte sera alerté {when}, dès le début de l'astreinte."
    )
    ticket_number: str = "Votre demande est enregistrée sous le numéro {ticket}."
    goodbye: str = "Merci de votre appel. Au revoir."
    whisper_oncall: str = (
        "Appel d'astreinte de {caller}, {structure}, motif : {motive}. "
        "Tapez 1 pour prendre l'appel."
    )
    callback_whisper: str = (
        "Rappel d'un usager, ticket {ticket} : {caller}, {structure}, motif : {motive}. "
        "Tapez 1 pour lancer le rappel."
    )
    alert_whisper: str = (
        "Alerte d'astreinte : message urgent, ticket {ticket}, de {caller}, {structure}, "
        "motif : {motive}. Tapez 1 pour rappeler l'usager."
    )
    callback_connecting: str = "Appel de l'usager en cours."
    callback_caller_absent: str = "L'usager ne répond pas. Le rappel sera reprogrammé."
    callback_not_started: str = "Rappel non lancé. Au revoir."
    alert_sms: str = "Astreinte : message urgent, ticket {ticket}, de {caller}, motif : {motive}."
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
        return str(getattr(self, name)).format(**values)
