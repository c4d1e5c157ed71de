"""A console phone: drive the real webhooks in-process, print what the caller hears.

Every request is signed like Twilio signs it and goes through the same Flask
routes, flows and call book as a real call; only the other parties (the
referent who picks up or not, the recording) are simulated from the options.

It plays the TwiML as Twilio does: action URLs are followed exactly as given
(relative ones against the document's URL, query string kept and signed),
a silent <Gather> without `actionOnEmptyResult` falls through to the next
verb, each <Dial> is a new leg with its own `DialCallSid`, and the call ends
with the status callback Twilio sends for an answered inbound call:
"completed", with the seconds the call lasted. Those seconds are simulated,
not measured: what the caller hears at about `SPEECH_CHARS_PER_SECOND`,
the keys pressed, the ringing, the conversation and the message.
"""

from __future__ import annotations

import math
import secrets
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from flask import Flask
from flask.testing import FlaskClient

from callbook.db import session_scope
from callbook.queue import claims
from ivr.twilio_adapter import sign

Echo = Callable[[str], None]
Ask = Callable[[str], str]
MAX_STEPS = 60
SPEECH_CHARS_PER_SECOND = 14
"""About how fast Twilio's French voices speak."""
KEY_SECONDS = 1
"""To press one key."""
RING_BEFORE_ANSWER = 5
"""Seconds a referent or technician lets the phone ring before picking up."""
DIAL_OUTCOMES = {
    "answer": "completed",
    "no-answer": "no-answer",
    "busy": "busy",
    "failed": "failed",
}
"""`--dial` outcome -> the DialCallStatus Twilio sends for it."""


def new_sid() -> str:
    """A call SID as Twilio makes them: "CA" and 32 hex digits."""
    return "CA" + secrets.token_hex(16)


def speech_seconds(text: str) -> int:
    return math.ceil(len(text.strip()) / SPEECH_CHARS_PER_SECOND)


class ProtocolError(RuntimeError):
    """The service answered something Twilio could not have used."""


@dataclass
class Script:
    """Answers for a scripted call; an empty script means "ask on the terminal"."""

    presses: deque[str] = field(default_factory=deque)
    dials: deque[str] = field(default_factory=deque)
    message_seconds: int = 20
    interactive: bool = False
    talk_seconds: int = 60
    """How long an answered transfer talks with the caller."""


