"""The motive menu: keypad and French speech, at most N attempts."""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.config import ConfigDocument, Motive
from ivr.flows import proceed
from ivr.flows.speech import normalise, say
from ivr.flows.state import MENU, CallState, Event, Step, action


def ask(
    state: CallState, doc: ConfigDocument, response: VoiceResponse, events: list[Event]
) -> Step:
    """The menu prompt inside a <Gather>; silence comes back to `choose` too."""
    speech: dict[str, str] = {}
    if doc.menu.speech:
        speech["speech_timeout"] = "auto"
        hints = sorted({word for motive in doc.motives for word in motive.keywords})
        if hints:
            speech["hints"] = ", ".join(hints)
    gather = Gather(
        input="dtmf speech" if doc.menu.speech else "dtmf",
        num_digits=1,
        timeout=doc.menu.timeout,
        action=action(MENU, state),
        method="POST",
        action_on_empty_result=True,
        language=doc.service.language,
        **speech,
    )
    say(gather, doc, doc.prompts.menu_intro)
    for motive in sorted(doc.motives, key=lambda m: m.digit):
        say(gather, doc, doc.prompts.say("menu_item", label=motive.label, digit=motive.digit))
    response.append(gather)
    # Should Twilio fall through the <Gather>, the menu step still runs.
    response.redirect(action(MENU, state), method="POST")
    return Step(response, state, events)


def recognise(doc: ConfigDocument, digits: str, speech: str) -> tuple[Motive | None, str]:
    """(motive, channel) from a key press or from French speech keywords."""
    digits = digits.strip()
    if digits:
        return (doc.motive_by_digit(digits) if len(digits) == 1 else None), "keypad"
    heard = f" {normalise(speech)} "
    if not heard.strip():
        return None, ""
    scores = []
    for motive in doc.motives:
        hits = sum(1 for word in motive.keywords if f" {normalise(word)} " in heard)
        if hits:
            scores.append((hits, motive))
    scores.sort(key=lambda pair: pair[0], reverse=True)
    if not scores or (len(scores) > 1 and scores[0][0] == scores[1][0]):
        return None, "speech"
    return scores[0][1], "speech"


def choose(
    state: CallState,
    doc: ConfigDocument,
    now: datetime,
    busy: Container[str],
    digits: str,
    speech: str,
) -> Step:
    response = VoiceResponse()
    motive, channel = recognise(doc, digits, speech)
    if motive is not None:
        state = state.model_copy(update={"motive": motive.key, "motive_channel": channel})
        say(response, doc, doc.prompts.say("motive_confirm", motive=motive.label))
        events = [
            Event(
                "menu.choice",
                {"motive": motive.key, "family": motive.family.value, "channel": channel},
            )
        ]
        return proceed.after_motive(state, doc, now, busy, response, events)
    attempts = state.menu_attempts + 1
    state = state.model_copy(update={"menu_attempts": attempts})
    heard = bool(digits.strip() or speech.strip())
    events = [
        Event(
            "menu.invalid" if heard else "menu.no_input",
            {"attempt": attempts, "digits": digits[:8], "speech": speech[:120]},
        )
    ]
    say(response, doc, doc.prompts.menu_invalid if heard else doc.prompts.menu_no_input)
    if attempts < doc.menu.attempts:
        return ask(state, doc, response, events)
    say(response, doc, doc.prompts.menu_give_up)
    events.append(Event("menu.gave_up", {"attempts": attempts}))
    return proceed.route(state, doc, now, busy, response, events)
