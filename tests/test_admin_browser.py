"""The admin interface in a real browser (headless Chromium driven by Playwright).

A new admin logs in, changes a referent's number and the lunch break of a
structure, sees on the agenda and on "What happens if…" what callers will
hear, publishes, finds the revision in the history and the change in the
audit log, and rolls back. Screenshots go to test-artifacts/admin-browser/.

Uses Debian's `chromium` (`apt-get install chromium`, done by .ci/run), not
a browser downloaded by Playwright.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from callbook.accounts.users import create_user
from callbook.db import database, session_scope
from callbook.history.revisions import active_revision_id
from ivr.app import create_app
from ivr.settings import Settings
from schedules import clock

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "admin-browser"
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does it)",
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, object]]:
    """The service on a fresh embedded SQLite, served by werkzeug in a thread."""
    from werkzeug.serving import make_server

    app = create_app(Settings(instance_dir=tmp_path / "instance"))
    with session_scope(app) as session:
        create_user(
            session,
            "claire",
            PASSWORD,
            role="admin",
            display_name="Claire Admin",
            actor="test",
            now=clock.now(),
        )
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", app
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        database(app).engine.dispose()


@pytest.fixture
def page(server: tuple[str, object]) -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(base_url=server[0], locale="fr-FR")
        # Nothing may come from the internet: every asset is the service's own.
        outside: list[str] = []
        context.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(server[0])
                else (outside.append(route.request.url), route.abort())
            ),
        )
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        try:
            yield tab
        finally:
            tab.screenshot(path=str(ARTIFACTS / "last.png"), full_page=True)
            browser.close()
        assert outside == []


def shot(page: object, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def text(page: object, selector: str = "main") -> str:
    return page.inner_text(selector)  # type: ignore[attr-defined,no-any-return]


def test_admin_edits_previews_publishes_and_rolls_back(
    server: tuple[str, object], page: object
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    app = server[1]

    # Logging in.
    page.goto("/admin/")
    assert "/admin/login" in page.url
    page.fill("#username", "claire")
    page.fill("#password", PASSWORD)
    shot(page, "01-login")
    page.click("button[type=submit]")
    expect(page.locator("header")).to_contain_text("Claire Admin")
    shot(page, "02-logged-in")

    # A referent's number.
    page.click("nav >> text=Annuaire")
    page.click("#referent-auvergne-durand >> text=Sophie Durand")
    page.fill("#f-numbers", "04 73")
    page.click("text=Enregistrer dans le brouillon")
    expect(page.locator("#e-numbers")).to_contain_text("n'est pas un numéro de téléphone valable")
    shot(page, "03-referent-refused")
    page.fill("#f-numbers", "04 65 71 99 99\n04 65 71 10 21")
    page.click("text=Enregistrer dans le brouillon")
    expect(page.locator("#referent-auvergne-durand")).to_contain_text("+33465719999")
    expect(page.locator(".banner")).to_contain_text("Brouillon en cours")
    shot(page, "04-referent-changed")

    # The lunch break of the Auvergne structure, on Mondays: 12:30-13:30.
    page.click("#structure-auvergne >> text=la structure Auvergne")
    page.click("text=Modifier les horaires du calendrier « auvergne »")
    page.fill("#f-weekly_mon", "09:30-12:30, 13:30-16:30")
    page.click("text=Enregistrer dans le brouillon")
    expect(page.locator("#calendar-auvergne")).to_contain_text("09:30-12:30")
    shot(page, "05-lunch-break-changed")

    # What callers will hear, before publishing: the agenda and "what happens if…".
    page.goto("/admin/schedules?calendar=auvergne&source=draft&from=2026-12-07")
    expect(page.locator("main")).to_contain_text("09:30-12:30, 13:30-16:30")
    shot(page, "06-agenda-draft")
    page.goto("/admin/simulate?at=2026-12-07T12:15&motive=usage&department=63&source=draft")
    assert "pause de midi" not in text(page)
    expect(page.locator("main")).to_contain_text("Sophie Durand")
    shot(page, "07-whatif-monday-1215-draft")
    page.goto("/admin/simulate?at=2026-12-07T12:15&motive=usage&department=63&source=active")
    expect(page.locator("main")).to_contain_text("pause de midi")
    page.goto("/admin/simulate?at=2026-12-25T09:30&motive=emergency&source=draft")
    expect(page.locator("main")).to_contain_text("jour férié, Noël")
    expect(page.locator("main")).to_contain_text("technicien d'astreinte")
    shot(page, "08-whatif-christmas-morning")

    # Publishing.
    page.click("nav >> text=Publication")
    expect(page.locator("table.changes")).to_contain_text("+33465719999")
    expect(page.locator("table.changes")).to_contain_text("calendars.auvergne.weekly.mon")
    page.fill("#f-comment", "Auvergne : nouveau numéro de S. Durand, pause 12:30-13:30 le lundi")
    shot(page, "09-publish")
    page.click("button:text('Publier')")
    expect(page.locator(".flash")).to_contain_text("Révision n° 2 publiée")
    with session_scope(app) as session:  # type: ignore[arg-type]
        assert active_revision_id(session) == 2

    # The history and the audit log.
    page.click("nav >> text=Historique")
    expect(page.locator("#revision-2")).to_contain_text("pause 12:30-13:30 le lundi")
    expect(page.locator("#revision-2")).to_contain_text("claire")
    expect(page.locator("#revision-2")).to_contain_text("Active")
    shot(page, "10-history")
    page.click("nav >> text=Journal d'audit")
    entry = page.locator(".audit-entry").first
    expect(entry).to_contain_text("Publication")
    expect(entry).to_contain_text("claire")
    expect(entry).to_contain_text("+33465719999")
    shot(page, "11-audit")

    # Undo: back to revision 1, from the audit entry.
    entry.locator("text=revenir à la révision n° 1").click()
    page.click("button:text('Revenir à cette révision')")
    expect(page.locator(".flash")).to_contain_text("Révision n° 1 de nouveau active")
    expect(page.locator("#revision-1")).to_contain_text("Active")
    shot(page, "12-rolled-back")
    with session_scope(app) as session:  # type: ignore[arg-type]
        assert active_revision_id(session) == 1
    page.goto("/admin/simulate?at=2026-12-07T12:15&motive=usage&department=63&source=active")
    expect(page.locator("main")).to_contain_text("pause de midi")
    shot(page, "13-whatif-after-rollback")
