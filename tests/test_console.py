"""`ivr call`, the console phone: the same webhooks, what the caller hears."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask, Response, request
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from callbook.calls.models import Call
from callbook.db import session_scope
from ivr.cli.console import KEY_SECONDS, ConsoleCall, ProtocolError, Script, speech_seconds
from schedules import clock
from tests.conftest import IvrRunner, paris


def test_christmas_morning_emergency_reaches_the_technician(runner: IvrRunner, app: Flask) -> None:
    result = runner.invoke("call", "--at", "2026-12-25 09:30", "--press", "9", "--dial", "answer")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Vous appelez pour une urgence sur la plateforme hébergée." in out
    assert "Le service est actuellement fermé : jour férié, Noël." in out
    assert "Nous vous mettons en relation avec le technicien d'astreinte." in out
    assert "sonne +33199004003" in out  # chloe is on duty that week
    assert "(au technicien) < Appel d'astreinte : 06 12 34 56 78" in out
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


def test_without_an_active_configuration_the_call_is_refused_with_a_message(
    make_runner: Callable[[Path, str], IvrRunner], migrated_database: str, tmp_path: Path
) -> None:
    result = make_runner(tmp_path / "instance", migrated_database).invoke("call", "--press", "1")
    assert result.exit_code == 1
    assert "no configuration revision is active" in result.output


def test_protocol_error_is_reported() -> None:
    broken = Flask("broken")
    broken.config["IVR_SETTINGS"] = type("S", (), {"public_url": ""})()
    broken.extensions["twilio_token"] = "t"
    broken.add_url_rule("/voice/incoming", "x", lambda: Response("oops", 500), methods=["POST"])
    phone = ConsoleCall(broken, "+33612345678", "+33199001000", Script(deque(["1"])), echo=print)
    with pytest.raises(ProtocolError, match="HTTP 500"):
        phone.run()


# -- like Twilio: one SID per dialled leg, a truthful end, action URLs as given -----------


def requests_seen(app: Flask) -> list[tuple[str, dict[str, str]]]:
    """(path, form) of every request the service receives (action URLs may add a query)."""
    seen: list[tuple[str, dict[str, str]]] = []

    @app.before_request
    def keep() -> None:
        seen.append((request.path, request.form.to_dict()))

    return seen


def play(app: Flask, at: datetime, caller: str, script: Script) -> tuple[ConsoleCall, list[str]]:
    lines: list[str] = []
    call = ConsoleCall(app, caller, "+33199001000", script, echo=lines.append)
    with clock.frozen_at(at):
        call.run()
    return call, lines


def the_call(app: Flask) -> Call:
    with session_scope(app) as session:
        found = session.scalars(select(Call)).one()
        session.expunge(found)
        return found


def test_each_dialled_leg_has_its_own_dial_call_sid(app: Flask) -> None:
    seen = requests_seen(app)
    # Tuesday 10:00, a known Auvergne contact: the referents do not answer, the hotline does.
    script = Script(deque(["2"]), deque(["no-answer", "answer"]))
    call, _ = play(app, paris(2026, 12, 1, 10, 0), "+33465719901", script)
    results = [form for path, form in seen if path == "/voice/dial-result"]
    assert [r["DialCallStatus"] for r in results] == ["no-answer", "completed"]
    legs = [r["DialCallSid"] for r in results]
    assert len(set(legs)) == 2 and call.call_sid not in legs
    assert all(re.fullmatch(r"CA[0-9a-f]{32}", leg) for leg in legs)
    assert legs == call.dial_sids
    assert [r["DialCallDuration"] for r in results] == ["0", str(script.talk_seconds)]


def test_the_whisper_leg_is_the_dialled_leg(app: Flask) -> None:
    seen = requests_seen(app)
    call, _ = play(app, paris(2026, 12, 25, 9, 30), "+33612345678", Script(deque(["9"]),
                   deque(["answer"])))  # fmt: skip
    [whisper] = [form for path, form in seen if path == "/voice/whisper"]
    [result] = [form for path, form in seen if path == "/voice/dial-result"]
    assert whisper["CallSid"] == result["DialCallSid"] != call.call_sid
    assert whisper["ParentCallSid"] == call.call_sid
    assert (whisper["To"], whisper["Direction"]) == ("+33199004003", "outbound-dial")
    # The conversation and the technician's screening are the dialled leg's duration.
    assert int(result["DialCallDuration"]) > call.script.talk_seconds


def test_a_caller_hanging_up_at_the_menu_ends_completed_with_what_was_heard(app: Flask) -> None:
    seen = requests_seen(app)
    call, lines = play(app, paris(2026, 12, 1, 10, 0), "+33612345678", Script())
    heard = sum(speech_seconds(text) for text in call.heard)  # the welcome and the menu
    [status] = [form for path, form in seen if path == "/voice/status"]
    assert (status["CallStatus"], status["CallDuration"]) == ("completed", str(heard))
    assert lines[-1] == f"fin de l'appel : fin du scénario ({heard} s)"
    ended = the_call(app)
    assert (ended.status, ended.duration) == ("completed", heard) and call.seconds == heard


def test_the_call_lasts_what_was_simulated(app: Flask) -> None:
    seen = requests_seen(app)
    # Tuesday 11:00: an incident, the hotline does not answer; the caller waits in the
    # line through one announcement (30 s of silence after it) and hangs up.
    script = Script(deque(["1"]), deque(["no-answer"]))
    call, lines = play(app, paris(2026, 12, 1, 11, 0), "+33611223344", script)
    [ring] = [int(m[1]) for line in lines if (m := re.search(r"sonne .* \((\d+) s\)", line))]
    lasted = sum(speech_seconds(text) for text in call.heard) + KEY_SECONDS + ring + 30
    [status] = [form for path, form in seen if path == "/voice/status"]
    assert (status["CallStatus"], status["CallDuration"]) == ("completed", str(lasted))
    [left] = [form for path, form in seen if path == "/voice/queue/done"]
    assert left["QueueResult"] == "hangup" and int(left["QueueTime"]) > 30  # with the place said
    assert the_call(app).duration == lasted == call.seconds


def test_a_caller_hanging_up_on_the_terminal_ends_the_call(app: Flask) -> None:
    seen = requests_seen(app)

    def hang_up(_question: str) -> str:
        raise EOFError

    phone = ConsoleCall(app, "+33612345678", "+33199001000", Script(interactive=True),
                        echo=lambda _line: None, ask=hang_up)  # fmt: skip
    with clock.frozen_at(paris(2026, 12, 1, 10, 0)):
        assert phone.run() == "raccroché par l'appelant"
    heard = sum(speech_seconds(text) for text in phone.heard)
    [status] = [form for path, form in seen if path == "/voice/status"]
    assert (status["CallStatus"], status["CallDuration"]) == ("completed", str(heard))
    assert the_call(app).status == "completed"


def test_action_urls_are_followed_as_given_and_signed_whole() -> None:
    """Relative, absolute and query-string action URLs; a silent Gather falls through."""
    twilio = Flask("twilio-like")
    twilio.config["IVR_SETTINGS"] = type("S", (), {"public_url": "https://ivr.example.org"})()
    twilio.extensions["twilio_token"] = "secret"
    visits: list[str] = []
    documents = {
        "incoming": '<Gather action="menu?turn=1"><Say>Un</Say></Gather>',
        "menu": "<Gather><Say>Deux</Say></Gather><Redirect>silent?from=menu</Redirect>",
        "silent": '<Gather action="/voice/away?turn=2" actionOnEmptyResult="true"></Gather>',
        "away": "<Redirect>https://ivr.example.org/voice/last?turn=3&amp;x=a%20b</Redirect>",
        "last": "<Hangup/>",
    }

    def answer(page: str) -> Response:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not RequestValidator("secret").validate(request.url, request.form, signature):
            return Response("bad signature", 403)
        visits.append(request.full_path.removesuffix("?"))
        return Response(f"<Response>{documents.get(page, '')}</Response>", mimetype="text/xml")

    twilio.add_url_rule("/voice/<page>", "page", answer, methods=["POST"])
    script = Script(deque(["4", "", ""]))  # a key, then silence twice
    phone = ConsoleCall(twilio, "+33612345678", "+33199001000", script, echo=lambda _l: None)
    assert phone.run() == "raccroché par le service"
    assert visits == [
        "/voice/incoming",
        "/voice/menu?turn=1",  # relative to the document's URL
        "/voice/silent?from=menu",  # silence: Twilio goes on with the next verb
        "/voice/away?turn=2",  # silence, but actionOnEmptyResult: the action
        "/voice/last?turn=3&x=a%20b",  # absolute, query string as given
        "/voice/status",
    ]


def test_all_busy_the_caller_hears_their_place_in_the_line(runner: IvrRunner, app: Flask) -> None:
    result = runner.invoke("call", "--at", "2026-12-01 10:00", "--press", "1", "--dial", "busy")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Tous nos conseillers sont en ligne." in out
    assert "file d'attente « hotline », place 1" in out
    assert "Vous êtes le premier dans la file d'attente." in out
    assert "Temps d'attente estimé : environ 2 minutes." in out  # 4 min a call, 2 members
    assert "raccroché en attente" in out
    from callbook.queue import QueueEntry

    with session_scope(app) as session:
        entry = session.scalars(select(QueueEntry)).one()
        assert (entry.team, entry.position, entry.outcome) == ("hotline", 1, "abandoned")


def test_all_busy_the_caller_presses_1_to_be_called_back_keeping_their_place(
    runner: IvrRunner, app: Flask
) -> None:
    result = runner.invoke(
        "call", "--at", "2026-12-01 10:00", "--press", "1", "--dial", "busy", "--press", "1"
    )
    assert result.exit_code == 0, result.output
    assert "Nous vous rappellerons dès qu'un conseiller sera libre." in result.output
    assert "Merci de votre appel. Au revoir." in result.output
