"""Closing or merging a ticket cancels its callbacks; the dispatcher never dials a closed one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from callbook.db import database, session_scope
from callbook.history.audit import AuditEntry
from callbook.tickets import Callback, Ticket, TicketHistory, dispatch
from callbook.tickets import actions as ticket_actions
from ivr.app import create_app
from ivr.jobs.callbacks import Dispatcher
from ivr.runtime import install_demo_if_empty
from ivr.twilio_adapter import TwilioGateway
from schedules import clock
from tests.admin_data import phone
from tests.api_helpers import token_for
from tests.conftest import IvrRunner, deployment_settings, paris
from tests.fake_twilio import FakeTwilioHttp

NOW = paris(2026, 12, 26, 10, 0)
MONDAY = paris(2026, 12, 28, 10, 0)  # both callbacks are due (09:00 and 09:30)


@pytest.fixture
def app(migrated_database: str, tmp_path: Path) -> Iterator[Flask]:
    """The service with Twilio credentials (outbound calls on), the demo configuration."""
    settings = deployment_settings(
        instance_dir=tmp_path / "instance",
        database_url=migrated_database,
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="test-auth-token",  # type: ignore[arg-type]
        public_url="https://ivr.example.org",
        outbound_rate=1,
    )
    app = create_app(settings)
    app.config["TESTING"] = True
    with session_scope(app) as session:
        install_demo_if_empty(session)
    yield app
    database(app).engine.dispose()


@pytest.fixture(autouse=True)
def boxing_day() -> Iterator[None]:
    with clock.frozen_at(NOW):
        yield


@pytest.fixture
def tickets(app: Flask) -> list[str]:
    """Two voicemails of Christmas Eve evening, each with a callback asked for Monday."""
    phone(app, paris(2026, 12, 24, 17, 45), "+33465719901", "2", "1")  # Auvergne, 09:30
    phone(app, paris(2026, 12, 24, 18, 10), "+33612345678", "1", "1")  # hotline, 09:00
    with session_scope(app) as session:
        return [t.number for t in session.scalars(select(Ticket).order_by(Ticket.id))]


def callback_of(app: Flask, number: str) -> int:
    """The id of the one callback scheduled for ticket `number`."""
    with session_scope(app) as session:
        return session.scalars(
            select(Callback.id).join(Ticket, Ticket.id == Callback.ticket_id)
            .where(Ticket.number == number)
        ).one()  # fmt: skip


def statuses(app: Flask) -> dict[int, str]:
    with session_scope(app) as session:
        return {c.id: c.status for c in session.scalars(select(Callback))}


def audit(app: Flask, entity: str) -> list[tuple[str, str, str, Any, Any]]:
    with session_scope(app) as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == entity).order_by(AuditEntry.id)
        )
        return [(e.actor, e.entity_id, e.action, e.before, e.after) for e in rows]


def history(app: Flask, number: str) -> list[tuple[str, str, dict[str, Any]]]:
    with session_scope(app) as session:
        rows = session.scalars(
            select(TicketHistory).join(Ticket).where(Ticket.number == number)
            .order_by(TicketHistory.id)
        )  # fmt: skip
        return [(h.actor, h.action, h.detail) for h in rows]


def dispatch_monday(app: Flask, between: Callable[[], None] = lambda: None) -> FakeTwilioHttp:
    """One dispatcher pass on Monday; `between` runs between two claimed callbacks."""
    http = FakeTwilioHttp()
    dispatcher = Dispatcher(
        app,
        gateway=lambda s: TwilioGateway(s, http_client=http),
        sleep=lambda _seconds: between(),  # the pause of the outbound rate
    )
    with clock.frozen_at(MONDAY):
        dispatcher.run_once()
    return http


def dialled(http: FakeTwilioHttp) -> list[int]:
    return [int(parse_qs(urlparse(str(c["data"]["Url"])).query)["cb"][0]) for c in http.calls]


def test_closing_through_the_api_cancels_the_callback(
    app: Flask, client: FlaskClient, tickets: list[str]
) -> None:
    auth = token_for(app, "technician", "theo")
    closed, still_open = tickets
    cb, other = callback_of(app, closed), callback_of(app, still_open)
    answer = client.patch(f"/api/v1/tickets/{closed}", json={"status": "closed"}, headers=auth)
    assert answer.status_code == 200 and answer.json["status"] == "closed"
    assert statuses(app) == {cb: "canceled", other: "pending"}
    due = paris(2026, 12, 28, 9, 30).astimezone(UTC).isoformat()
    assert ("theo", str(cb), "cancel",
            {"status": "pending", "due_at": due, "ticket_status": "new"},
            {"status": "canceled", "due_at": due, "ticket_status": "closed"},
            ) in audit(app, "callback")  # fmt: skip
    cancel = ("callback.canceled", {"callback": cb, "by": "theo", "ticket": "closed"})
    assert cancel in [(action, detail) for _actor, action, detail in history(app, closed)]
    detail = client.get(f"/api/v1/tickets/{closed}", headers=auth).json
    assert [c["status"] for c in detail["callbacks"]] == ["canceled"]
    # Started again by hand: refused while the ticket is closed.
    again = client.post(f"/api/v1/callbacks/{cb}/call-now", headers=auth)
    assert again.status_code == 409 and f"le ticket {closed} est clos" in again.json["error"]
    # Monday: the dispatcher calls the other caller only.
    assert dialled(dispatch_monday(app)) == [other]
    assert statuses(app)[cb] == "canceled"


def test_resolving_on_the_admin_page_cancels_the_callback(
    app: Flask, login_as: Callable[[str], FlaskClient], tickets: list[str]
) -> None:
    tech = login_as("technician")
    resolved, still_open = tickets
    cb, other = callback_of(app, resolved), callback_of(app, still_open)
    form = {"csrf_token": tech.csrf_token, "status": "resolved"}  # type: ignore[attr-defined]
    assert tech.post(f"/admin/tickets/{resolved}/status", data=form).status_code == 302
    assert statuses(app) == {cb: "canceled", other: "pending"}
    assert [(actor, entity_id, action) for actor, entity_id, action, *_ in audit(app, "callback")
            ] == [("technician1", str(cb), "cancel")]  # fmt: skip
    page = tech.get(f"/admin/tickets/{resolved}").get_data(as_text=True)
    assert "Rappel annulé" in page  # the history's callback.canceled, in words
    # Reopened, the ticket's callback can be started again by hand.
    form["status"] = "in_progress"
    assert tech.post(f"/admin/tickets/{resolved}/status", data=form).status_code == 302
    assert statuses(app)[cb] == "canceled"  # reopening calls nobody by itself
    start = {"csrf_token": tech.csrf_token}  # type: ignore[attr-defined]
    assert tech.post(f"/admin/callbacks/{cb}/call-now", data=start).status_code == 302
    assert statuses(app)[cb] == "pending"


def test_merging_cancels_the_callbacks_of_the_merged_ticket(
    app: Flask, client: FlaskClient, tickets: list[str]
) -> None:
    source, target = tickets
    cb, kept = callback_of(app, source), callback_of(app, target)
    with session_scope(app) as session:
        # A dispatcher claimed the source's callback at 09:00 and died before dialling it.
        assert dispatch.claim(session, cb, "host:1:dead", paris(2026, 12, 28, 9, 0))
    auth = token_for(app, "technician", "theo")
    merged = client.post(f"/api/v1/tickets/{source}/merge", json={"into": target}, headers=auth)
    assert merged.status_code == 200
    assert statuses(app) == {cb: "canceled", kept: "pending"}
    cancel = [a for a in audit(app, "callback") if a[:3] == ("theo", str(cb), "cancel")]
    assert [(a[3]["status"], a[4]["ticket_status"]) for a in cancel] == [("claimed", "closed")]
    assert ("theo", "merge") in {(a[0], a[2]) for a in audit(app, "ticket")}
    # The dead claim, stale at 10:00, is not re-queued: the target's caller is called once.
    assert dialled(dispatch_monday(app)) == [kept]


def test_merging_into_a_ticket_without_callback_keeps_it_for_the_caller(
    app: Flask, client: FlaskClient, tickets: list[str]
) -> None:
    phone(app, paris(2026, 12, 24, 18, 30), "+33612340000", "1")  # hangs up: no callback
    with session_scope(app) as session:
        bare = session.scalars(select(Ticket.number).order_by(Ticket.id.desc())).first()
    assert bare is not None
    source = tickets[0]
    cb = callback_of(app, source)
    auth = token_for(app, "technician", "theo")
    merged = client.post(f"/api/v1/tickets/{source}/merge", json={"into": bare}, headers=auth)
    assert merged.status_code == 200
    assert callback_of(app, bare) == cb and statuses(app)[cb] == "pending"
    assert cb in dialled(dispatch_monday(app))


def test_dispatcher_rechecks_the_ticket_before_dialling(app: Flask, tickets: list[str]) -> None:
    first, second = callback_of(app, tickets[1]), callback_of(app, tickets[0])  # 09:00, 09:30

    def close_claimed_ticket() -> None:
        """Someone closes the ticket of the claimed callback straight in the database."""
        with session_scope(app) as session:
            session.execute(
                update(Ticket)
                .where(Ticket.id == select(Callback.ticket_id).where(Callback.id == second)
                       .scalar_subquery())
                .values(status="closed")
            )  # fmt: skip
            assert session.get(Callback, second).status == "claimed"  # type: ignore[union-attr]

    http = dispatch_monday(app, between=close_claimed_ticket)
    assert dialled(http) == [first]
    assert statuses(app) == {first: "dialing", second: "canceled"}
    assert ("dispatcher", "callback.canceled",
            {"callback": second, "by": "dispatcher", "ticket": "closed"}) in history(
        app, tickets[0]
    )  # fmt: skip


def test_dialling_starts_only_for_a_claimed_callback_of_an_open_ticket(
    app: Flask, tickets: list[str]
) -> None:
    cb = callback_of(app, tickets[0])
    with session_scope(app) as session:
        assert dispatch.claim(session, cb, "host:1", MONDAY)
    with session_scope(app) as session:
        callback = session.get(Callback, cb)
        assert callback is not None
        session.execute(update(Ticket).where(Ticket.id == callback.ticket_id).values(
            status="resolved"))  # fmt: skip
        assert not dispatch.start_dialing(session, callback, MONDAY)
        assert (callback.status, callback.attempts) == ("claimed", 0)
        session.execute(update(Ticket).where(Ticket.id == callback.ticket_id).values(status="new"))
        assert dispatch.start_dialing(session, callback, MONDAY)
        assert (callback.status, callback.attempts) == ("dialing", 1)


def test_a_dispatcher_starting_during_a_closure_waits_for_it_and_dials_nobody(
    app: Flask, tickets: list[str]
) -> None:
    cb = callback_of(app, tickets[0])
    with session_scope(app) as session:
        assert dispatch.claim(session, cb, "host:1", MONDAY)
    locked, started = threading.Event(), threading.Event()

    def close_ticket() -> None:
        with session_scope(app) as session:
            ticket = session.scalars(select(Ticket).where(Ticket.number == tickets[0])).one()
            ticket_actions.set_status(session, ticket, "closed", actor="theo", now=NOW)
            locked.set()  # its callback is cancelled, not yet committed
            # The dispatcher is blocked meanwhile: `started` stays unset. (Polled with
            # sleeps: under libfaketime, as CI runs the suite a year ahead, a timed
            # Event.wait that runs out never returns.)
            for _ in range(50):
                if started.is_set():
                    break
                time.sleep(0.01)

    closing = threading.Thread(target=close_ticket)
    closing.start()
    assert locked.wait(timeout=10)
    with session_scope(app) as session:
        callback = session.get(Callback, cb)
        assert callback is not None
        dialled_anyway = dispatch.start_dialing(session, callback, MONDAY)
        started.set()
    closing.join()
    assert not dialled_anyway
    assert statuses(app)[cb] == "canceled"


def test_command_line_cancellations_are_audited(
    app: Flask, runner: IvrRunner, tickets: list[str]
) -> None:
    cb = callback_of(app, tickets[0])
    assert runner.invoke("callbacks", "cancel", str(cb)).exit_code == 0
    assert [a[:3] for a in audit(app, "callback")] == [("cli:tester", str(cb), "cancel")]
    with session_scope(app) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == tickets[0])).one()
        ticket.status = "closed"
    refused = runner.invoke("callbacks", "call-now", str(cb))
    assert refused.exit_code == 1
    assert f"ticket {tickets[0]} is closed; reopen it first" in refused.output
