"""The application factory, settings and clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine

from ivr.app import create_app
from ivr.settings import Settings, SettingsRefused
from schedules import clock
from tests.conftest import SECRET_KEY, IvrRunner


def test_factory_builds_independent_apps(tmp_path: Path) -> None:
    first = create_app(Settings(instance_dir=tmp_path / "a"))
    second = create_app(Settings(instance_dir=tmp_path / "b"))
    assert first is not second
    assert (tmp_path / "a").is_dir()
    response = first.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_default_database_is_sqlite_in_instance(tmp_path: Path) -> None:
    settings = Settings(instance_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path.resolve()}/ivr.sqlite3"
    assert not settings.twilio_configured


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVR_PORT", "9090")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "secret")
    settings = Settings()
    assert settings.port == 9090
    assert settings.twilio_configured
    monkeypatch.setenv("IVR_PORT", "not-a-port")
    with pytest.raises(ValueError, match="port"):
        Settings()


def test_clock_reads_the_system_clock_as_aware_utc() -> None:
    with time_machine.travel(datetime(2026, 12, 24, 16, 45, tzinfo=UTC), tick=False):
        assert clock.now() == datetime(2026, 12, 24, 16, 45, tzinfo=UTC)
        assert clock.now().tzinfo is UTC


# -- what a deployment must set ------------------------------------------------------

TWILIO = {"twilio_account_sid": "AC" + "0" * 32, "twilio_auth_token": "a-token"}


@pytest.mark.parametrize(
    "deployed",
    [{"database_url": "sqlite:///elsewhere.sqlite3"}, TWILIO],
    ids=["explicit database", "twilio credentials"],
)
def test_a_deployment_refuses_to_start_without_a_secret_key(
    tmp_path: Path, deployed: dict[str, Any]
) -> None:
    settings = Settings(instance_dir=tmp_path, public_url="https://ivr.example.org", **deployed)
    assert not settings.embedded_demo
    with pytest.raises(SettingsRefused, match="IVR_SECRET_KEY is not set") as refused:
        create_app(settings)
    assert refused.value.problems == [refused.value.problems[0]]  # the only one
    assert not (tmp_path / "secret-key").exists()
    short = Settings(instance_dir=tmp_path, secret_key="0123456789", public_url="https://x.org")
    with pytest.raises(SettingsRefused, match="IVR_SECRET_KEY is too short: at least 32"):
        create_app(short)


def test_a_deployment_refuses_to_start_without_its_public_url(tmp_path: Path) -> None:
    settings = Settings(instance_dir=tmp_path, secret_key=SECRET_KEY, **TWILIO)
    with pytest.raises(SettingsRefused) as refused:
        create_app(settings)
    message = str(refused.value)
    assert "neither IVR_PUBLIC_URL nor IVR_TRUST_PROXY is set" in message
    assert "signed for another deployment with the same auth token" in message
    behind_proxy = Settings(
        instance_dir=tmp_path, secret_key=SECRET_KEY, trust_proxy=True, **TWILIO
    )
    assert create_app(behind_proxy).config["SECRET_KEY"] == SECRET_KEY
    no_scheme = Settings(instance_dir=tmp_path, public_url="ivr.example.org")
    with pytest.raises(SettingsRefused, match="IVR_PUBLIC_URL must start with https://"):
        create_app(no_scheme)


def test_both_problems_are_said_at_once(tmp_path: Path) -> None:
    with pytest.raises(SettingsRefused) as refused:
        create_app(Settings(instance_dir=tmp_path, database_url="sqlite:///x.sqlite3"))
    assert [p.split(" ")[0] for p in refused.value.problems] == ["IVR_SECRET_KEY", "neither"]


def test_serve_and_scheduler_say_what_is_missing(migrated_database: str, tmp_path: Path) -> None:
    runner = IvrRunner(tmp_path / "instance", migrated_database)
    unset = {"IVR_SECRET_KEY": None, "IVR_PUBLIC_URL": None}
    for command in (["users", "list"], ["scheduler"], ["serve", "--no-scheduler"]):
        result = runner.invoke(*command, env=unset)  # an exception would fail here
        assert result.exit_code == 1, result.output
        assert "IVR_SECRET_KEY is not set" in result.output
        assert "neither IVR_PUBLIC_URL nor IVR_TRUST_PROXY is set" in result.output
        assert "Traceback" not in result.output


def test_the_demo_makes_and_keeps_its_own_secret_key(tmp_path: Path) -> None:
    settings = Settings(instance_dir=tmp_path / "a")
    assert settings.embedded_demo and not settings.secret_key.get_secret_value()
    first = create_app(settings)
    key_file = tmp_path / "a" / "secret-key"
    key = first.config["SECRET_KEY"]
    assert key == key_file.read_text(encoding="ascii").strip()
    assert len(key) == 64 and key != "dev-only-change-me"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert create_app(settings).config["SECRET_KEY"] == key  # kept across restarts
    assert create_app(Settings(instance_dir=tmp_path / "b")).config["SECRET_KEY"] != key
    given = Settings(instance_dir=tmp_path / "c", secret_key=SECRET_KEY)
    assert create_app(given).config["SECRET_KEY"] == SECRET_KEY
    assert not (tmp_path / "c" / "secret-key").exists()
