"""Twilio behind one small adapter: webhook signatures, TwiML responses, REST client.

One place checks `X-Twilio-Signature`; one place builds the REST client and
turns its failures into `TwilioUnavailable`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, Request, Response
from requests.exceptions import RequestException
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from ivr.settings import Settings, instance_secret

LOCAL_TOKEN_FILE = "webhook-token"
_T = TypeVar("_T")


class TwilioUnavailable(RuntimeError):
    """Twilio credentials are missing, or its REST API failed.

    `permanent` says the request itself was refused (HTTP 400: an invalid
    number, say): sending it again later would fail the same way.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def webhook_token(settings: Settings) -> str:
    """The token webhooks are signed with.

    TWILIO_AUTH_TOKEN when set. Without Twilio credentials (the embedded demo)
    a random local token is kept in the instance folder, so signatures are
    still checked and `ivr call` signs its requests like Twilio would.
    """
    token = settings.twilio_auth_token.get_secret_value()
    return token or instance_secret(settings.instance_dir, LOCAL_TOKEN_FILE, 16)


def public_url(request: Request, settings: Settings) -> str:
    """The URL Twilio used: IVR_PUBLIC_URL + path when set, else the request URL.

    Behind a reverse proxy the request URL is only right when ProxyFix trusts
    X-Forwarded-Proto/Host (IVR_TRUST_PROXY).
    """
    if settings.public_url:
        query = request.query_string.decode("latin-1")
        base = settings.public_url.rstrip("/")
        return f"{base}{request.path}" + (f"?{query}" if query else "")
    return request.url


def webhook_url(request: Request, settings: Settings, path: str) -> str:
    """The absolute URL of our webhook `path`, on the base Twilio calls (see `public_url`)."""
    base = settings.public_url.rstrip("/") if settings.public_url else request.host_url
    return base.rstrip("/") + path


def signature_valid(request: Request, settings: Settings, token: str) -> bool:
    """True when X-Twilio-Signature signs this request's URL and form with `token`.

    `RequestValidator.validate` as published: the URL with and without its
    port (Twilio's signing is inconsistent there), every value of a repeated
    field (it reads Werkzeug's `MultiDict` through `getlist`).
    """
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    params = request.form if request.method == "POST" else {}
    return bool(RequestValidator(token).validate(public_url(request, settings), params, signature))


def sign(token: str, url: str, params: dict[str, str]) -> str:
    """The signature Twilio would send for this URL and form (console phone, tests)."""
    return str(RequestValidator(token).compute_signature(url, params))


def twiml(response: VoiceResponse) -> Response:
    return Response(str(response), status=200, mimetype="text/xml")


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions["twilio_token"] = webhook_token(settings)


# -- the REST side: outbound calls, SMS, call statuses, recording deletions ----

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
PERMANENT_STATUS = 400  # Twilio's answer to an invalid request, e.g. a "To" that is no number
GONE_STATUS = 404  # a resource that does not exist (any more): a deletion is then done


class TwilioGateway:
    """Outbound calls, SMS and recording deletions through Twilio's REST API, retried in one place.

    Transient failures (timeouts, connection errors, 429 and 5xx answers) are
    retried with exponential backoff; anything else, or the last failure,
    raises `TwilioUnavailable`. `timeout` bounds each request (seconds to
    connect, then between bytes); a webhook that asks Twilio something gives
    a short one and a single try. With `outbound` False the gateway only reads
    call statuses, and IVR_PUBLIC_URL is not needed. Tests replace
    `http_client` (the network edge).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        http_client: HttpClient | None = None,
        timeout: float = 10.0,
        tries: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        outbound: bool = True,
    ) -> None:
        if not settings.twilio_configured:
            raise TwilioUnavailable(
                "outbound calls are off: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
            )
        if outbound and not settings.public_url:
            raise TwilioUnavailable(
                "outbound calls are off: set IVR_PUBLIC_URL (Twilio must reach our webhooks)"
            )
        self.base_url = settings.public_url.rstrip("/")
        self._client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            http_client=http_client or TwilioHttpClient(timeout=timeout),
        )
        self._tries = tries
        self._backoff = backoff
        self._sleep = sleep

    def url(self, path: str) -> str:
        return self.base_url + path

    def call(self, *, to: str, from_: str, path: str, status_path: str, timeout: int) -> str:
        """Place a call whose answered leg fetches `path`; returns the CallSid."""
        created = self._retry(
            lambda: self._client.calls.create(
                to=to,
                from_=from_,
                url=self.url(path),
                method="POST",
                status_callback=self.url(status_path),
                status_callback_method="POST",
                status_callback_event=["completed"],
                timeout=timeout,
            )
        )
        return str(created.sid)

    def call_status(self, call_sid: str) -> str:
        """Twilio's status of call `call_sid`: queued, ringing, in-progress, completed…"""
        fetched = self._retry(lambda: self._client.calls(call_sid).fetch())
        return str(fetched.status)

    def sms(self, *, to: str, from_: str, body: str) -> str:
        created = self._retry(lambda: self._client.messages.create(to=to, from_=from_, body=body))
        return str(created.sid)

    def delete_recording(self, recording_sid: str) -> bool:
        """Delete recording `recording_sid` at Twilio; False when it was already gone (404).

        Either way the recording no longer exists there afterwards.
        """

        def delete() -> bool:
            try:
                self._client.recordings(recording_sid).delete()
            except TwilioRestException as exc:
                if exc.status == GONE_STATUS:
                    return False
                raise
            return True

        return self._retry(delete)

    def _retry(self, action: Callable[[], _T]) -> _T:
        for attempt in range(1, self._tries + 1):
            try:
                return action()
            except TwilioRestException as exc:
                if exc.status not in RETRY_STATUSES or attempt == self._tries:
                    raise TwilioUnavailable(
                        f"Twilio refused: HTTP {exc.status} {exc.msg}",
                        permanent=exc.status == PERMANENT_STATUS,
                    ) from exc
            except (RequestException, TwilioException, OSError) as exc:
                if attempt == self._tries:
                    raise TwilioUnavailable(f"Twilio unreachable: {exc}") from exc
            self._sleep(self._backoff * 2 ** (attempt - 1))
        raise TwilioUnavailable("no attempt made")  # pragma: no cover - tries >= 1
