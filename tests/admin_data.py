"""Calls, tickets and callbacks for the admin page tests, made by the real flow."""

from __future__ import annotations

from collections import deque
from datetime import datetime

from flask import Flask

from ivr.cli.console import ConsoleCall, Script
from schedules import clock

SERVICE = "+33199001000"


def phone(
    app: Flask, at: datetime, caller: str, *presses: str, dials: tuple[str, ...] = ()
) -> ConsoleCall:
    """Play one scripted call at `at` through the webhooks; returns the console call."""
    script = Script(deque(presses), deque(dials))
    call = ConsoleCall(app, caller, SERVICE, script, echo=lambda _line: None)
    with clock.frozen_at(at):
        call.run()
    return call
