"""`ivr callbook …`: reports, exports, technicians' annotations, sweep and purge."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click

from ivr.cli.kit import app_context, default_author, on_terminal, progress

if TYPE_CHECKING:
    from flask import Flask

    from callbook.reports import Report

F = TypeVar("F", bound=Callable[..., Any])
DAY = click.DateTime(formats=["%Y-%m-%d"])


def _zone(app: Flask) -> str:
    return str(app.config["IVR_SETTINGS"].default_timezone)


def _span(first: datetime, last: datetime, zone: str) -> tuple[datetime, datetime]:
    from callbook.reports import period

    try:
        return period("custom", first.date(), zone, last=last.date())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--to'") from exc


@contextmanager
def _text_output(file: Path) -> Iterator[TextIO]:
    if str(file) == "-":
        yield sys.stdout
        return
    with file.open("w", encoding="utf-8", newline="") as out:
        yield out


PERIOD_OPTIONS = [
    click.option("--from", "first", type=DAY, required=True, help="First day (local), YYYY-MM-DD."),
    click.option("--to", "last", type=DAY, required=True, help="Last day (local), included."),
    click.option("--structure", default=None, help="Only the calls of this structure id."),
]


def _period_options(command: F) -> F:
    for option in reversed(PERIOD_OPTIONS):
        command = option(command)
    return command


@click.group("callbook")
def callbook() -> None:
    """The call book: reports, exports, technicians' notes, sweep, purge, erasure, access."""


@callbook.command("report")
@_period_options
def report(first: datetime, last: datetime, structure: str | None) -> None:
    """Print the figures of the calls started from --from to --to (local days, included)."""
    from callbook.db import session_scope
    from callbook.reports import build_report
    from schedules import clock

    with app_context() as app, session_scope() as session:
        zone = _zone(app)
        start, end = _span(first, last, zone)
        figures = build_report(session, start, end, structure=structure, tz=zone, now=clock.now())
    click.echo(format_report(figures, first.date(), last.date()))


@callbook.command("export")
@_period_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "xlsx"]),
    default=None,
    help="File format (default: from FILE's extension, else csv).",
)
@click.option(
    "--csv-style",
    type=click.Choice(["excel-fr", "plain"]),
    default="excel-fr",
    show_default=True,
    help="excel-fr: ';', UTF-8 with BOM, decimal comma, French labels. "
    "plain: ',', no BOM, decimal point, stored codes (for scripts).",
)
@click.option("--mask-numbers", is_flag=True, help="Keep only country code and last 2 digits.")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def export(
    first: datetime,
    last: datetime,
    structure: str | None,
    fmt: str | None,
    csv_style: str,
    mask_numbers: bool,
    file: Path,
) -> None:
    """Write the "Historique des sollicitations" (one line per call-motive) to FILE.

    CSV: one header line, in --csv-style; FILE '-' writes it to standard
    output. XLSX: the history sheet and a "Résultats" sheet with the
    period's figures, French labels, local dates and times. A progress bar
    shows on a terminal.
    """
    from callbook.db import session_scope
    from callbook.reports.exports import count_lines
    from ivr.runtime import active_names

    fmt = fmt or ("xlsx" if file.suffix.lower() == ".xlsx" else "csv")
    if fmt == "xlsx" and str(file) == "-":
        raise click.BadParameter("an XLSX file cannot go to standard output", param_hint="FILE")
    with app_context() as app, session_scope() as session:
        zone = _zone(app)
        start, end = _span(first, last, zone)
        options: dict[str, Any] = {
            "structure": structure,
            "tz": zone,
            "mask_numbers": mask_numbers,
            "names": active_names(),
        }
        total = count_lines(session, start, end, structure=structure) if on_terminal() else 0
        try:
            with progress(total, f"Export {fmt.upper()}") as step:
                lines = _write_export(session, file, fmt, csv_style, start, end, step, options)
        except OSError as exc:
            raise click.ClickException(f"cannot write {file}: {exc}") from exc
    click.echo(f"{lines} lines written to {file}", err=True)


def _write_export(
    session: Any,
    file: Path,
    fmt: str,
    csv_style: str,
    start: datetime,
    end: datetime,
    step: Callable[[int], None],
    options: dict[str, Any],
) -> int:
    from callbook.reports.exports import write_csv, write_xlsx
    from schedules import clock

    if fmt == "xlsx":
        return write_xlsx(session, file, start, end, now=clock.now(), progress=step, **options)
    with _text_output(file) as out:
        return write_csv(session, out, start, end, style=csv_style, progress=step, **options)  # type: ignore[arg-type]


@callbook.command("motives")
@click.argument("call_sid")
@click.argument("keys", nargs=-1, required=True)
@click.option(
    "--replace-caller",
    is_flag=True,
    help="The keys become the call's whole set: drop the caller's choices not listed.",
)
@click.option(
    "--author", default=default_author, help="Name recorded (default: $USER, else 'cli')."
)
def motives(call_sid: str, keys: tuple[str, ...], replace_caller: bool, author: str) -> None:
    """Set the motives of call CALL_SID, as a technician, to KEYS (motive keys).

    The caller's own choices (keypad, speech) are kept unless --replace-caller.
    Keys are checked against the active configuration.
    """
    from callbook.calls.annotate import UnknownCall, UnknownMotive, set_motives
    from callbook.db import session_scope
    from ivr.runtime import current_config
    from schedules import clock

    with app_context(), session_scope() as session:
        _, doc = current_config()
        families = {m.key: str(m.family) for m in doc.motives}
        pairs = [(key, families.get(key, "")) for key in keys]
        try:
            call = set_motives(
                session,
                call_sid,
                pairs,
                author=author,
                now=clock.now(),
                known=families,
                replace_caller=replace_caller,
            )
        except UnknownMotive as exc:
            raise click.BadParameter(
                f"{exc} (known: {', '.join(families)})", param_hint="KEYS"
            ) from exc
        except UnknownCall as exc:
            raise click.ClickException(f"no call {call_sid} in the call book") from exc
        shown = ", ".join(f"{m.motive} ({m.channel})" for m in call.motives)
    click.echo(f"{call_sid}: {shown}")


