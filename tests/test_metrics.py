"""/metrics: off by default, the token, the gauges against seeded rows, the webhooks' histogram."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from callbook.calls.models import Call
from callbook.db import database, session_scope
from ivr.app import create_app
from ivr.runtime import install_demo_if_empty
from schedules import clock
from tests.conftest import deployment_settings, paris
from tests.test_contact_centre import add_wait
from tests.voice_client import Twilio

NOW = paris(2026, 3, 2, 10, 0)  # a Monday, the hotline open
TOKEN = "scrape-token-0123456789"


def metrics_app(database_url: str, tmp_path: Path, **values: Any) -> Flask:
    app = create_app(
        deployment_settings(instance_dir=tmp_path / "instance", database_url=database_url, **values)
    )
    with session_scope(app) as session:
        install_demo_if_empty(session)
    return app


@pytest.fixture
def on_app(migrated_database: str, tmp_path: Path) -> Iterator[Flask]:
    app = metrics_app(migrated_database, tmp_path, metrics=True)
    yield app
    database(app).engine.dispose()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_off_by_default(app: Flask) -> None:
    assert app.test_client().get("/metrics").status_code == 404


def test_the_gauges_are_the_rows_of_the_book(on_app: Flask) -> None:
    add_wait(on_app, "W1", NOW - timedelta(seconds=95), "waiting")
    add_wait(on_app, "W2", NOW - timedelta(seconds=30), "waiting")
    add_wait(on_app, "W3", NOW - timedelta(seconds=12), "waiting", team="auvergne")
    add_wait(on_app, "B1", NOW - timedelta(hours=1), "bridged", 15, answered=True)
    add_wait(on_app, "B2", NOW - timedelta(hours=1), "bridged", 45, answered=True)
    add_wait(on_app, "A1", NOW - timedelta(minutes=50), "abandoned", 70)
    add_wait(on_app, "Y1", NOW - timedelta(days=1), "abandoned", 70)  # yesterday
    with session_scope(on_app) as session:  # a member's line ringing now
        session.add(ringing_call("R1", NOW, "+33199002001"))
    with clock.frozen_at(NOW):
        response = on_app.test_client().get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    values = samples(response.get_data(as_text=True))
    assert values[("ivr_queue_waiting_callers", (("team", "hotline"),))] == 2
    assert values[("ivr_queue_waiting_callers", (("team", "auvergne"),))] == 1
    assert values[("ivr_queue_longest_wait_seconds", (("team", "hotline"),))] == 95
    assert values[("ivr_hotline_members", ())] == 2
    assert values[("ivr_hotline_members_busy", ())] == 1
    assert values[("ivr_calls_offered_today", (("team", "hotline"),))] == 5
    assert values[("ivr_calls_answered_today", (("team", "hotline"),))] == 2
    assert values[("ivr_calls_abandoned_today", (("team", "hotline"),))] == 1
    # 15 s is within 20 s; 45 s is not; 3 settled (two still wait)
    assert values[("ivr_service_level_today", (("team", "hotline"),))] == pytest.approx(1 / 3)


def ringing_call(sid: str, now: datetime, number: str) -> Call:
    return Call(
        call_sid=sid,
        from_number="+33612345678",
        started_at=now - timedelta(seconds=5),
        ringing_until=now + timedelta(seconds=25),
        updated_at=now,
        route="hotline",
        state={},
        dialing=[number],
    )


def test_the_token_is_required_when_set(migrated_database: str, tmp_path: Path) -> None:
    app = metrics_app(migrated_database, tmp_path, metrics_token=TOKEN)
    client = app.test_client()
    try:
        assert client.get("/metrics").status_code == 401
        wrong = {"Authorization": "Bearer scrape-token-0123456788"}
        assert client.get("/metrics", headers=wrong).status_code == 401
        basic = {"Authorization": f"Basic {TOKEN}"}
        assert client.get("/metrics", headers=basic).status_code == 401
        with clock.frozen_at(NOW):
            good = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert good.status_code == 200
        assert samples(good.get_data(as_text=True))[("ivr_hotline_members", ())] == 2
    finally:
        database(app).engine.dispose()


def test_the_histogram_counts_each_webhook_by_endpoint(on_app: Flask) -> None:
    twilio = Twilio(on_app)
    with clock.frozen_at(NOW):
        twilio.step("/voice/incoming")
        twilio.post("/voice/incoming", signed=False)  # refused (403), still timed
        on_app.test_client().post("/voice/nowhere")
        values = samples(on_app.test_client().get("/metrics").get_data(as_text=True))
    count = values[("ivr_webhook_duration_seconds_count", (("endpoint", "voice.incoming"),))]
    assert count == 2
    assert values[("ivr_webhook_duration_seconds_count", (("endpoint", "not_found"),))] == 1
    total = values[("ivr_webhook_duration_seconds_sum", (("endpoint", "voice.incoming"),))]
    assert 0 < total < 10
    inf = (("endpoint", "voice.incoming"), ("le", "+Inf"))
    assert values[("ivr_webhook_duration_seconds_bucket", inf)] == 2
    # The admin pages and the API are not webhooks.
    assert not any(
        labels and dict(labels).get("endpoint", "").startswith(("admin", "api"))
        for _, labels in values
    )


WORKER = """
import sys
from pathlib import Path
from ivr.app import create_app
from ivr.settings import Settings
from schedules import clock
from tests.conftest import paris
from tests.voice_client import Twilio

