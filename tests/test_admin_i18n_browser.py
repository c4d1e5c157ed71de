"""Every admin page in a real browser (headless Chromium), in French: no stored
code (`high`, `pending`, `no-answer`…) is shown where a word should be.

The pages are those of the navigation bar and every GET route of the admin
without parameters, plus one page of each kind of item (a ticket, a call, a
revision, a calendar, a structure, a referent, a motive, a technician, a
contact) on rows made by a real call. Only what a person sees is read
(`innerText`); identifiers shown on purpose (`<code>`, `<pre>`, and data keys
marked `translate="no"`) are left out. Uses Debian's `chromium`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from callbook.accounts.users import create_user
from callbook.db import database, session_scope
from ivr.app import create_app
from schedules import clock
from tests.conftest import deployment_settings
from tests.seed_calls import seed_voicemail_call

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"
CODES = (
    "high", "low", "normal", "new", "assigned", "in_progress", "waiting", "resolved",
    "pending", "claimed", "dialing", "done", "failed", "canceled",
    "completed", "busy", "no-answer", "in-progress", "ringing", "queued",
    "referent", "hotline", "oncall", "voicemail", "no_phone", "abandoned",
    "technician", "viewer", "inbound", "outbound", "usage (usage)",
    "call.started", "menu.choice", "dial.result", "callback.done", "callback.requested",
    "voicemail.recorded", "set-password", "rollback",
)  # fmt: skip
"""Codes the call book stores; a French page shows their labels instead."""
SKIPPED = {
    "admin.static",
    "admin.logout",
    "admin.export",
    "admin.login",
    "admin.contact_centre_csv",
    "admin.wallboard_json",
}
"""Not pages: assets, a form's target, a file download; the login page is seen first."""

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does it)",
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Flask, dict[str, str]]]:
    """The service on a fresh embedded SQLite with one call's rows, served in a thread."""
    from werkzeug.serving import make_server

    app = create_app(
        deployment_settings(
            instance_dir=tmp_path / "instance",
            twilio_account_sid="AC" + "0" * 32,
            twilio_auth_token="test-auth-token",  # type: ignore[arg-type]
        )
    )
    with session_scope(app) as session:
        create_user(session, "claire", PASSWORD, role="admin", display_name="Claire Admin",
                    actor="test", now=clock.now())  # fmt: skip
    call_sid, ticket = seed_voicemail_call(app)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", app, {"call": call_sid, "ticket": ticket}
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        database(app).engine.dispose()


def admin_pages(app: Flask, seeded: dict[str, str]) -> list[str]:
    """Every GET page of the admin without parameters, and one item of each kind."""
    pages = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/admin")
        and "GET" in (rule.methods or ())
        and not rule.arguments
        and rule.endpoint not in SKIPPED
    }
    pages |= {
        f"/admin/tickets/{seeded['ticket']}",
        f"/admin/calls/{seeded['call']}",
        "/admin/history/1",
        "/admin/calendars/hotline",
        "/admin/directory/structures/auvergne",
        "/admin/directory/referents/auvergne-durand",
        "/admin/motives/usage",
        "/admin/technicians/alice",
        "/admin/contacts/0",
        "/admin/tickets?status=all",
        "/admin/callbacks?view=all",
        "/admin/calls?from=2026-12-20&to=2026-12-27",
        "/admin/simulate?at=2026-12-25T09:30&motive=emergency&caller=06+12+34+56+78",
        "/admin/simulate?at=2026-12-22T10:00&motive=usage&department=63",
        "/admin/simulate?at=2026-12-22T21:00&motive=incident&answer=no-answer",
    }
    return sorted(pages)


VISIBLE_TEXT = """() => {
  for (const el of [...document.querySelectorAll('code, pre, [translate="no"]')]) {
    el.remove();
  }
  return document.body.innerText;
}"""


def shown_codes(text: str) -> list[str]:
    return [c for c in CODES if re.search(rf"(?<![\w.-]){re.escape(c)}(?![\w-])", text)]


def test_every_admin_page_reads_french_words_not_codes(
    server: tuple[str, Flask, dict[str, str]],
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    base, app, seeded = server
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update"],
        )  # fmt: skip
        try:
            tab = browser.new_context(base_url=base, locale="fr-FR").new_page()
            tab.set_default_timeout(15_000)
            tab.goto("/admin/login")
            assert shown_codes(tab.evaluate(VISIBLE_TEXT)) == []
            tab.fill("#username", "claire")
            tab.fill("#password", PASSWORD)
            tab.click("button[type=submit]")
            tab.wait_for_selector("nav")
            nav = tab.eval_on_selector_all("nav a", "links => links.map(a => a.pathname)")
            pages = admin_pages(app, seeded)
            assert set(nav) <= set(pages) and len(nav) >= 15
            found: dict[str, list[str]] = {}
            for path in pages:
                answer = tab.goto(path)
                assert answer is not None and answer.status == 200, path
                assert tab.evaluate("document.documentElement.lang") == "fr", path
                text = tab.evaluate(VISIBLE_TEXT)
                for code in shown_codes(text):
                    at = text.find(code)
                    found.setdefault(path, []).append(
                        f"{code}: …{text[max(0, at - 40) : at + 30]}…"
                    )
            assert found == {}, "\n".join(f"{p}: {c}" for p, c in found.items())
        finally:
            browser.close()