@callbook.command("note")
@click.argument("call_sid")
@click.argument("text")
@click.option(
    "--author", default=default_author, help="Name recorded (default: $USER, else 'cli')."
)
def note(call_sid: str, text: str, author: str) -> None:
    """Replace the note of call CALL_SID with TEXT ('' clears it)."""
    from callbook.calls.annotate import UnknownCall, set_note
    from callbook.db import session_scope
    from schedules import clock

    with app_context(), session_scope() as session:
        try:
            set_note(session, call_sid, text, author=author, now=clock.now())
        except UnknownCall as exc:
            raise click.ClickException(f"no call {call_sid} in the call book") from exc
    click.echo(f"{call_sid}: note saved")


@callbook.command("sweep")
@click.option(
    "--older-than",
    "hours",
    type=click.FloatRange(min=0, min_open=True),
    default=4.0,
    show_default=True,
    help="Hours after which a call never closed by Twilio is closed.",
)
def sweep(hours: float) -> None:
    """Close the calls whose final status never came, with the status Twilio reports.

    A call Twilio says still goes on stays open; without Twilio (or when it
    cannot be reached) the status is 'unknown'.
    """
    from ivr.jobs.sweep import sweep_stale_calls
    from schedules import clock

    with app_context() as app:
        closed = sweep_stale_calls(app, clock.now(), timedelta(hours=hours))
    click.echo(f"{closed} open call{'s' if closed != 1 else ''} closed")


@callbook.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
def purge(dry_run: bool) -> None:
    """Delete the calls that ended more than IVR_RETENTION_DAYS days ago; anonymise the rest.

    Their events and motives go with them. Tickets untouched that long or
    older than IVR_TICKET_MAX_AGE_DAYS are closed and anonymised with their
    messages and callbacks; older messages and callbacks are anonymised too.
    Recordings are queued for deletion at Twilio (the scheduler deletes them).
    """
    from callbook.db import session_scope
    from ivr.cli.privacy import say_recordings_wait
    from ivr.privacy import purge as purge_personal_data
    from schedules import clock

    with app_context() as app:
        settings = app.config["IVR_SETTINGS"]
        with session_scope() as session:
            result = purge_personal_data(session, settings, clock.now(), dry_run=dry_run)
        days, max_age = settings.retention_days, settings.ticket_max_age_days
        click.echo(f"{result}, retention {days} days, tickets at most {max_age} days")
        say_recordings_wait(app)


# -- printing a report ------------------------------------------------------------------


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} s"


def _en(kind: str, code: str) -> str:
    """The English label of a stored code (the command line speaks English)."""
    from callbook.labels import label

    return label(kind, code, "en") if code else "(none)"


def format_report(report: Report, first: date, last: date) -> str:
    """The report as text for the terminal."""
    from callbook.reports.exports import FRENCH_WEEKDAYS

    lines = [
        f"Call book from {first} to {last} ({report.timezone})"
        + (f", structure {report.structure}" if report.structure else ""),
        f"  calls                 {report.calls}",
        f"  call-motives          {report.call_motives}"
        f"  (calls without motive: {report.without_motive})",
        f"  answered              {report.answered}  ({_share(report.answer_rate)})",
        f"  out of hours          {report.out_of_hours}  ({_share(report.out_of_hours_share)})",
        f"  wait before answer    average {_seconds(report.wait_average)}, "
        f"p90 {_seconds(report.wait_p90)}",
        f"  callbacks             asked {report.callbacks.asked}, made {report.callbacks.made}, "
        f"overdue {report.callbacks.overdue}, waiting {report.callbacks.waiting}, "
        f"failed {report.callbacks.failed}, canceled {report.callbacks.canceled}",
        f"  tickets               opened {report.tickets.opened}, "
        f"within deadline {report.tickets.within_deadline} "
        f"({_share(report.tickets.within_deadline_rate)}), overrun {report.tickets.overrun}, "
        f"open {report.tickets.open}",
    ]
    sections = [
        ("per family", [(_en("family", x.key), x.calls, x.call_motives) for x in report.by_family]),
        ("per motive", [(x.motive, x.calls, x.call_motives) for x in report.by_motive]),
        (
            "per structure",
            [(x.key or "(none)", x.calls, x.call_motives) for x in report.by_structure],
        ),
        (
            "per outcome",
            [(_en("route", x.key), x.calls, x.call_motives) for x in report.by_route],
        ),
        ("top irritants", [(x.motive, x.calls, x.call_motives) for x in report.top_irritants]),
    ]
    for title, rows in sections:
        lines += ["", f"{title:<22}{'calls':>8}{'call-motives':>14}"]
        lines += [f"  {key:<20}{calls:>8}{count:>14}" for key, calls, count in rows]
    lines += ["", "calls per hour (local)  " + " ".join(f"{d:>4}" for d in FRENCH_WEEKDAYS)]
    for hour in range(24):
        counts = [report.hourly[day][hour] for day in range(7)]
        if any(counts):
            lines.append(f"  {hour:02d} h{'':<18}" + " ".join(f"{n:>4}" for n in counts))
    return "\n".join(lines)
