"""One typed settings object, read from the environment (prefix IVR_)."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
        default=SecretStr("dev-only-change-me"), description="Flask session signing key."
    )
    outbound_rate: float = Field(
        default=1.0,
        ge=0,
        le=100,
        description="Outbound calls per second placed by the dispatcher (0: no limit).",
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
