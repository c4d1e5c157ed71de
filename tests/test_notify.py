"""E-mails to people: new tickets, deadlines, urgent alerts, escalation; one per recipient."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
import yaml
from flask import Flask
from sqlalchemy import event, select

from callbook.accounts.users import User
from callbook.db import database, session_scope
from callbook.outbox import OutboxMessage, enqueue
from callbook.tickets import Callback, Ticket
from ivr.config import demo_yaml_text, load_yaml_text
from ivr.config.revisions import save_revision
from ivr.flows.state import CallState
from ivr.flows.voicemail import Recording
from ivr.jobs.callbacks import Dispatcher
from ivr.jobs.deadlines import check_deadlines
from ivr.jobs.outbox import Deliverer
from ivr.notify import messages
from ivr.runtime import active_config
from ivr.twilio_adapter import TwilioGateway
from ivr.voice import aftercall
from schedules import clock
from tests.conftest import paris
from tests.fake_twilio import FakeTwilioHttp
from tests.smtp_server import SmtpServer
from tests.voice_client import Twilio, new_sid

PAUL = "+33465719901"  # a directory contact of the Auvergne structure, with an e-mail
PROMISED_DELAY = re.compile(
    r"\b\d+\s*(h|heures?|jours?|minutes?|min)\b|délai|sous \d|dans les \d|d'ici", re.IGNORECASE
)


@pytest.fixture
def clock_at() -> Iterator[Any]:
    with ExitStack() as stack:
        yield lambda moment: stack.enter_context(clock.frozen_at(moment))


@pytest.fixture
def app(mail_app: Flask) -> Flask:
    """The demo, with e-mails for the Auvergne referents and the on-call technicians."""
    demo = yaml.safe_load(demo_yaml_text())
    emails = {"auvergne-durand": "sophie.durand@example.org",
              "auvergne-roux": "marc.roux@example.org"}  # fmt: skip
    for referent in demo["referents"]:
        if referent["id"] in emails:
            referent["email"] = emails[referent["id"]]
    for technician in demo["technicians"]:
        technician["email"] = f"{technician['id']}@example.org"
    with session_scope(mail_app) as session:
        save_revision(session, load_yaml_text(yaml.safe_dump(demo)), author="test")
    return mail_app


def deliver(app: Flask, at: datetime | None = None) -> None:
    """Run the outbox job at `at` (default: the clock frozen by the test)."""
    if at is None:
        Deliverer(app).run_once()
        return
    with clock.frozen_at(at):
        Deliverer(app).run_once()


def body(message: EmailMessage, kind: str = "plain") -> str:
    part = message.get_body((kind,))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def open_ticket(
    app: Flask, at: datetime, *, motive: str, structure: str = "auvergne",
    caller: str = PAUL, urgent: bool = False,
) -> str:  # fmt: skip
    """A voicemail left at `at`, through the sink the Record webhook uses."""
    _, doc = active_config(app).get()
    state = CallState(call_sid=new_sid(), caller=caller, structure=structure, motive=motive,
                      urgent=urgent, contact="Paul Morel" if caller == PAUL else "")  # fmt: skip
    recording = Recording(new_sid("RE"), "https://api.twilio.com/R", 20)
    with clock.frozen_at(at), session_scope(app) as session:
        sink = aftercall.voicemail_sink(session, doc, at, app.config["IVR_SETTINGS"])
        number = sink(state, recording)
    assert number is not None
    return number


def queued(app: Flask) -> list[OutboxMessage]:
    with session_scope(app) as session:
        rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        session.expunge_all()
        return rows


def test_a_voicemail_acknowledges_the_caller_and_tells_the_hotline(
    app: Flask, smtp: SmtpServer, clock_at: Any
) -> None:
    # Christmas Eve 17:45, after hours: a known caller leaves an incident message.
    clock_at(paris(2026, 12, 24, 17, 45))
    phone = Twilio(app, caller=PAUL)
    phone.step("/voice/incoming")
    phone.step("/voice/menu", {"Digits": "1"})
    phone.step("/voice/voicemail", {"RecordingSid": new_sid("RE"), "RecordingDuration": "25",
                                    "RecordingUrl": "https://api.twilio.com/R"})  # fmt: skip
    with session_scope(app) as session:
        ticket = session.scalars(select(Ticket)).one()
        number, ticket_id = ticket.number, ticket.id
    assert smtp.inbox.messages == []  # the webhook never waits on delivery
    assert {(r.topic, r.recipient) for r in queued(app)} == {
        ("ticket.created", "hotline@example.org"),
        ("ticket.ack", "paul.morel@example.org"),
    }
    clock_at(paris(2026, 12, 24, 17, 46))
    deliver(app)
    [notice] = smtp.inbox.to("hotline@example.org")
    assert notice["Subject"] == f"Nouveau ticket {number} : incident technique"
    text = body(notice)
    assert "Paul Morel (+33465719901)" in text and "la structure Auvergne" in text
    assert f"http://localhost/admin/tickets/{number}/recordings/" in text
    assert f'href="http://localhost/admin/tickets/{number}"' in body(notice, "html")
    [ack] = smtp.inbox.to("paul.morel@example.org")
    assert ack["Subject"] == f"Votre demande {number} est enregistrée"
    for part in (body(ack), body(ack, "html")):
        assert number in part and "incident technique" in part
        assert not PROMISED_DELAY.search(part), PROMISED_DELAY.search(part)
    assert "l'assistance nationale" in body(ack)
    # The same event again (a replayed spool entry): no second e-mail.
    _, doc = active_config(app).get()
    with session_scope(app) as session:
        again = messages.ticket_opened(
            doc, app.config["IVR_SETTINGS"], session.get(Ticket, ticket_id)
        )  # type: ignore[arg-type]
        assert enqueue(session, again, clock.now()) == 0
    deliver(app)
    assert len(smtp.inbox.messages) == 2


def test_usage_questions_go_to_the_structures_referents(app: Flask, smtp: SmtpServer) -> None:
    number = open_ticket(app, paris(2026, 12, 7, 18, 0), motive="usage")
    deliver(app, paris(2026, 12, 7, 18, 1))
    notices = [m for m in smtp.inbox.messages if m["Subject"].startswith("Nouveau ticket")]
    assert sorted(m["To"] for m in notices) == ["marc.roux@example.org",
                                                "sophie.durand@example.org"]  # fmt: skip
    [ack] = smtp.inbox.to("paul.morel@example.org")
    assert "vos référents (la structure Auvergne)" in body(ack)
    assert all(number in m["Subject"] for m in smtp.inbox.messages)
    # Another structure's usage question, whose referent has no e-mail: the hotline.
    open_ticket(app, paris(2026, 12, 7, 18, 5), motive="usage", structure="moselle",
                caller="+33612345678")  # fmt: skip
    deliver(app, paris(2026, 12, 7, 18, 6))
    assert len(smtp.inbox.to("hotline@example.org")) == 1


def test_the_transcription_is_in_the_notice_and_escaped(app: Flask, smtp: SmtpServer) -> None:
    number = open_ticket(app, paris(2026, 12, 7, 18, 0), motive="incident", caller="+33612345678")
    with session_scope(app) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        ticket.messages[0].transcription = "Le logiciel <script>plante</script> au démarrage"
    deliver(app, paris(2026, 12, 7, 18, 1))
    [notice] = smtp.inbox.to("hotline@example.org")
    assert "Le logiciel <script>plante</script> au démarrage" in body(notice)
    assert "&lt;script&gt;plante&lt;/script&gt;" in body(notice, "html")
    assert "<script>" not in body(notice, "html")


def test_no_email_is_queued_when_email_is_off(app: Flask) -> None:
    app.config["IVR_SETTINGS"] = app.config["IVR_SETTINGS"].model_copy(update={"smtp_host": ""})
    open_ticket(app, paris(2026, 12, 7, 18, 0), motive="incident")
    assert queued(app) == []


def test_deadline_warning_then_overrun_to_the_assignee(app: Flask, smtp: SmtpServer) -> None:
    settings = app.config["IVR_SETTINGS"]
    # Friday 16:00: an urgent ticket (4 business hours: due Monday 11:30).
    number = open_ticket(app, paris(2026, 12, 4, 16, 0), motive="emergency", caller="+33612345678")
    with session_scope(app) as session:
        session.add(User(username="bruno", display_name="Bruno Leroy", role="technician",
                         password_hash="-", active=True, technician="bruno",
                         created_at=clock.now(), updated_at=clock.now()))  # fmt: skip
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        ticket.assignee = "bruno"
        assert ticket.deadline_at == paris(2026, 12, 7, 11, 30)
    _, doc = active_config(app).get()
    for at, warned in ((paris(2026, 12, 7, 10, 29), 0), (paris(2026, 12, 7, 10, 30), 1),
                       (paris(2026, 12, 7, 10, 45), 0)):  # fmt: skip
        with clock.frozen_at(at), session_scope(app) as session:
            assert check_deadlines(session, doc, at, settings).warned == warned
    with clock.frozen_at(paris(2026, 12, 7, 10, 46)):
        deliver(app)
    [warning] = [m for m in smtp.inbox.to("bruno@example.org") if "proche" in m["Subject"]]
    assert warning["Subject"] == f"Ticket {number} : échéance proche"
    assert "07/12/2026 à 11:30" in body(warning) and "il reste 1 h 00 en heures ouvrées" in body(
        warning
    )
    at = paris(2026, 12, 7, 11, 30)
    with clock.frozen_at(at), session_scope(app) as session:
        assert check_deadlines(session, doc, at, settings).overdue == 1
    with clock.frozen_at(at):
        deliver(app)
    [overrun] = [m for m in smtp.inbox.to("bruno@example.org") if "dépassée" in m["Subject"]]
    assert f"Le ticket {number} a dépassé son échéance" in body(overrun)


def test_deadline_of_an_unassigned_ticket_goes_to_the_hotline(app: Flask, smtp: SmtpServer) -> None:
    number = open_ticket(app, paris(2026, 12, 4, 16, 0), motive="emergency", caller="+33612345678")
    deliver(app, paris(2026, 12, 4, 16, 1))
    smtp.inbox.messages.clear()
    _, doc = active_config(app).get()
    at = paris(2026, 12, 7, 11, 30)
    with clock.frozen_at(at), session_scope(app) as session:
        check_deadlines(session, doc, at, app.config["IVR_SETTINGS"])
    with clock.frozen_at(at):
        deliver(app)
    assert [m["Subject"] for m in smtp.inbox.to("hotline@example.org")] == [
        f"Ticket {number} : échéance dépassée"
    ]


def test_the_alert_goes_down_the_oncall_list_two_minutes_apart(
    app: Flask, smtp: SmtpServer, clock_at: Any
) -> None:
    # Christmas morning: an urgent voicemail alerts the technicians on duty.
    start = paris(2026, 12, 25, 9, 30)
    open_ticket(app, start, motive="emergency", caller="+33612345678", urgent=True)
    http = FakeTwilioHttp()
    dispatcher = Dispatcher(app, gateway=lambda s: TwilioGateway(s, http_client=http))
    agent = Twilio(app, caller="+33199001000", to="+33199004003")
    dialled: list[tuple[datetime, str]] = []
    now = start
    for _ in range(6):
        clock_at(now)
        if dispatcher.run_once().placed:
            call = http.calls[-1]
            dialled.append((now, str(call["data"]["To"])))
            cb = re.search(r"cb=(\d+)", str(call["data"]["Url"])).group(1)  # type: ignore[union-attr]
            agent.post(f"/voice/outbound/status?cb={cb}", {"CallStatus": "no-answer"},
                       call_sid=str(call["sid"]))  # fmt: skip
        now += timedelta(minutes=1)
    # Chloé, Alice, then Bruno: the third technician 4 minutes after the first.
    assert dialled == [(start, "+33199004003"), (start + timedelta(minutes=2), "+33199004001"),
                       (start + timedelta(minutes=4), "+33199004002")]  # fmt: skip
    with session_scope(app) as session:
        [alert] = session.scalars(select(Callback)).all()
        assert (alert.status, alert.attempts) == ("failed", 3)
    # And by e-mail, once, to the technicians on duty, with the SMS and the call.
    deliver(app)
    alerts = [m for m in smtp.inbox.messages if m["Subject"].startswith("[URGENT] Astreinte")]
    assert sorted(m["To"] for m in alerts) == ["alice@example.org", "bruno@example.org",
                                               "chloe@example.org"]  # fmt: skip


def test_escalation_emails_render_in_french() -> None:
    rows = messages.escalation_emails(
        service="l'assistance du logiciel Gestion", number="412345",
        structure="la structure Auvergne", motive="question sur l'utilisation du logiciel",
        note="Le module <Paie> refuse l'export & plante.", escalated_by="Sophie Durand",
        referent_email="sophie.durand@example.org", national_email="national@example.org",
        ticket_link="https://ivr.example.org/admin/tickets/412345",
    )  # fmt: skip
    confirmation, national = (messages.preview(row) for row in rows)
    assert confirmation[0] == "Ticket 412345 transmis à l'assistance nationale"
    assert "a bien été transmis à l'assistance nationale" in confirmation[1]
    assert "Le module <Paie> refuse l'export & plante." in confirmation[1]
    assert "Le module &lt;Paie&gt; refuse l&#39;export &amp; plante." in confirmation[2]
    assert national[0] == ("Ticket 412345 transmis par la structure Auvergne : "
                           "question sur l'utilisation du logiciel")  # fmt: skip
    assert "Ticket 412345 transmis par Sophie Durand (la structure Auvergne)" in national[1]
    assert 'href="https://ivr.example.org/admin/tickets/412345"' in national[2]
    assert [r.recipient for r in rows] == ["sophie.durand@example.org", "national@example.org"]
    assert not any(PROMISED_DELAY.search(part) for part in (*confirmation, *national))


def test_a_new_ticket_costs_the_webhook_one_insert(app: Flask) -> None:
    """The e-mails of a new ticket add one statement to the Record webhook's transaction."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "config_" not in statement:  # the configuration's freshness check, not the sink
            statements.append(statement)

    engine = database(app).engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        settings = app.config["IVR_SETTINGS"]
        app.config["IVR_SETTINGS"] = settings.model_copy(update={"smtp_host": ""})
        open_ticket(app, paris(2026, 12, 7, 18, 0), motive="incident", caller="+33612345678")
        without = list(statements)
        statements.clear()
        app.config["IVR_SETTINGS"] = settings
        open_ticket(app, paris(2026, 12, 7, 18, 0), motive="incident")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    extra = [s for s in statements if "outbox" in s]
    assert len(statements) == len(without) + 1
    assert len(extra) == 1 and extra[0].startswith("INSERT INTO outbox")
    assert len(queued(app)) == 2  # the hotline's notice and Paul's acknowledgement