@dataclass
class ConsoleCall:
    app: Flask
    caller: str
    called: str
    script: Script
    echo: Echo
    ask: Ask = input
    call_sid: str = field(default_factory=new_sid)
    heard: list[str] = field(default_factory=list)
    dialed: list[str] = field(default_factory=list)
    dial_sids: list[str] = field(default_factory=list)
    """The `DialCallSid` of each <Dial>, in order."""
    seconds: int = 0
    """How long the call has lasted so far (simulated)."""

    def __post_init__(self) -> None:
        self.client: FlaskClient = self.app.test_client()
        settings = self.app.config["IVR_SETTINGS"]
        self.base = (settings.public_url or "http://localhost").rstrip("/")
        self.token: str = self.app.extensions["twilio_token"]
        self.document = self.base + "/voice/incoming"
        """The URL of the TwiML being played: relative URLs are resolved against it."""

    # -- HTTP, signed like Twilio -------------------------------------------

    def post(self, url: str, params: dict[str, str], expect_twiml: bool = True) -> ET.Element:
        """POST to `url` (absolute, or relative to the current document) as Twilio would."""
        full = urljoin(self.document, url)
        parts = urlsplit(full)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        form = {"CallSid": self.call_sid, "From": self.caller, "To": self.called} | params
        response = self.client.post(
            path,
            data=form,
            headers={"X-Twilio-Signature": sign(self.token, full, form)},
            base_url=f"{parts.scheme}://{parts.netloc}",
        )
        if not expect_twiml:
            if response.status_code not in (200, 204):
                raise ProtocolError(f"{path} answered HTTP {response.status_code}")
            return ET.Element("Response")
        if response.status_code != 200 or not response.mimetype.endswith("xml"):
            raise ProtocolError(f"{path} answered HTTP {response.status_code} {response.mimetype}")
        try:
            root = ET.fromstring(response.data)
        except ET.ParseError as exc:
            raise ProtocolError(f"{path} answered invalid XML: {exc}") from exc
        if root.tag != "Response":
            raise ProtocolError(f"{path} answered <{root.tag}>, not <Response>")
        if "ParentCallSid" not in params:  # a leg's document is not the caller's
            self.document = full
        return root

    # -- the call --------------------------------------------------------------

    def run(self) -> str:
        """Play the call to its end; returns how it ended."""
        self.echo(f"appel de {self.caller} vers {self.called} ({self.call_sid})")
        try:
            outcome = self._play_all(self.post(self.document, {}))
        except (EOFError, KeyboardInterrupt):
            outcome = "raccroché par l'appelant"
        # An inbound call the service answered ends "completed", however it
        # ends (the caller or the service hangs up), with its length.
        self.post(
            self.base + "/voice/status",  # the number's status callback, not a document's
            {"CallStatus": "completed", "CallDuration": str(self.seconds)},
            expect_twiml=False,
        )
        self.echo(f"fin de l'appel : {outcome} ({self.seconds} s)")
        return outcome

    def _play_all(self, root: ET.Element) -> str:
        for _ in range(MAX_STEPS):
            outcome = self._play(root)
            if isinstance(outcome, str):
                return outcome
            root = outcome
        raise ProtocolError(f"the call did not end after {MAX_STEPS} steps")

    def _play(self, root: ET.Element) -> ET.Element | str:
        """Play one document; the next one, or how the call ended."""
        for verb in root:
            outcome = self._verb(verb)
            if outcome is not None:
                return outcome
        return "fin du document TwiML"

    def _verb(self, verb: ET.Element) -> ET.Element | str | None:
        """Play one verb; None goes on with the next verb of the document."""
        if verb.tag == "Say":
            self._hear(verb.text or "")
            return None
        if verb.tag == "Gather":
            return self._gather(verb)
        if verb.tag == "Dial":
            return self._dial(verb)
        if verb.tag == "Record":
            return self._record(verb)
        if verb.tag == "Enqueue":
            return self._enqueue(verb)
        if verb.tag == "Redirect":
            return self.post((verb.text or "").strip(), {})
        if verb.tag == "Hangup":
            return "raccroché par le service"
        if verb.tag == "Pause":
            self.seconds += _number(verb.get("length"), 1)
            return None
        if verb.tag in ("Play", "Start", "Stop"):
            return None  # <Start>/<Stop>: a background transcription, nothing heard
        raise ProtocolError(f"unexpected verb <{verb.tag}>")

    def _hear(self, text: str) -> None:
        self.heard.append(text)
        self.seconds += speech_seconds(text)
        self.echo(f"  < {text}")

    def _next(self, queue: deque[str], question: str) -> str | None:
        if queue:
            return queue.popleft()
        if self.script.interactive:
            return self.ask(question)
        return None

    def _gather(self, verb: ET.Element) -> ET.Element | str | None:
        for say in verb.iter("Say"):
            self._hear(say.text or "")
        answer = self._next(self.script.presses, "  touches (ou phrase) > ")
        if answer is None:
            return "fin du scénario"  # the caller hangs up
        self.echo(f"  > {answer or '(silence)'}")
        action = verb.get("action") or self.document
        if not answer:
            self.seconds += _number(verb.get("timeout"), 5)
            if verb.get("actionOnEmptyResult") != "true":
                return None  # Twilio goes on with the next verb
            return self.post(action, {})
        if answer.replace("#", "").replace("*", "").isdigit():
            self.seconds += KEY_SECONDS * len(answer)
            return self.post(action, {"Digits": answer})
        self.seconds += speech_seconds(answer)
        return self.post(action, {"SpeechResult": answer, "Confidence": "0.9"})

    def _dial(self, verb: ET.Element) -> ET.Element | str | None:
        numbers = [(n.text or "").strip() for n in verb.iter("Number")]
        self.dialed.extend(numbers)
        ring = _number(verb.get("timeout"), 30)
        self.echo(f"  ☎ sonne {', '.join(numbers)} ({ring} s)")
        outcome = self._dial_outcome()
        if outcome is None:
            return "fin du scénario"  # the caller hangs up while it rings
        leg = new_sid()  # the dialled leg: a call of its own, as at Twilio
        self.dial_sids.append(leg)
        talked = 0
        if outcome != "completed":
            self.echo(f"  … {outcome}")
            self.seconds += ring if outcome == "no-answer" else 0
        else:
            self.seconds += RING_BEFORE_ANSWER
            talked = self._screen(verb, leg, numbers) + self.script.talk_seconds
            self.echo(f"  … conversation de {self.script.talk_seconds} s")
            self.seconds += talked
        result = {"DialCallStatus": outcome, "DialCallSid": leg, "DialCallDuration": str(talked)}
        action = verb.get("action")
        return self.post(action, result) if action else None

    def _dial_outcome(self) -> str | None:
        """The scripted (or typed) outcome of a <Dial>, as a DialCallStatus; None: hang up."""
        while True:
            typed = self._next(self.script.dials, "  [r]épond, [n]e répond pas, [o]ccupé > ")
            if typed is None:
                return None
            typed = {"r": "answer", "n": "no-answer", "o": "busy"}.get(typed[:1], typed)
            if typed in DIAL_OUTCOMES:
                return DIAL_OUTCOMES[typed]
            self.echo(f"  ? {typed} : répondez r, n ou o")

    def _screen(self, verb: ET.Element, leg: str, numbers: list[str]) -> int:
        """The whisper played to who picks up (who presses 1); its seconds."""
        number = next((n for n in verb.iter("Number") if n.get("url")), None)
        if number is None:
            return 0
        params = {
            "CallSid": leg,
            "ParentCallSid": self.call_sid,
            "From": verb.get("callerId") or self.caller,
            "To": (number.text or "").strip() or numbers[0],
            "Direction": "outbound-dial",
            "CallStatus": "in-progress",
        }
        url = urljoin(self.document, number.get("url") or "")
        screen = self.post(url, params)
        says = [say.text or "" for say in screen.iter("Say")]
        for text in says:
            self.echo(f"    (au technicien) < {text}")
        gather = screen.find("Gather")
        if gather is None:
            return sum(speech_seconds(text) for text in says)
        first = gather.find("Say")
        heard = speech_seconds(first.text or "") if first is not None else 0
        self.post(urljoin(url, gather.get("action") or url), params | {"Digits": "1"})
        self.echo("    (au technicien) > 1")
        return heard + KEY_SECONDS

    def _enqueue(self, verb: ET.Element) -> ET.Element | str:
        """Wait in the team's queue: the wait URL once (the place said), then '1' for a
        callback (virtual hold), or the caller hangs up while waiting."""
        team = (verb.text or "").strip()
        with session_scope(self.app) as session:
            position = claims.waiting_count(session, team) + 1
        self.echo(f"  ⏳ file d'attente « {team} », place {position}")
        queue = {"QueueSid": "QU" + "0" * 32, "QueuePosition": str(position),
                 "CurrentQueueSize": str(position), "AvgQueueTime": "0"}  # fmt: skip
        started = self.seconds
        document = self.post(verb.get("waitUrl") or "", queue | {"QueueTime": "0"})
        action = verb.get("action") or self.document
        for _ in range(MAX_STEPS):
            if document.find("Leave") is not None:
                for say in document.iter("Say"):
                    self._hear(say.text or "")
                waited = str(self.seconds - started)
                return self.post(action, {"QueueResult": "leave", "QueueTime": waited})
            for say in document.iter("Say"):
                self._hear(say.text or "")
            gather = document.find("Gather")
            pause = document.find(".//Pause")
            self.seconds += _number(pause.get("length") if pause is not None else None, 0)
            press = self._next(self.script.presses, "  1 : être rappelé ; Entrée : raccrocher > ")
            if not press or gather is None:
                break
            self.echo(f"  > {press}")
            document = self.post(gather.get("action") or "", {"Digits": press} | queue)
        waited = str(self.seconds - started)
        self.post(action, {"QueueResult": "hangup", "QueueTime": waited}, expect_twiml=False)
        return "raccroché en attente"

    def _record(self, verb: ET.Element) -> ET.Element | str | None:
        seconds = min(self.script.message_seconds, _number(verb.get("maxLength"), 3600))
        if seconds <= 0:
            return None  # nothing recorded: Twilio goes on with the next verb
        self.echo(f"  (bip) message de {seconds} s")
        self.seconds += seconds
        sid = "RE" + secrets.token_hex(16)
        url = f"https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/{sid}"
        params = {"RecordingSid": sid, "RecordingUrl": url, "RecordingDuration": str(seconds)}
        status_url = verb.get("recordingStatusCallback")
        if status_url:
            status_url = urljoin(self.document, status_url)
        root = self.post(verb.get("action") or self.document, params)
        if status_url:
            self.post(status_url, params | {"RecordingStatus": "completed"}, expect_twiml=False)
        return root


def _number(text: str | None, default: int) -> int:
    """A whole number of seconds from a TwiML attribute; `default` when absent or invalid."""
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default
