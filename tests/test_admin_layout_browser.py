"""The layout of admin pages in a real browser (headless Chromium, as in test_admin_browser)."""

from __future__ import annotations

from callbook.accounts.users import create_user, get_user
from callbook.db import session_scope
from schedules import clock
from tests import test_admin_browser
from tests.test_admin_browser import PASSWORD, shot

# The same browser and server as the journey test, and the same skip without Chromium.
pytestmark = test_admin_browser.pytestmark
server = test_admin_browser.server
page = test_admin_browser.page

COLUMNS = {
    "Nom": "input[name=display_name]",
    "Rôle": "select[name=role]",
    "Actif": "input[name=active]",
    "Technicien": "select[name=technician]",
    "Structure (référent)": "select[name=structure]",
    "Langue": "select[name=locale]",
    "Nouveau mot de passe": "input[name=password]",
    "": "button[type=submit]",
}


def _log_in(page: object) -> None:
    page.goto("/admin/login")  # type: ignore[attr-defined]
    page.fill("#username", "claire")  # type: ignore[attr-defined]
    page.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]


def test_each_users_header_stands_above_its_field(server: tuple[str, object], page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    with session_scope(server[1]) as session:  # type: ignore[arg-type]
        create_user(
            session, "paul", PASSWORD, role="technician", display_name="Paul Martin",
            actor="test", now=clock.now(),
        )  # fmt: skip
    _log_in(page)
    page.goto("/admin/users")
    shot(page, "users")
    headers = page.locator("table.users thead th")
    boxes = {
        headers.nth(i).inner_text().strip(): headers.nth(i).bounding_box()
        for i in range(headers.count())
    }
    for username in ("claire", "paul"):
        row = page.locator(f"#user-{username}")
        name = row.locator("th").bounding_box()
        header = boxes["Identifiant"]
        assert header and name and header["x"] <= name["x"] < header["x"] + header["width"]
        for title, selector in COLUMNS.items():
            header = boxes[title if title else "Enregistrer"]
            field = row.locator(selector).bounding_box()
            assert header is not None and field is not None
            middle = field["x"] + field["width"] / 2
            # The field's middle lies under its own header, and the field does not
            # spill into the next column.
            assert header["x"] <= middle <= header["x"] + header["width"], (title, header, field)
            assert field["x"] >= header["x"] - 1, (title, header, field)
            assert field["x"] + field["width"] <= header["x"] + header["width"] + 1, title
            assert field["y"] > header["y"] + header["height"] - 1, title

    # The fields still belong to the row's form: a change is saved.
    row = page.locator("#user-paul")
    row.locator("input[name=display_name]").fill("Paul Martin-Durand")
    row.locator("select[name=role]").select_option("viewer")
    row.locator("button[type=submit]").click()
    expect(page.locator(".flash")).to_contain_text("Compte « paul » enregistré")
    with session_scope(server[1]) as session:  # type: ignore[arg-type]
        paul = get_user(session, "paul")
        assert paul is not None
        assert (paul.display_name, paul.role) == ("Paul Martin-Durand", "viewer")
