"""A console phone: drive the real webhooks in-process, print what the caller hears.

Every request is signed like Twilio signs it and goes through the same Flask
routes, flows and call book as a real call; only the other parties (the
referent who picks up or not, the recording) are simulated from the options.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask
from flask.testing import FlaskClient

from ivr.twilio_adapter import sign

Echo = Callable[[str], None]
Ask = Callable[[str], str]
MAX_STEPS = 60


class ProtocolError(RuntimeError):
    """The service answered something Twilio could not have used."""


@dataclass
class Script:
    """Answers for a scripted call; an empty script means "ask on the terminal"."""

    presses: deque[str] = field(default_factory=deque)
    dials: deque[str] = field(default_factory=deque)
    message_seconds: int = 20
    interactive: bool = False


@dataclass
class ConsoleCall:
    app: Flask
    caller: str
    called: str
    script: Script
    echo: Echo
    ask: Ask = input
    call_sid: str = field(default_factory=lambda: "CA" + secrets.token_hex(16))
    heard: list[str] = field(default_factory=list)
    dialed: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client: FlaskClient = self.app.test_client()
        settings = self.app.config["IVR_SETTINGS"]
        self.base = (settings.public_url or "http://localhost").rstrip("/")
        self.token: str = self.app.extensions["twilio_token"]

    # -- HTTP, signed like Twilio -------------------------------------------

    def post(self, path: str, params: dict[str, str], expect_twiml: bool = True) -> ET.Element:
        form = {"CallSid": self.call_sid, "From": self.caller, "To": self.called} | params
        signature = sign(self.token, self.base + path, form)
        response = self.client.post(
            path, data=form, headers={"X-Twilio-Signature": signature}, base_url=self.base
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
        return root

    # -- the call --------------------------------------------------------------

    def run(self) -> str:
        """Play the call to its end; returns how it ended."""
        self.echo(f"appel de {self.caller} vers {self.called} ({self.call_sid})")
        root = self.post("/voice/incoming", {})
        for _ in range(MAX_STEPS):
            outcome = self._play(root)
            if isinstance(outcome, str):
                self.post("/voice/status", {"CallStatus": "completed", "CallDuration": "60"}, False)
                self.echo(f"fin de l'appel : {outcome}")
                return outcome
            root = outcome
        raise ProtocolError(f"the call did not end after {MAX_STEPS} steps")

    def _play(self, root: ET.Element) -> ET.Element | str:
        for verb in root:
            if verb.tag == "Say":
                self._hear(verb.text or "")
            elif verb.tag == "Gather":
                for say in verb.iter("Say"):
                    self._hear(say.text or "")
                return self._gather(verb)
            elif verb.tag == "Dial":
                return self._dial(verb)
            elif verb.tag == "Record":
                return self._record(verb)
            elif verb.tag == "Redirect":
                return self.post((verb.text or "").strip(), {})
            elif verb.tag == "Hangup":
                return "raccroché par le service"
            elif verb.tag in ("Pause", "Play"):
                continue
            else:
                raise ProtocolError(f"unexpected verb <{verb.tag}>")
        return "fin du document TwiML"

    def _hear(self, text: str) -> None:
        self.heard.append(text)
        self.echo(f"  < {text}")

    def _next(self, queue: deque[str], question: str) -> str | None:
        if queue:
            return queue.popleft()
        if self.script.interactive:
            return self.ask(question)
        return None

    def _gather(self, verb: ET.Element) -> ET.Element | str:
        action = verb.get("action") or ""
        answer = self._next(self.script.presses, "  touches (ou phrase) > ")
        if answer is None:
            if not self.script.interactive and not self.script.presses:
                return "fin du scénario"
            answer = ""
        self.echo(f"  > {answer or '(silence)'}")
        params = {"Digits": answer} if answer.replace("#", "").isdigit() else {}
        if answer and not params:
            params = {"SpeechResult": answer, "Confidence": "0.9"}
        return self.post(action, params)

    def _dial(self, verb: ET.Element) -> ET.Element | str:
        numbers = [(n.text or "").strip() for n in verb.iter("Number")]
        whisper = next((n.get("url") for n in verb.iter("Number") if n.get("url")), None)
        self.dialed.extend(numbers)
        self.echo(f"  ☎ sonne {', '.join(numbers)} ({verb.get('timeout')} s)")
        outcome = self._next(self.script.dials, "  [r]épond, [n]e répond pas, [o]ccupé > ")
        if outcome is None:
            return "fin du scénario"
        outcome = {"r": "answer", "n": "no-answer", "o": "busy"}.get(outcome[:1], outcome)
        action = verb.get("action") or ""
        if outcome != "answer":
            self.echo(f"  … {outcome}")
            return self.post(action, {"DialCallStatus": outcome, "DialCallDuration": "0"})
        if whisper:
            leg = {"ParentCallSid": self.call_sid, "CallSid": "CA" + secrets.token_hex(16)}
            screen = self.post(whisper, leg)
            for say in screen.iter("Say"):
                self.echo(f"    (au technicien) < {say.text}")
            gather = screen.find("Gather")
            if gather is not None:
                self.post(gather.get("action") or "", leg | {"Digits": "1"})
                self.echo("    (au technicien) > 1")
        self.echo("  … conversation de 60 s")
        return self.post(action, {"DialCallStatus": "completed", "DialCallDuration": "60"})

    def _record(self, verb: ET.Element) -> ET.Element | str:
        seconds = self.script.message_seconds
        self.echo(f"  (bip) message de {seconds} s")
        sid = "RE" + secrets.token_hex(16)
        url = f"https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/{sid}"
        params = {"RecordingSid": sid, "RecordingUrl": url, "RecordingDuration": str(seconds)}
        root = self.post(verb.get("action") or "", params)
        status_url = verb.get("recordingStatusCallback")
        if status_url:
            self.post(status_url, params | {"RecordingStatus": "completed"}, expect_twiml=False)
        return root
