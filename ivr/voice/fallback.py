"""Answers that need no database: the fallback URL and degraded steps.

Whatever breaks (database down, a bug in a step), a caller still on the line
hears something useful: the hotline when it is open, voicemail otherwise.
"""

from __future__ import annotations

import logging
from datetime import datetime

from twilio.twiml.voice_response import VoiceResponse

from ivr.config import ConfigDocument
from ivr.flows import proceed
from ivr.flows.state import CallState

log = logging.getLogger(__name__)

STATIC_APOLOGY = (
    "Un incident technique empêche le traitement de votre appel. "
    "Merci de rappeler dans quelques minutes."
)


def degraded_twiml(doc: ConfigDocument | None, call_sid: str, caller: str, now: datetime) -> str:
    """Hotline if open, else voicemail, from the last known configuration; never raises."""
    try:
        if doc is None:
            raise LookupError("no configuration loaded yet")
        response = VoiceResponse()
        response.say(doc.prompts.technical_problem, language=doc.service.language)
        state = CallState(call_sid=call_sid or "CA" + "0" * 32, caller=caller)
        return str(proceed.route(state, doc, now, frozenset(), response, []).response)
    except Exception:  # the last line of defence must answer, whatever happened
        log.exception("degraded answer failed; playing the static apology")
        response = VoiceResponse()
        response.say(STATIC_APOLOGY, language="fr-FR")
        response.hangup()
        return str(response)
