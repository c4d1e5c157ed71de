"""The logged-in user's own page: who they are, and the language of their pages."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext
from werkzeug.wrappers import Response as BaseResponse

from callbook.accounts.users import UserError, update_user
from callbook.db import get_session
from callbook.i18n import LOCALES
from ivr.admin.auth import READERS, current_user, require_role
from ivr.admin.blueprint import bp
from ivr.admin.editing import FieldErrors, actor
from schedules import clock


@bp.get("/account")
@require_role(*READERS)
def account(errors: FieldErrors | None = None) -> str:
    return render_template("admin/account.html", locales=LOCALES, errors=errors)


@bp.post("/account")
@require_role(*READERS)
def save_account() -> BaseResponse | tuple[str, int]:
    user = current_user()
    assert user is not None  # require_role let us in
    session = get_session()
    locale = request.form.get("locale", "")
    try:
        update_user(session, user, actor=actor(), now=clock.now(), locale=locale)
    except UserError:
        session.rollback()
        errors = FieldErrors()
        errors.add("locale", gettext("langue inconnue : choisissez dans la liste"))
        return account(errors), 422
    session.commit()
    with force_locale(user.locale):  # said in the language just chosen
        flash(gettext("Vos pages sont désormais en français."))
    return redirect(url_for("admin.account"))
