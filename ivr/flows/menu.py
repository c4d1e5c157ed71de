"""The motive menu: keypad and French speech, at most N attempts.

A key press routes at once. What a caller says goes through
`ivr.flows.understanding`: a clear motive routes, a likely one is asked back
("c'est bien ça ?") on a turn of its own (`/voice/menu-check`), anything else
is asked again. After the last attempt the call goes on without a motive.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.config import ConfigDocument, Motive
from ivr.flows import proceed
from ivr.flows.lexicon import answer_yes_no
from ivr.flows.speech import say
from ivr.flows.state import MENU, MENU_CHECK, CallState, Event, Step, action
from ivr.flows.understanding import Understanding, hints, understand

CHECK_HINTS = "oui, non, c'est ça, exactement, pas du tout"


def _gather(doc: ConfigDocument, path: str, state: CallState, speech_hints: str) -> Gather:
    """A one-key <Gather>, listening to French speech too when the menu allows it."""
    speech: dict[str, str] = {}
    if doc.menu.speech:
        speech["speech_timeout"] = "auto"
        if speech_hints:
            speech["hints"] = speech_hints
    return Gather(
        input="dtmf speech" if doc.menu.speech else "dtmf",
        num_digits=1,
        timeout=doc.menu.timeout,
        action=action(path, state),
        method="POST",
        action_on_empty_result=True,
        language=doc.service.language,
        **speech,
    )


def ask(
    state: CallState, doc: ConfigDocument, response: VoiceResponse, events: list[Event]
) -> Step:
    """The menu prompt inside a <Gather>; silence comes back to `choose` too."""
    gather = _gather(doc, MENU, state, hints(doc.motives))
    say(gather, doc, doc.prompts.menu_intro)
    for motive in sorted(doc.motives, key=lambda m: m.digit):
        say(gather, doc, doc.prompts.say("menu_item", label=motive.label, digit=motive.digit))
    response.append(gather)
    # Should Twilio fall through the <Gather>, the menu step still runs.
    response.redirect(action(MENU, state), method="POST")
    return Step(response, state, events)


def choose(
    state: CallState,
    doc: ConfigDocument,
    now: datetime,
    busy: Container[str],
    digits: str,
    speech: str,
    confidence: float | None = None,
) -> Step:
    """The caller's answer to the menu: a key, or a few words."""
    digits = digits.strip()
    if digits or not speech.strip() or not doc.menu.speech:
        motive = doc.motive_by_digit(digits) if len(digits) == 1 else None
        if motive is not None:
            return _chosen(state, doc, now, busy, motive, "keypad", [])
        prompt = doc.prompts.menu_invalid if digits else doc.prompts.menu_no_input
        return _again(state, doc, now, busy, prompt, _unheard(state, digits, speech, None), [])
    understood = understand(doc.motives, speech, confidence)
    return _act(state, doc, now, busy, understood, speech, [])


def check_answer(
    state: CallState,
    doc: ConfigDocument,
    now: datetime,
    busy: Container[str],
    digits: str,
    speech: str,
    confidence: float | None = None,
) -> Step:
    """The answer to "Vous appelez pour …, c'est bien ça ?": oui (1), non (2), or new words."""
    pending = doc.motive(state.pending_motive)
    state = state.model_copy(update={"pending_motive": ""})
    if pending is None:  # no question pending (a stray request): a menu answer
        return choose(state, doc, now, busy, digits, speech, confidence)
    said = answer_yes_no(speech, digits)
    data = {"motive": pending.key, "answer": {True: "yes", False: "no", None: "other"}[said]}
    events = [Event("menu.checked", data)]
    if said is True:
        return _chosen(state, doc, now, busy, pending, "speech", events, announce=False)
    if speech.strip() and not digits.strip():
        # "Non, c'est pour mon mot de passe": the caller may say what they want
        # instead. Only a clear answer routes: a question asked back again and
        # again would never end, so anything less goes back to the menu.
        understood = understand(doc.motives, speech, confidence)
        if understood.outcome == "route" and understood.motive != pending.key:
            return _act(state, doc, now, busy, understood, speech, events)
    if said is False:
        prompt = doc.prompts.motive_rejected
    elif digits.strip() or speech.strip():
        prompt = doc.prompts.menu_not_understood
    else:
        prompt = doc.prompts.menu_no_input
    return _again(state, doc, now, busy, prompt, None, events)


