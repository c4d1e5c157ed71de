"""The call book itself: idempotent writes, multi-motive calls, technicians' corrections,
callbacks and tickets in the report, the sweep and the retention purge, schema in sync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask
from pydantic import SecretStr
from sqlalchemy import func, select

from callbook import calls
from callbook.calls import statuses as call_callbacks
from callbook.calls import steps as call_steps
from callbook.calls.annotate import UnknownCall, UnknownMotive, set_motives, set_note
from callbook.calls.models import Call, CallEvent, CallMotive
from callbook.db import Base, database, session_scope
from callbook.outbox import OutboxMessage
from callbook.queue import QueueEntry
from callbook.reports import build_report
from callbook.reports.retention import purge_older_than, sweep_open_calls
from callbook.tickets import Callback, Ticket, TicketHistory, TicketMessage
from ivr.jobs.scheduler import jobs
from schedules import clock
from tests.conftest import PARIS, IvrRunner, paris
from tests.test_callbook_reports import MARCH, add_call, march_book

NOW = paris(2026, 12, 1, 10, 0)


CALL = calls.CallFacts("CA1", "inbound", "+33612345678", "+33199001000")
"""What a webhook says of its call."""


def status(value: str, duration: int = 0) -> call_callbacks.StatusReport:
    return call_callbacks.StatusReport(CALL, value, duration)


def choice(motive: str, family: str, channel: str = "keypad") -> calls.Event:
    return calls.Event("menu.choice", {"motive": motive, "family": family, "channel": channel})


def step(*events: calls.Event) -> call_steps.StepRecord:
    return call_steps.StepRecord(state={"step": "x"}, events=list(events), twiml="<Response/>")


def the_call(app: Flask, sid: str = "CA1") -> tuple[Call, list[str], list[tuple[str, str]]]:
    with session_scope(app) as session:
        call = session.scalars(select(Call).where(Call.call_sid == sid)).one()
        kinds = [e.kind for e in call.events]
        motives = [(m.motive, m.channel) for m in call.motives]
        session.expunge(call)
        return call, kinds, motives


# -- idempotent writes -------------------------------------------------------------------


def test_status_before_the_call_then_the_call_then_duplicates(app: Flask) -> None:
    """Reordered and duplicated callbacks: one row, closed once, each event once."""
    with session_scope(app) as session:  # the final status arrives first
        call_callbacks.record_status(session, status("completed", 95), NOW)
    with session_scope(app) as session:
        call_steps.save_step(session, CALL, step(choice("incident", "incident")), NOW, "k1")
    with session_scope(app) as session:
        call_callbacks.record_status(session, status("completed", 95), NOW)
        call_callbacks.record_status(session, status("in-progress"), NOW + timedelta(seconds=5))
        recording = call_callbacks.RecordingReport(CALL, "RE1", "https://x/RE1", 20)
        call_callbacks.record_callback(session, recording, NOW)
        call_callbacks.record_callback(session, recording, NOW)
    call, kinds, motives = the_call(app)
    assert (call.status, call.duration) == ("completed", 95)
    assert call.ended_at == NOW
    assert kinds == ["status", "menu.choice", "status", "recording"]
    assert motives == [("incident", "keypad")]
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 1


def test_a_step_read_before_another_write_is_still_written_in_order(app: Flask) -> None:
    """The call read by a step (outside the write lock) changed before its write:
    the write notices, reads the call again and appends after the new events."""
    with session_scope(app) as session:
        call_steps.save_step(session, CALL, step(choice("incident", "incident")), NOW, "k1")
    with session_scope(app) as session:
        seen = calls.find_call(session, "CA1")
    assert seen is not None and seen.last_seq == 1
    with session_scope(app) as session:  # the caller hangs up meanwhile
        call_callbacks.record_status(session, status("completed", 20), NOW)
    with session_scope(app) as session:
        route = calls.Event("route", {"route": "hotline"})
        answer = call_steps.save_step(session, CALL, step(route), NOW, "k2", seen=seen)
    assert answer == "<Response/>"
    call, kinds, _ = the_call(app)
    assert kinds == ["menu.choice", "status", "route"]
    assert (call.route, call.last_request_key, call.status) == ("hotline", "k2", "completed")
    with session_scope(app) as session:  # the same request once more: nothing twice
        call_steps.save_step(session, CALL, step(route), NOW, "k2", seen=seen)
    assert the_call(app)[1] == ["menu.choice", "status", "route"]


def test_a_call_with_two_motives(app: Flask) -> None:
    with session_scope(app) as session:
        call_steps.save_step(session, CALL, step(choice("incident", "incident")), NOW, "k1")
        call_steps.save_step(
            session,
            CALL,
            step(choice("usage", "usage", "speech"), calls.Event("route", {"route": "hotline"})),
            NOW,
            "k2",
        )
        # The same choice again (a menu replayed) adds nothing.
        call_steps.save_step(session, CALL, step(choice("incident", "incident")), NOW, "k3")
        call_callbacks.record_status(session, status("completed", 40), NOW)
    call, _, motives = the_call(app)
    assert motives == [("incident", "keypad"), ("usage", "speech")]
    assert (call.route, call.in_hours) == ("hotline", True)
    with session_scope(app) as session:
        report = build_report(session, NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    assert (report.calls, report.call_motives, report.history_lines) == (1, 2, 2)


def test_unanswered_transfer_ends_in_voicemail(app: Flask) -> None:
    with session_scope(app) as session:
        events = [calls.Event("route", {"route": "referent"}), calls.Event("voicemail.offered")]
        call_steps.save_step(session, CALL, step(*events), NOW, "k1")
    call, _, _ = the_call(app)
    assert (call.route, call.in_hours) == ("voicemail", True)


# -- technicians complete the book ---------------------------------------------------------


def test_technician_adds_and_corrects_motives(app: Flask) -> None:
    march_book(app)
    with session_scope(app) as session:
        set_motives(session, "C1", [("account", "account")], author="ana", now=NOW)
        set_motives(session, "C1", [("account", "account")], author="ana", now=NOW)  # no-op
    _, kinds, motives = the_call(app, "C1")
    assert motives == [("usage", "keypad"), ("account", "technician")]
    assert kinds.count("motives.set") == 1
    with session_scope(app) as session:
        set_motives(
            session, "C1", [("directory", "directory")], author="ana", now=NOW, replace_caller=True
        )
        set_note(session, "C1", "  a rappelé pour l'annuaire ", author="ana", now=NOW)
    call, kinds, motives = the_call(app, "C1")
    assert motives == [("directory", "technician")]
    assert call.note == "a rappelé pour l'annuaire"
    assert kinds[-2:] == ["motives.set", "note.set"]
    with session_scope(app) as session:
        event = session.scalars(select(CallEvent).where(CallEvent.kind == "note.set")).one()
        assert event.data == {"author": "ana", "before": "", "after": "a rappelé pour l'annuaire"}
    # The report follows the corrections.
    with session_scope(app) as session:
        report = build_report(session, *MARCH, tz=PARIS)
    assert {m.motive: m.call_motives for m in report.by_motive}["directory"] == 2


def test_unknown_call_or_motive_changes_nothing(app: Flask) -> None:
    march_book(app)
    with session_scope(app) as session, pytest.raises(UnknownCall):
        set_note(session, "nope", "x", author="ana", now=NOW)
    with session_scope(app) as session, pytest.raises(UnknownMotive) as raised:
        set_motives(session, "C1", [("usage", "usage"), ("bogus", "")], author="a", now=NOW,
                    known={"usage"})  # fmt: skip
    assert raised.value.positions == {1: "bogus"}
    assert the_call(app, "C1")[2] == [("usage", "keypad")]


def test_api_sets_motives_and_note(app: Flask) -> None:
    app.config["IVR_SETTINGS"] = app.config["IVR_SETTINGS"].model_copy(
        update={"api_token": SecretStr("t0k")}
    )
    march_book(app)
    client = app.test_client()
    auth = {"Authorization": "Bearer t0k"}
    answer = client.put(
        "/api/v1/calls/C4/motives", json={"motives": ["incident"], "author": "bob"}, headers=auth
    )
    assert answer.status_code == 200
    assert [(m["motive"], m["channel"]) for m in answer.json["motives"]] == [
        ("emergency", "keypad"),
        ("incident", "technician"),
    ]
    bad = client.put("/api/v1/calls/C4/motives", json=["incident", "nope"], headers=auth)
    assert bad.status_code == 422 and bad.json["fields"] == ["motives.1"]
    note = client.put("/api/v1/calls/C4/note", json="rappel fait", headers=auth)
    assert note.status_code == 200 and note.json["note"] == "rappel fait"
    assert client.put("/api/v1/calls/NOPE/note", json="x", headers=auth).status_code == 404
    nul = client.get("/api/v1/calls/CA%00x", headers=auth)
    assert nul.status_code == 422 and nul.json["fields"] == ["path"]
    assert client.get("/api/v1/calls/CA%00x").status_code == 401
    odd = client.get("/api/v1/reports?from=2026-03-01&to=2026-03-31&structure=a%00", headers=auth)
    assert odd.status_code == 422 and odd.json["fields"] == ["structure"]
    shown = client.get("/api/v1/calls/C4", headers=auth).json
    assert [e["kind"] for e in shown["events"]] == ["motives.set", "note.set"]


def test_cli_sets_motives(runner: IvrRunner, app: Flask) -> None:
    march_book(app)
    result = runner.invoke("callbook", "motives", "C5", "usage", "incident")
    assert result.exit_code == 0, result.output
    assert "usage (technician), incident (technician)" in result.output
    assert runner.invoke("callbook", "motives", "C5", "bogus").exit_code == 2
    assert runner.invoke("callbook", "note", "C5", "raccroché trop tôt").exit_code == 0
    assert the_call(app, "C5")[0].note == "raccroché trop tôt"


# -- callbacks and tickets in the report ---------------------------------------------------


def add_ticket(app: Flask, number: str, created: datetime, status: str, deadline: datetime,
               *, overdue_flag: bool = False, structure: str = "paris") -> int:  # fmt: skip
    with session_scope(app) as session:
        ticket = Ticket(number=number, caller_number="+33612345678", contact="M. Durand",
                        structure=structure, status=status, created_at=created,
                        updated_at=created, deadline_at=deadline)  # fmt: skip
        session.add(ticket)
        session.flush()
        if overdue_flag:
            session.add(TicketHistory(ticket_id=ticket.id, at=deadline, actor="scheduler",
                                      action="deadline.overdue", detail={}))  # fmt: skip
        return ticket.id


def add_callback(app: Flask, ticket_id: int, created: datetime, status: str, due: datetime) -> None:
    with session_scope(app) as session:
        session.add(Callback(ticket_id=ticket_id, caller_number="+33612345678", status=status,
                             due_at=due, created_at=created, updated_at=created,
                             agent_numbers=["+33199002000"]))  # fmt: skip


def test_callbacks_and_tickets_figures(app: Flask) -> None:
    day = timedelta(days=1)
    t1 = add_ticket(app, "000001", paris(2026, 3, 3, 14, 6), "closed", paris(2026, 3, 6, 12))
    t2 = add_ticket(app, "000002", paris(2026, 3, 10, 19, 0), "resolved", paris(2026, 3, 13, 9),
                    overdue_flag=True)  # fmt: skip
    t3 = add_ticket(app, "000003", paris(2026, 3, 29, 3, 31), "new", paris(2026, 4, 2, 9))
    t4 = add_ticket(app, "000004", paris(2026, 3, 30, 9, 0), "assigned", paris(2026, 4, 20, 9))
    add_ticket(app, "000005", paris(2026, 4, 1, 9, 0), "new", paris(2026, 4, 3, 9))  # April
    add_ticket(app, "000006", paris(2026, 3, 5, 9, 0), "closed", paris(2026, 3, 9, 9),
               structure="auvergne")  # fmt: skip
    add_callback(app, t1, paris(2026, 3, 3, 14, 7), "done", paris(2026, 3, 4, 9))
    add_callback(app, t2, paris(2026, 3, 10, 19, 1), "failed", paris(2026, 3, 11, 9))
    add_callback(app, t3, paris(2026, 3, 29, 3, 32), "pending", paris(2026, 3, 30, 9))
    add_callback(app, t4, paris(2026, 3, 30, 9, 1), "pending", paris(2026, 4, 10, 9))
    now = paris(2026, 4, 5, 12, 0)
    with session_scope(app) as session:
        report = build_report(session, *MARCH, tz=PARIS, now=now)
        paris_only = build_report(session, *MARCH, structure="paris", tz=PARIS, now=now)
        later = build_report(session, *MARCH, tz=PARIS, now=now + 30 * day)
    c = report.callbacks
    assert (c.asked, c.made, c.failed, c.overdue, c.waiting, c.canceled) == (4, 1, 1, 1, 1, 0)
    t = report.tickets
    # t1 and t6 closed in time; t2 was flagged overdue; t3 is open past its deadline.
    assert (t.opened, t.within_deadline, t.overrun, t.open) == (5, 2, 2, 1)
    assert t.within_deadline_rate == 0.5
    assert (paris_only.tickets.opened, paris_only.tickets.within_deadline) == (4, 1)
    assert paris_only.callbacks.asked == 4
    assert (later.callbacks.overdue, later.tickets.overrun, later.tickets.open) == (2, 3, 0)
    assert report.to_dict()["tickets"]["within_deadline_rate"] == 0.5


# -- sweep and retention ---------------------------------------------------------------------


def test_sweep_closes_calls_never_closed_by_twilio(app: Flask, runner: IvrRunner) -> None:
    add_call(app, "LOST", NOW - timedelta(hours=5), route="hotline", ended=False)
    add_call(app, "LIVE", NOW - timedelta(minutes=3), ended=False)
    add_call(app, "MENU", NOW - timedelta(hours=6), ended=False)
    with session_scope(app) as session:
        assert sweep_open_calls(session, NOW) == 2
    with session_scope(app) as session:
        assert sweep_open_calls(session, NOW) == 0
    lost, kinds, _ = the_call(app, "LOST")
    assert (lost.status, lost.ended_at, lost.route, kinds) == ("unknown", NOW, "hotline", ["swept"])
    assert the_call(app, "MENU")[0].route == "abandoned"
    assert the_call(app, "LIVE")[0].ended_at is None


def old_book(app: Flask) -> None:
    """Two old calls with a voicemail ticket each (one still open), and a recent one."""
    old = datetime(2025, 1, 10, 9, 0, tzinfo=UTC)
    add_call(app, "OLD1", old, route="voicemail", motives=[("incident", "incident", "keypad")])
    two = [("usage", "usage", "keypad"), ("account", "account", "speech")]
    add_call(app, "OLD2", old, route="voicemail", motives=two)
    add_call(app, "NEW", NOW, route="hotline", motives=[("usage", "usage", "keypad")])
    with session_scope(app) as session:
        for sid in ("OLD1", "OLD2", "NEW"):
            call = session.scalars(select(Call).where(Call.call_sid == sid)).one()
            calls.append_event(session, call.id, "recording", {"url": "https://x/" + sid}, old)
    done = add_ticket(app, "100001", old, "closed", old + timedelta(days=2))
    still_open = add_ticket(app, "100002", old, "in_progress", old + timedelta(days=2))
    recent = add_ticket(app, "100003", NOW, "closed", NOW + timedelta(days=2))
    with session_scope(app) as session:
        for number, ticket_id, at in (("1", done, old), ("2", still_open, old), ("3", recent, NOW)):
            message = TicketMessage(
                ticket_id=ticket_id,
                recording_sid="RE" + number,
                recording_url="https://x/RE" + number,
                transcription="Bonjour, c'est M. Durand",
                created_at=at,
            )
            session.add(message)
    add_callback(app, done, old, "done", old + timedelta(days=1))
    add_callback(app, recent, NOW, "done", NOW + timedelta(days=1))


def test_purge_deletes_old_calls_and_anonymises_what_outlives_them(app: Flask) -> None:
    old_book(app)
    cutoff = NOW - timedelta(days=365)
    with session_scope(app) as session:
        dry = purge_older_than(session, cutoff, dry_run=True)
    assert (dry.calls, dry.events, dry.motives, dry.recordings, dry.tickets, dry.callbacks) == (
        2, 2, 3, 2, 2, 1,
    )  # fmt: skip
    assert dry.closed == 1
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 3  # nothing changed
        done = purge_older_than(session, cutoff, now=NOW)
    assert (done.calls, done.events, done.motives) == (2, 2, 3)
    assert (done.recordings, done.tickets, done.callbacks, done.closed) == (2, 2, 1, 1)
    assert "deleted 2 calls" in str(done) and "2 recordings" in str(done)
    with session_scope(app) as session:
        assert session.scalars(select(Call.call_sid)).all() == ["NEW"]
        assert session.scalar(select(func.count()).select_from(CallEvent)) == 1
        assert session.scalar(select(func.count()).select_from(CallMotive)) == 1
        messages = session.scalars(select(TicketMessage).order_by(TicketMessage.id)).all()
        for old in messages[:2]:  # the second one's ticket was left untouched for a year
            assert (old.recording_url, old.transcription) == ("", "")
            assert old.recording_sid == f"erased-{old.id}"
        assert messages[2].recording_url and messages[2].recording_sid == "RE3"  # recent
        tickets = {t.number: t for t in session.scalars(select(Ticket))}
        assert (tickets["100001"].caller_number, tickets["100001"].contact) == ("", "")
        assert tickets["100001"].status == "closed"  # the row stays for the figures
        assert (tickets["100002"].status, tickets["100002"].caller_number) == ("closed", "")
        assert tickets["100003"].caller_number
        numbers = sorted(c.caller_number for c in session.scalars(select(Callback)))
        assert numbers == ["", "+33612345678"]
    with session_scope(app) as session:
        again = purge_older_than(session, cutoff)
    assert (again.calls, again.recordings, again.tickets, again.callbacks) == (0, 0, 0, 0)


def test_purge_from_the_command_line_and_the_scheduler(app: Flask, runner: IvrRunner) -> None:
    old_book(app)
    with clock.frozen_at(NOW + timedelta(days=5)):  # the recent call is 5 days old
        dry = runner.invoke("callbook", "purge", "--dry-run", env={"IVR_RETENTION_DAYS": "30"})
        assert dry.exit_code == 0, dry.output
        assert "would delete 2 calls, 2 events, 3 motives" in dry.output
        assert "retention 30 days" in dry.output
        result = jobs(app)["purge"]()  # the default retention: 365 days
    assert "deleted 2 calls" in str(result) and "anonymised 2 recordings" in str(result)
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 1


def test_naive_cutoffs_are_refused(app: Flask) -> None:
    with session_scope(app) as session, pytest.raises(ValueError, match="aware"):
        purge_older_than(session, datetime(2026, 1, 1))  # noqa: DTZ001
    with session_scope(app) as session, pytest.raises(ValueError, match="aware"):
        sweep_open_calls(session, datetime(2026, 1, 1))  # noqa: DTZ001


# -- schema ------------------------------------------------------------------------------------


def test_the_models_match_the_migrated_call_book(app: Flask) -> None:
    """What `alembic check` would say about the call book's tables: nothing to change."""
    ours = {"calls", "call_events", "call_motives", "tickets", "ticket_messages",
            "ticket_history", "callbacks", "recording_deletions", "queue_entries",
            "outbox", "transcript_pieces", "users"}  # fmt: skip
    assert {OutboxMessage.__tablename__, QueueEntry.__tablename__} <= ours
    with database(app).engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    mine = [d for d in diff if _table_of(d) in ours]
    assert mine == []


def _table_of(difference: Any) -> str | None:
    """The table an Alembic difference is about ("modify_*" ones come wrapped in a list)."""
    if isinstance(difference, list):
        difference = difference[0]
    kind, subject = difference[0], difference[1]
    if kind in ("add_table", "remove_table"):
        return str(subject.name)
    if kind in ("add_column", "remove_column") or kind.startswith("modify_"):
        return str(difference[2])
    table = getattr(subject, "table", None)
    return None if table is None else str(table.name)