app = create_app(Settings(instance_dir=Path(sys.argv[1]), metrics=True))
with clock.frozen_at(paris(2026, 3, 2, 10, 0)):
    if sys.argv[2] == "call":
        Twilio(app).step("/voice/incoming")
    else:
        print(app.test_client().get("/metrics").get_data(as_text=True))
"""


def test_several_workers_add_up_in_multiprocess_mode(tmp_path: Path) -> None:
    """Each process is a worker: two take a call, a third answers the scrape with both."""
    import os
    import subprocess
    import sys

    from ivr.metrics import gunicorn_options

    shared = tmp_path / "prometheus"
    shared.mkdir()
    (shared / "histogram_1.db").write_bytes(b"a previous run")
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(shared)
    try:
        assert "child_exit" in gunicorn_options()  # what `ivr serve` gives gunicorn
    finally:
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]
    assert list(shared.iterdir()) == []  # the previous run's files are gone
    root = Path(__file__).resolve().parent.parent
    instance = str(tmp_path / "instance")

    def run(what: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", WORKER, instance, what],
            cwd=root, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return done.stdout

    run("call")
    run("call")
    values = samples(run("scrape"))
    assert values[("ivr_webhook_duration_seconds_count", (("endpoint", "voice.incoming"),))] == 2
    assert values[("ivr_hotline_members", ())] == 2


def test_the_service_level_setting_reaches_the_xlsx_sheet(
    migrated_database: str, tmp_path: Path
) -> None:
    import io

    from openpyxl import load_workbook

    from tests.api_helpers import token_for

    app = metrics_app(migrated_database, tmp_path, service_level_seconds=45)
    try:
        add_wait(app, "B1", NOW - timedelta(hours=1), "bridged", 40, answered=True)
        add_wait(app, "B2", NOW - timedelta(hours=1), "bridged", 50, answered=True)
        answer = app.test_client().get(
            "/api/v1/exports?from=2026-03-02&to=2026-03-02&format=xlsx",
            headers=token_for(app, "viewer"),
        )
        assert answer.status_code == 200
        sheet = load_workbook(io.BytesIO(answer.data), read_only=True)["Centre d'appels"]
        rows = [row for row in sheet.iter_rows(values_only=True) if row and row[0]]
        level = next(row for row in rows if str(row[0]).startswith("Niveau de service"))
        assert level[:2] == ("Niveau de service (répondus en 45 s ou moins)", 0.5)
    finally:
        database(app).engine.dispose()
