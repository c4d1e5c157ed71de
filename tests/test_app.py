"""The application factory, settings and clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from ivr.app import create_app
from ivr.settings import Settings
from schedules import clock


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