def _act(
    state: CallState,
    doc: ConfigDocument,
    now: datetime,
    busy: Container[str],
    understood: Understanding,
    speech: str,
    events: list[Event],
) -> Step:
    """Route, ask back or ask again, as `understood` decided."""
    motive = doc.motive(understood.motive) if understood.motive else None
    if understood.outcome == "route" and motive is not None:
        events.append(_heard("menu.understood", understood, speech))
        return _chosen(state, doc, now, busy, motive, "speech", events)
    if understood.outcome == "confirm" and motive is not None:
        events.append(_heard("menu.check", understood, speech))
        return _check(state, doc, motive, events)
    prompt = doc.prompts.menu_not_understood
    return _again(state, doc, now, busy, prompt, _unheard(state, "", speech, understood), events)


def _check(state: CallState, doc: ConfigDocument, motive: Motive, events: list[Event]) -> Step:
    """Ask the caller whether `motive` is what they call for, on a turn of its own."""
    state = state.model_copy(update={"pending_motive": motive.key})
    response = VoiceResponse()
    gather = _gather(doc, MENU_CHECK, state, CHECK_HINTS)
    say(gather, doc, doc.prompts.say("motive_check", motive=motive.label))
    response.append(gather)
    response.redirect(action(MENU_CHECK, state), method="POST")
    return Step(response, state, events)


def _chosen(
    state: CallState,
    doc: ConfigDocument,
    now: datetime,
    busy: Container[str],
    motive: Motive,
    channel: str,
    events: list[Event],
    *,
    announce: bool = True,
) -> Step:
    state = state.model_copy(update={"motive": motive.key, "motive_channel": channel})
    response = VoiceResponse()
    if announce:  # a caller who has just said "oui" to it needs no repeat
        say(response, doc, doc.prompts.say("motive_confirm", motive=motive.label))
    data = {"motive": motive.key, "family": motive.family.value, "channel": channel}
    events.append(Event("menu.choice", data))
    return proceed.after_motive(state, doc, now, busy, response, events)


def _again(
    state: CallState,
    doc: ConfigDocument,
    now: datetime,
    busy: Container[str],
    prompt: str,
    event: Event | None,
    events: list[Event],
) -> Step:
    """One attempt more: the menu again, or, after the last one, the call goes on."""
    attempts = state.menu_attempts + 1
    state = state.model_copy(update={"menu_attempts": attempts})
    if event is not None:
        events.append(Event(event.kind, {"attempt": attempts, **event.data}))
    response = VoiceResponse()
    say(response, doc, prompt)
    if attempts < doc.menu.attempts:
        return ask(state, doc, response, events)
    say(response, doc, doc.prompts.menu_give_up)
    events.append(Event("menu.gave_up", {"attempts": attempts}))
    return proceed.route(state, doc, now, busy, response, events)


def _unheard(state: CallState, digits: str, speech: str, understood: Understanding | None) -> Event:
    """`menu.invalid` (a wrong key, words not understood) or `menu.no_input` (silence)."""
    heard = bool(digits.strip() or speech.strip())
    data: dict[str, object] = {"digits": digits[:8], "speech": speech[:120]}
    if understood is not None:
        data |= {"guess": understood.runner_up, "score": understood.score}
    return Event("menu.invalid" if heard else "menu.no_input", data)


def _heard(kind: str, understood: Understanding, speech: str) -> Event:
    return Event(
        kind,
        {
            "motive": understood.motive,
            "score": understood.score,
            "runner_up": understood.runner_up,
            "runner_up_score": understood.runner_up_score,
            "via": understood.via,
            "confidence": understood.confidence,
            "speech": speech[:120],
        },
    )