def test_an_escalation_confirms_to_the_referents_and_tells_the_national_team(
    app: Flask, smtp: SmtpServer, login_as: Any, clock_at: Any
) -> None:
    clock_at(paris(2026, 12, 8, 10, 0))
    number = open_ticket(app, paris(2026, 12, 8, 9, 0), motive="usage")
    smtp.inbox.messages.clear()
    with session_scope(app) as session:
        session.execute(OutboxMessage.__table__.delete())
    referent = login_as("referent", "auvergne")
    note = "L'usager ne peut plus valider ses orientations depuis la mise à jour de lundi."
    answer = referent.post(
        f"/admin/tickets/{number}/escalate",
        data={"note": note, "csrf_token": referent.csrf_token},
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    assert {(r.topic, r.recipient) for r in queued(app)} == {
        ("escalation.confirmation", "sophie.durand@example.org"),
        ("escalation.confirmation", "marc.roux@example.org"),
        ("escalation.national", "hotline@example.org"),
    }
    deliver(app)
    [notice] = smtp.inbox.to("hotline@example.org")
    assert number in notice["Subject"] and "Auvergne" in notice["Subject"]
    assert note in body(notice) and "Referent Test" in body(notice)
    [confirmation] = smtp.inbox.to("sophie.durand@example.org")
    assert confirmation["Subject"] == f"Ticket {number} transmis à l'assistance nationale"
    # A refused escalation (already national) queues nothing more.
    again = referent.post(
        f"/admin/tickets/{number}/escalate",
        data={"note": note + " Encore.", "csrf_token": referent.csrf_token},
    )
    assert again.status_code == 400 and "déjà au niveau national" in again.get_data(as_text=True)
    assert len(queued(app)) == 3
