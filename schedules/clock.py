"""The one place the service reads the time.

It reads the system clock (so the whole service can run under a shifted clock
for testing) and always answers an aware UTC datetime; time rules take that
`now` as an argument. The console phone (`ivr call --at …`) replays a moment
through `frozen_at`, within its own process only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else datetime.now(UTC)


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Answer `moment` from `now()` inside the block (this process only)."""
    global _frozen
    if moment.tzinfo is None:
        raise ValueError("frozen_at needs an aware datetime")
    previous, _frozen = _frozen, moment.astimezone(UTC)
    try:
        yield
    finally:
        _frozen = previous
