"""`ivr call`, the console phone: the same webhooks, what the caller hears."""

from __future__ import annotations

from collections import deque

import pytest
from flask import Flask, Response
from sqlalchemy import select

from callbook.book import Call
from callbook.db import session_scope
from ivr.console import ConsoleCall, ProtocolError, Script
from tests.conftest import IvrRunner


def test_christmas_morning_emergency_reaches_the_technician(runner: IvrRunner, app: Flask) -> None:
    result = runner.invoke("call", "--at", "2026-12-25 09:30", "--press", "9", "--dial", "answer")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Vous avez choisi : urgence sur la plateforme hébergée." in out
    assert "Le service est actuellement fermé : jour férié, Noël." in out
    assert "Nous vous mettons en relation avec le technicien d'astreinte." in out
    assert "sonne +33199004003" in out  # chloe is on duty that week
    assert "(au technicien) < Appel d'astreinte de 06 12 34 56 78" in out
    with session_scope(app) as session:
        call = session.scalars(select(Call)).one()
        assert (call.route, call.answered_by, call.status) == ("oncall", "chloe", "completed")


def test_christmas_eve_evening_voicemail(runner: IvrRunner) -> None:
    result = runner.invoke(
        "call", "--at", "2026-12-24 17:45", "--from", "04 65 71 99 01", "--press", "2",
        "--press", "1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # A known contact: no department asked, the Auvergne structure is closed.
    assert "Tapez le numéro de votre département" not in result.output
    assert "Il rouvrira lundi 28 décembre à 9 h 30." in result.output
    assert "(bip) message de 20 s" in result.output
    assert "Votre demande est enregistrée sous le numéro" in result.output
    assert "Nous vous rappellerons lundi 28 décembre à 9 h 30." in result.output
    assert "raccroché par le service" in result.output


def test_bad_moment_is_a_usage_error(runner: IvrRunner) -> None:
    result = runner.invoke("call", "--at", "Noël", "--press", "1")
    assert result.exit_code == 2
    assert "not a date and time" in result.output


def test_protocol_error_is_reported() -> None:
    broken = Flask("broken")
    broken.config["IVR_SETTINGS"] = type("S", (), {"public_url": ""})()
    broken.extensions["twilio_token"] = "t"
    broken.add_url_rule("/voice/incoming", "x", lambda: Response("oops", 500), methods=["POST"])
    phone = ConsoleCall(broken, "+33612345678", "+33199001000", Script(deque(["1"])), echo=print)
    with pytest.raises(ProtocolError, match="HTTP 500"):
        phone.run()
