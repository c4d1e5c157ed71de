"""The wall screen in a real browser: it refreshes itself when a caller joins the queue.

Uses the headless Chromium fixtures of tests/test_admin_browser.py (Debian's
`chromium`; every request outside the service is refused and fails the test).
"""

from __future__ import annotations

import time
from datetime import timedelta

from callbook.db import session_scope
from callbook.queue import QueueEntry
from schedules import clock
from tests.conftest import paris
from tests.test_admin_browser import PASSWORD, page, pytestmark, server, shot

__all__ = ["page", "pytestmark", "server"]  # the fixtures and the skip, shared

NOW = paris(2026, 3, 2, 10, 0)  # a Monday morning: the hotline is open
POLLS = 60
"""Looks at the page every quarter of a second: 15 s at most (it refreshes every 4 s)."""


def waiting_shown(tab: object, expected: str) -> bool:
    for _ in range(POLLS):
        if tab.inner_text("#wb-waiting") == expected:  # type: ignore[attr-defined]
            return True
        time.sleep(0.25)
    return False


def add_caller(app: object, sid: str, seconds_ago: int) -> None:
    with session_scope(app) as session:  # type: ignore[arg-type]
        session.add(
            QueueEntry(
                call_sid=sid,
                team="hotline",
                caller_number="+33612345678",
                enqueued_at=NOW - timedelta(seconds=seconds_ago),
                position=1,
            )
        )


def test_the_wallboard_shows_a_new_caller_without_reloading(
    server: tuple[str, object], page: object
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    app = server[1]
    add_caller(app, "CA-first", 40)
    with clock.frozen_at(NOW):
        page.goto("/admin/login")
        page.fill("#username", "claire")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.click("nav >> text=Tableau mural")
        expect(page.locator("h1")).to_have_text("Tableau mural")
        assert page.inner_text("#wb-waiting") == "1"
        assert page.inner_text("#wb-longest") == "40 s"
        page.evaluate("document.body.dataset.loadedOnce = 'yes'")  # gone if the page reloads
        shot(page, "wallboard-1")

        add_caller(app, "CA-second", 5)
        assert waiting_shown(page, "2"), page.inner_text("#wallboard")
        assert page.evaluate("document.body.dataset.loadedOnce") == "yes"
        assert page.inner_text("#wb-longest") == "40 s"
        expect(page.locator("#wb-teams")).to_contain_text("L'assistance nationale")
        expect(page.locator("#wb-members")).to_contain_text("+33199002000")
        shot(page, "wallboard-2")
