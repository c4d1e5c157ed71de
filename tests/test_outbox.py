"""The outbox: one row per recipient and event, delivered at least once by the scheduler."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from callbook.db import session_scope
from callbook.history.audit import AuditEntry
from callbook.outbox import NewMessage, OutboxMessage, enqueue, store
from ivr.jobs.outbox import Deliverer
from schedules import clock
from tests.conftest import paris
from tests.fake_twilio import FakeTwilioHttp, fake_twilio
from tests.smtp_server import SmtpServer

T0 = paris(2026, 12, 7, 10, 0)


def mail(key: str, to: str = "alice@example.org") -> NewMessage:
    text = f"Bonjour, ticket {key}."
    return NewMessage(kind="email", topic="test", recipient=to, dedupe_key=key,
                      subject=f"Ticket {key}", payload={"text": text})  # fmt: skip


def rows(app: Flask) -> list[OutboxMessage]:
    with session_scope(app) as session:
        found = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        session.expunge_all()
        return found


def test_enqueue_is_idempotent_on_the_dedupe_key(mail_app: Flask) -> None:
    with clock.frozen_at(T0), session_scope(mail_app) as session:
        assert enqueue(session, [mail("a"), mail("a"), mail("b")], T0) == 2
        assert enqueue(session, [mail("a")], T0) == 0
        # The caller's transaction is intact: it goes on and commits.
        assert enqueue(session, [mail("c")], T0) == 1
    assert [r.dedupe_key for r in rows(mail_app)] == ["a", "b", "c"]


def test_a_rolled_back_cause_leaves_no_message(mail_app: Flask) -> None:
    try:
        with session_scope(mail_app) as session:
            enqueue(session, [mail("a")], T0)
            raise RuntimeError("the webhook failed")
    except RuntimeError:
        pass
    assert rows(mail_app) == []


def test_messages_are_delivered_once_each(mail_app: Flask, smtp: SmtpServer) -> None:
    with session_scope(mail_app) as session:
        enqueue(session, [mail("a"), mail("b", "bruno@example.org")], T0)
    with clock.frozen_at(T0 + timedelta(seconds=5)):
        report = Deliverer(mail_app).run_once()
        assert report.sent == 2
        assert not Deliverer(mail_app).run_once()  # nothing left: a second run sends nothing
    assert sorted(m["To"] for m in smtp.inbox.messages) == ["alice@example.org",
                                                            "bruno@example.org"]  # fmt: skip
    first = smtp.inbox.to("alice@example.org")[0]
    assert first["Subject"] == "Ticket a"
    assert first["From"] == "Assistance <assistance@example.org>"
    assert re.fullmatch(r"<outbox-\d+-[0-9a-f]{16}@example\.org>", first["Message-ID"])
    assert "Bonjour, ticket a." in first.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert all(
        r.status == "sent" and r.sent_at == T0 + timedelta(seconds=5) for r in rows(mail_app)
    )


def test_batches_go_over_several_connections_each_message_once(
    mail_app: Flask, smtp: SmtpServer
) -> None:
    with session_scope(mail_app) as session:
        enqueue(session, [mail(f"m{i}", f"r{i}@example.org") for i in range(47)], T0)
    with clock.frozen_at(T0):
        report = Deliverer(mail_app, batch=4, connections=3).run_once()
    assert (report.sent, report.retried, report.failed) == (47, 0, 0)
    assert sorted(m["To"] for m in smtp.inbox.messages) == sorted(
        f"r{i}@example.org" for i in range(47)
    )
    assert {r.status for r in rows(mail_app)} == {"sent"}


def test_nothing_is_lost_while_the_mail_server_is_down(mail_app: Flask, smtp: SmtpServer) -> None:
    with session_scope(mail_app) as session:
        enqueue(session, [mail("a"), mail("b")], T0)
    smtp.stop()
    with clock.frozen_at(T0):
        report = Deliverer(mail_app).run_once()
    assert (report.sent, report.retried) == (0, 2)
    waiting = rows(mail_app)
    assert [r.status for r in waiting] == ["pending", "pending"]
    assert "injoignable" in waiting[0].last_error
    assert waiting[0].next_attempt_at == T0 + timedelta(minutes=1)
    with clock.frozen_at(T0 + timedelta(seconds=30)):
        assert not Deliverer(mail_app).run_once()  # not due yet: backoff
    smtp.start()
    with clock.frozen_at(T0 + timedelta(minutes=1)):
        assert Deliverer(mail_app).run_once().sent == 2
    assert len(smtp.inbox.messages) == 2
    assert [r.status for r in rows(mail_app)] == ["sent", "sent"]


def test_a_scheduler_restart_sends_no_duplicate(mail_app: Flask, smtp: SmtpServer) -> None:
    with session_scope(mail_app) as session:
        enqueue(session, [mail("a"), mail("b")], T0)
    with clock.frozen_at(T0):
        Deliverer(mail_app, worker="first").run_once()
    # A new scheduler process: what was sent is not sent again.
    with clock.frozen_at(T0 + timedelta(minutes=30)):
        assert not Deliverer(mail_app, worker="second").run_once()
    assert len(smtp.inbox.messages) == 2


def test_a_claim_left_by_a_dead_scheduler_is_sent_once_more(
    mail_app: Flask, smtp: SmtpServer
) -> None:
    with session_scope(mail_app) as session:
        enqueue(session, [mail("a")], T0)
    with session_scope(mail_app) as session:  # claimed, then the process died
        assert len(store.claim_due(session, "dead:1", T0, kinds=["email"])) == 1
    with clock.frozen_at(T0 + timedelta(minutes=5)):
        assert not Deliverer(mail_app).run_once()  # still claimed: not sent twice at once
    assert smtp.inbox.messages == []
    with clock.frozen_at(T0 + store.STALE_CLAIM + timedelta(seconds=1)):
        report = Deliverer(mail_app).run_once()
    assert (report.released, report.sent) == (1, 1)
    assert len(smtp.inbox.messages) == 1
    [row] = rows(mail_app)
    assert (row.status, row.attempts) == ("sent", 2)


def test_a_late_answer_of_a_released_claim_changes_nothing(mail_app: Flask) -> None:
    with session_scope(mail_app) as session:
        enqueue(session, [mail("a")], T0)
    with session_scope(mail_app) as session:
        [row] = store.claim_due(session, "old:1", T0, kinds=["email"])
        message_id = row.id
    with session_scope(mail_app) as session:
        assert store.release_stale(session, T0 + store.STALE_CLAIM * 2) == 1
        assert store.claim_due(session, "new:1", T0 + store.STALE_CLAIM * 2, kinds=["email"])
    with session_scope(mail_app) as session:
        assert store.mark_sent(session, [message_id], "old:1", T0) == 0
        assert store.mark_sent(session, [message_id], "new:1", T0) == 1


def test_failed_after_max_attempts_with_the_error(mail_app: Flask, smtp: SmtpServer) -> None:
    smtp.inbox.refused.add("nobody@example.org")
    smtp.stop()
    with session_scope(mail_app) as session:
        enqueue(session, [mail("a")], T0)
    now = T0
    for attempt in (1, 2):
        with clock.frozen_at(now):
            assert Deliverer(mail_app).run_once().retried == 1
        now += store.backoff(attempt)
    with clock.frozen_at(now):
        assert Deliverer(mail_app).run_once().failed == 1  # IVR_OUTBOX_MAX_ATTEMPTS=3
    [row] = rows(mail_app)
    assert (row.status, row.attempts) == ("failed", 3)
    assert "injoignable" in row.last_error
    smtp.start()
    with clock.frozen_at(now + timedelta(days=1)):
        assert not Deliverer(mail_app).run_once()  # failed stays failed
        with session_scope(mail_app) as session:
            assert store.resend(session, row.id, clock.now()) is not None
        assert Deliverer(mail_app).run_once().sent == 1
    assert len(smtp.inbox.messages) == 1


def test_a_refused_recipient_fails_at_once(mail_app: Flask, smtp: SmtpServer) -> None:
    smtp.inbox.refused.add("nobody@example.org")
    with session_scope(mail_app) as session:
        enqueue(session, [mail("a", "nobody@example.org"), mail("b")], T0)
    with clock.frozen_at(T0):
        report = Deliverer(mail_app).run_once()
    assert (report.failed, report.sent) == (1, 1)
    failed = [r for r in rows(mail_app) if r.status == "failed"]
    assert failed[0].recipient == "nobody@example.org"
    assert "550" in failed[0].last_error


def test_settled_messages_are_deleted_past_the_retention(mail_app: Flask) -> None:
    retention = timedelta(days=mail_app.config["IVR_SETTINGS"].retention_days)
    with session_scope(mail_app) as session:
        enqueue(session, [mail("old")], T0)
    with clock.frozen_at(T0):
        deliverer = Deliverer(mail_app)
        assert deliverer.run_once().sent == 1
    with session_scope(mail_app) as session:
        enqueue(session, [mail("waiting")], T0 + retention)
    later = T0 + retention + timedelta(hours=2)
    email_off = mail_app.config["IVR_SETTINGS"].model_copy(update={"smtp_host": ""})
    mail_app.config["IVR_SETTINGS"] = email_off  # the waiting one stays pending
    with clock.frozen_at(later):
        report = Deliverer(mail_app).run_once()
    assert report.purged == 1
    assert [r.dedupe_key for r in rows(mail_app)] == ["waiting"]


def test_a_message_that_cannot_be_written_fails_alone(mail_app: Flask, smtp: SmtpServer) -> None:
    with session_scope(mail_app) as session:
        enqueue(session, [mail("a", "bad\naddress@example.org"), mail("b")], T0)
    with clock.frozen_at(T0):
        report = Deliverer(mail_app).run_once()
    assert (report.sent, report.failed) == (1, 1)
    failed = next(r for r in rows(mail_app) if r.status == "failed")
    assert "impossible à écrire" in failed.last_error
    assert [m["To"] for m in smtp.inbox.messages] == ["alice@example.org"]


def test_backoff_doubles_up_to_a_cap() -> None:
    assert [store.backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert store.backoff(30) == store.BACKOFF_CAP


# -- the admin's "Envois" page ----------------------------------------------------


@pytest.fixture
def app(mail_app: Flask) -> Flask:
    return mail_app


def test_the_envois_page_lists_failures_and_renvoyer_sends_again(
    mail_app: Flask, smtp: SmtpServer, login_as: Callable[[str], FlaskClient]
) -> None:
    smtp.inbox.refused.add("nobody@example.org")
    with session_scope(mail_app) as session:
        enqueue(session, [mail("a"), mail("b", "nobody@example.org"), mail("c")], T0)
    with clock.frozen_at(T0):
        Deliverer(mail_app).run_once()
    with session_scope(mail_app) as session:
        enqueue(session, [mail("d")], T0 + timedelta(hours=1))
    admin = login_as("admin")
    with clock.frozen_at(T0 + timedelta(minutes=5)):
        page = admin.get("/admin/outbox").get_data(as_text=True)
        assert "Envois" in page and "nobody@example.org" in page and "550" in page
        assert "Renvoyer</button>" in page and "alice@example.org" not in page
        waiting = admin.get("/admin/outbox?view=waiting").get_data(as_text=True)
        assert "Ticket d" in waiting and "En attente" in waiting
        sent = admin.get("/admin/outbox?view=sent").get_data(as_text=True)
        assert "Ticket a" in sent and "Ticket c" in sent and "Renvoyer</button>" not in sent
        assert "Les e-mails sont désactivés" not in page
    [failed] = [r for r in rows(mail_app) if r.status == "failed"]
    smtp.inbox.refused.clear()  # the mailbox was created meanwhile
    # Without the CSRF token: refused, nothing changes.
    assert admin.post(f"/admin/outbox/{failed.id}/resend").status_code == 400
    with clock.frozen_at(T0 + timedelta(minutes=6)):
        answer = admin.post(f"/admin/outbox/{failed.id}/resend",
                            data={"csrf_token": admin.csrf_token})  # type: ignore[attr-defined]  # fmt: skip
        assert answer.status_code == 302
        assert admin.post(f"/admin/outbox/{failed.id}/resend",
                          data={"csrf_token": admin.csrf_token}).status_code == 404  # type: ignore[attr-defined]  # fmt: skip
        Deliverer(mail_app).run_once()
    assert len(smtp.inbox.to("nobody@example.org")) == 1
    with session_scope(mail_app) as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.entity == "outbox")).all()
        assert (entry.actor, entry.action, entry.entity_id) == ("admin1", "resend", str(failed.id))
    assert "Renvoyer</button>" not in admin.get("/admin/outbox").get_data(as_text=True)


def test_the_envois_page_says_when_email_is_off(
    mail_app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    mail_app.config["IVR_SETTINGS"] = mail_app.config["IVR_SETTINGS"].model_copy(
        update={"smtp_host": ""}
    )
    page = login_as("admin").get("/admin/outbox").get_data(as_text=True)
    assert "Les e-mails sont désactivés" in page and "IVR_SMTP_HOST" in page
    assert login_as("technician").get("/admin/outbox").status_code == 403


# -- SMS through Twilio (its REST API faked at the HTTP edge) ---------------------


def sms(
    key: str, to: str = "+33612345678", body: str = "Votre rappel est prévu demain."
) -> NewMessage:
    return NewMessage(kind="sms", topic="queue.callback", recipient=to, dedupe_key=key,
                      payload={"body": body})  # fmt: skip


def test_sms_rows_are_sent_through_twilio(mail_app: Flask) -> None:
    http = FakeTwilioHttp(failures=[503])
    fake_twilio(mail_app, http)
    with session_scope(mail_app) as session:
        enqueue(session, [sms("s1"), sms("s2", "+33698765432", "Deuxième")], T0)
    with clock.frozen_at(T0):
        report = Deliverer(mail_app).run_once()
    assert (report.sent, report.retried) == (1, 1)  # one try each: the outbox retries
    with clock.frozen_at(T0 + timedelta(minutes=1)):
        assert Deliverer(mail_app).run_once().sent == 1
    sent = sorted((m["data"]["To"], m["data"]["Body"]) for m in http.messages[1:])
    assert sent == [
        ("+33612345678", "Votre rappel est prévu demain."),
        ("+33698765432", "Deuxième"),
    ]
    assert {m["data"]["From"] for m in http.messages} == {"+33199001000"}  # the service's number
    assert {r.status for r in rows(mail_app)} == {"sent"}


def test_a_refused_sms_fails_at_once_and_sms_wait_without_twilio(mail_app: Flask) -> None:
    http = FakeTwilioHttp(failures=[400])
    fake_twilio(mail_app, http)
    with session_scope(mail_app) as session:
        enqueue(session, [sms("s1", "+33100000000")], T0)
    with clock.frozen_at(T0):
        assert Deliverer(mail_app).run_once().failed == 1
    [row] = rows(mail_app)
    assert row.status == "failed" and "400" in row.last_error
    mail_app.config["IVR_SETTINGS"] = mail_app.config["IVR_SETTINGS"].model_copy(
        update={"twilio_account_sid": ""}
    )
    with session_scope(mail_app) as session:
        enqueue(session, [sms("s2")], T0)
    with clock.frozen_at(T0):
        report = Deliverer(mail_app).run_once()
    assert not report and "sms" in report.off
    assert [r.status for r in rows(mail_app)] == ["failed", "pending"]
