"""One typed settings object, read from the environment (prefix IVR_).

Two ways to run. The *embedded demo* is the service with neither
IVR_DATABASE_URL (it runs on the SQLite file of its instance folder) nor
Twilio credentials (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN): its secrets are
random values kept in the instance folder. Setting any of those three makes
a *deployment*, which refuses to start without a secret key of its own and
without the public URL Twilio calls (or a trusted proxy): see
`deployment_problems`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ivr.receivers import Receiver, unique_names


class Settings(BaseSettings):
    """Every setting has a default that runs the embedded demo service."""

    model_config = SettingsConfigDict(env_prefix="IVR_", env_file=".env", extra="ignore")

    instance_dir: Path = Field(
        default=Path("instance"),
        description="Folder for the embedded SQLite file and local spool files.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL; empty means an SQLite file in the instance folder.",
    )
    host: str = Field(default="127.0.0.1", description="Address `ivr serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `ivr serve` listens on.")
    workers: int = Field(default=1, ge=1, le=64, description="Web workers for `ivr serve`.")
    public_url: str = Field(
        default="",
        description="Public base URL Twilio calls (https://ivr.example.org); "
        "empty means the URL of each request.",
    )
    trust_proxy: bool = Field(
        default=False,
        description="Trust X-Forwarded-Proto/Host from one reverse proxy when "
        "checking Twilio signatures.",
    )
    default_timezone: str = Field(default="Europe/Paris", description="Zone for display.")
    secret_key: SecretStr = Field(
        default=SecretStr(""),
        description="Key signing the admin sessions, at least 32 characters; required outside "
        "the embedded demo, which keeps a random one in the instance folder.",
    )
    outbound_rate: float = Field(
        default=1.0,
        ge=0,
        le=100,
        description="Outbound calls per second placed by the dispatcher (0: no limit).",
    )
    transcription: bool = Field(
        default=False,
        description="Transcribe voicemails in French with Twilio's real-time transcription "
        "(the caller's audio goes to Twilio's speech engine; billed per minute by Twilio).",
    )
    voice_db_budget_seconds: float = Field(
        default=2.0,
        ge=0.1,
        le=10,
        description="Seconds a voice webhook may wait for the database in all; past them it "
        "answers from the local spool (Twilio gives up after 15 s).",
    )
    callback_grace_hours: int = Field(
        default=72,
        ge=1,
        description="A callback overdue by more than this is not placed but flagged.",
    )
    retention_days: int = Field(
        default=365,
        ge=1,
        description="Days the call book keeps personal data: calls after they ended (then "
        "deleted), tickets, messages and callbacks after their last change (then anonymised).",
    )
    ticket_max_age_days: int = Field(
        default=365,
        ge=1,
        description="Days after which a ticket, even still open and worked on, is closed and "
        "anonymised by the purge.",
    )
    scheduler_lease_seconds: float = Field(
        default=30.0,
        ge=0.3,
        le=3600,
        description="Lease of the active scheduler, renewed every third of it; a standby "
        "takes over at most this long (plus a third) after the active one died.",
    )
    max_talk_minutes: int = Field(
        default=60,
        ge=1,
        le=240,
        description="Longest conversation assumed on a dialled number: past its ring timeout "
        "plus this, a call whose final status never came no longer makes the number busy.",
    )
    secure_cookies: bool | None = Field(
        default=None,
        description="Send the admin session cookie over HTTPS only; empty means on when "
        "IVR_PUBLIC_URL starts with https://.",
    )
    api_token: SecretStr = Field(
        default=SecretStr(""),
        description="Shared bearer token of the JSON API (/api/v1), full access, for scripts; "
        "empty means only personal tokens (`ivr users token`) work.",
    )
    smtp_host: str = Field(
        default="",
        description="SMTP server the e-mails leave through; empty means no e-mail at all "
        "(none is queued, the admin says so).",
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_tls: Literal["none", "starttls", "ssl"] = Field(
        default="starttls",
        description="none, starttls (port 587) or ssl (implicit TLS, port 465).",
    )
    smtp_username: str = Field(default="", description="SMTP login; empty means no login.")
    smtp_password: SecretStr = Field(default=SecretStr(""), description="SMTP password.")
    smtp_from: str = Field(
        default="",
        description="Sender of the e-mails, e.g. `Assistance <assistance@example.org>`; "
        "required with IVR_SMTP_HOST.",
    )
    hotline_email: str = Field(
        default="",
        description="The hotline's mailbox: new tickets outside a structure's usage "
        "questions, deadline notices of unassigned tickets.",
    )
    deadline_warning_minutes: int = Field(
        default=60,
        ge=1,
        le=7 * 24 * 60,
        description="Business minutes before a ticket's deadline when its assignee (or the "
        "hotline) is warned.",
    )
    oncall_escalation_gap_minutes: int = Field(
        default=2,
        ge=1,
        le=60,
        description="Minutes between two numbers of the on-call list when an urgent alert "
        "call is not accepted.",
    )
    outbox_max_attempts: int = Field(
        default=8,
        ge=1,
        le=50,
        description="Attempts to deliver an e-mail, SMS or helpdesk event (1, 2, 4… minutes "
        "apart) before it is marked failed in the admin.",
    )
    webhook_receivers: list[Receiver] = Field(
        default_factory=list,
        description="Helpdesk receivers of the signed events, as JSON: "
        '`[{"name": "glpi", "url": "https://…", "secret": "whsec_…"}]`, optionally with '
        '`"events"`; empty means no event is sent.',
    )
    service_level_seconds: int = Field(
        default=20,
        ge=1,
        le=3600,
        description="Contact-centre service level: the share of calls answered within this "
        "many seconds of waiting.",
    )
    metrics: bool = Field(
        default=False,
        description="Serve /metrics (Prometheus text format); off, /metrics answers 404.",
    )
    metrics_token: SecretStr = Field(
        default=SecretStr(""),
        description="Bearer token /metrics requires; setting it also turns /metrics on.",
    )
    twilio_account_sid: str = Field(
        default="",
        validation_alias=AliasChoices("TWILIO_ACCOUNT_SID", "IVR_TWILIO_ACCOUNT_SID"),
        description="Twilio account SID (TWILIO_ACCOUNT_SID).",
    )
    twilio_auth_token: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=AliasChoices("TWILIO_AUTH_TOKEN", "IVR_TWILIO_AUTH_TOKEN"),
        description="Twilio auth token (TWILIO_AUTH_TOKEN); signs webhooks.",
    )

    @field_validator("webhook_receivers")
    @classmethod
    def _receiver_names(cls, receivers: list[Receiver]) -> list[Receiver]:
        return unique_names(receivers)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.instance_dir / 'ivr.sqlite3').resolve()}"

    @property
    def max_talk(self) -> timedelta:
        return timedelta(minutes=self.max_talk_minutes)

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token.get_secret_value())

    @property
    def email_off_reason(self) -> str:
        """Why no e-mail is sent (in French, for the admin); empty when e-mail is on."""
        if not self.smtp_host:
            return "aucun serveur d'envoi n'est configuré (IVR_SMTP_HOST)"
        if "@" not in self.smtp_from:
            return "l'expéditeur des e-mails n'est pas configuré (IVR_SMTP_FROM)"
        return ""

    @property
    def email_enabled(self) -> bool:
        return not self.email_off_reason

    @property
    def embedded_demo(self) -> bool:
        """No IVR_DATABASE_URL and no Twilio credentials (neither the SID nor the token)."""
        twilio = self.twilio_account_sid or self.twilio_auth_token.get_secret_value()
        return not self.database_url and not twilio

    def deployment_problems(self) -> list[str]:
        """Why this service must not start; empty when it may."""
        problems = []
        key = self.secret_key.get_secret_value()
        if key and len(key) < MIN_SECRET_KEY_LENGTH:
            problems.append(f"IVR_SECRET_KEY is too short: {KEY_ADVICE}")
        if self.public_url and not self.public_url.lower().startswith(("http://", "https://")):
            problems.append("IVR_PUBLIC_URL must start with https:// (or http://)")
        if self.embedded_demo:
            return problems
        if not key:
            problems.append(
                "IVR_SECRET_KEY is not set: outside the embedded demo the admin sessions "
                f"are signed with a key of the deployment's own, {KEY_ADVICE}"
            )
        if not self.public_url and not self.trust_proxy:
            problems.append(
                "neither IVR_PUBLIC_URL nor IVR_TRUST_PROXY is set: Twilio signatures would "
                "be checked against the Host header each client sends, so a request signed "
                "for another deployment with the same auth token would be accepted; set "
                "IVR_PUBLIC_URL to the base URL Twilio calls (or IVR_TRUST_PROXY=true behind "
                "one reverse proxy that sets X-Forwarded-Proto and X-Forwarded-Host)"
            )
        return problems

    def check(self) -> None:
        """Raise SettingsRefused, naming every setting at fault, unless the service may start."""
        problems = self.deployment_problems()
        if problems:
            raise SettingsRefused(problems)


MIN_SECRET_KEY_LENGTH = 32
KEY_ADVICE = (
    f"at least {MIN_SECRET_KEY_LENGTH} random characters, "
    "e.g. `python3 -c 'import secrets; print(secrets.token_hex(32))'`"
)
SECRET_KEY_FILE = "secret-key"


class SettingsRefused(RuntimeError):
    """The settings do not let the service start; the message says what to set."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"- {p}" for p in problems)
        super().__init__(f"the service cannot start with these settings:\n{lines}")


def instance_secret(instance_dir: Path, name: str, nbytes: int = 32) -> str:
    """A random secret kept in `instance_dir/name`, made on first use (the embedded demo).

    Written whole before it appears (a private temporary file, then a hard
    link), so workers starting together all read the one that won.
    """
    path = Path(instance_dir) / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{name}-")  # mode 0600
        try:
            with os.fdopen(handle, "w", encoding="ascii") as out:
                out.write(secrets.token_hex(nbytes))
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return path.read_text(encoding="ascii").strip()


def session_secret(settings: Settings) -> str:
    """IVR_SECRET_KEY; in the embedded demo without it, the instance folder's random key."""
    key = settings.secret_key.get_secret_value()
    return key or instance_secret(settings.instance_dir, SECRET_KEY_FILE)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
