"""The figures of a report (`callbook.reports`): plain values, and their JSON form."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TOP_IRRITANTS = 5


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a breakdown: a family, a structure or a route."""

    key: str
    calls: int
    call_motives: int


@dataclass(frozen=True, slots=True)
class MotiveLine:
    motive: str
    family: str
    calls: int
    call_motives: int


@dataclass(frozen=True, slots=True)
class CallbackFigures:
    """The callbacks (kind "callback") asked during the period."""

    asked: int = 0
    made: int = 0
    """The caller was reached."""
    overdue: int = 0
    """Still waiting (pending or being placed) after their due time."""
    waiting: int = 0
    """Not yet due."""
    failed: int = 0
    """Given up after the last attempt."""
    canceled: int = 0


@dataclass(frozen=True, slots=True)
class TicketFigures:
    """The tickets opened during the period."""

    opened: int = 0
    within_deadline: int = 0
    """Resolved or closed, never found past their deadline."""
    overrun: int = 0
    """Found past their deadline, or still open after it."""
    open: int = 0
    """Still open, deadline not reached."""

    @property
    def within_deadline_rate(self) -> float | None:
        """Within deadline among the tickets whose outcome is known (handled or overrun)."""
        settled = self.within_deadline + self.overrun
        return self.within_deadline / settled if settled else None


@dataclass(frozen=True, slots=True)
class Report:
    """Every figure of one period; `to_dict()` is its JSON form."""

    start: datetime
    end: datetime
    timezone: str
    structure: str | None
    calls: int
    call_motives: int
    without_motive: int
    """Calls with no motive at all: each is still one line of the history."""
    answered: int
    out_of_hours: int
    wait_average: float | None
    """Seconds, over answered calls."""
    wait_p90: float | None
    """Seconds: 90 % of answered calls waited this long or less."""
    by_family: list[Line] = field(default_factory=list)
    by_motive: list[MotiveLine] = field(default_factory=list)
    by_structure: list[Line] = field(default_factory=list)
    by_route: list[Line] = field(default_factory=list)
    hourly: list[list[int]] = field(default_factory=lambda: [[0] * 24 for _ in WEEKDAYS])
    """Calls per local weekday (0 = Monday) and local hour of the day."""
    callbacks: CallbackFigures = field(default_factory=CallbackFigures)
    tickets: TicketFigures = field(default_factory=TicketFigures)
    at: datetime | None = None
    """The moment the report was built: "overdue" and "overrun" are as of then."""

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.calls if self.calls else None

    @property
    def out_of_hours_share(self) -> float | None:
        return self.out_of_hours / self.calls if self.calls else None

    @property
    def history_lines(self) -> int:
        """Lines of the "Historique des sollicitations": one per call-motive, or per call."""
        return self.call_motives + self.without_motive

    @property
    def top_irritants(self) -> list[MotiveLine]:
        """The motives that cost the most call-motives, most first."""
        return self.by_motive[:TOP_IRRITANTS]

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "timezone": self.timezone,
            "structure": self.structure,
            "calls": self.calls,
            "call_motives": self.call_motives,
            "without_motive": self.without_motive,
            "answered": self.answered,
            "answer_rate": self.answer_rate,
            "out_of_hours": self.out_of_hours,
            "out_of_hours_share": self.out_of_hours_share,
            "wait": {"average_seconds": self.wait_average, "p90_seconds": self.wait_p90},
            "by_family": [asdict(line) for line in self.by_family],
            "by_motive": [asdict(line) for line in self.by_motive],
            "by_structure": [asdict(line) for line in self.by_structure],
            "by_route": [asdict(line) for line in self.by_route],
            "top_irritants": [asdict(line) for line in self.top_irritants],
            "hourly": {"weekdays": list(WEEKDAYS), "calls": [list(h) for h in self.hourly]},
            "callbacks": asdict(self.callbacks),
            "tickets": {
                **asdict(self.tickets),
                "within_deadline_rate": self.tickets.within_deadline_rate,
            },
            "at": None if self.at is None else self.at.isoformat(),
        }
