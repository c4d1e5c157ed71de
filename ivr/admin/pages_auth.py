"""Login, logout and the landing page."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response as BaseResponse

from callbook.accounts.users import LoginLocked, authenticate
from callbook.db import get_session
from ivr.admin.auth import READERS, login_user, logout_user, require_role, safe_next
from ivr.admin.blueprint import bp
from ivr.admin.nav import nav_links
from schedules import clock


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | BaseResponse | tuple[str, int]:
    if request.method == "GET":
        return render_template("admin/login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    target = request.form.get("next", "")
    session = get_session()
    now = clock.now()
    try:
        user = authenticate(
            session, username, password, address=request.remote_addr or "?", now=now
        )
    except LoginLocked as exc:
        minutes = max(1, int((exc.until - now).total_seconds() // 60) + 1)
        message = gettext(
            "Trop d'essais infructueux : réessayez dans %(minutes)s minute(s).", minutes=minutes
        )
        return render_template("admin/login.html", error=message, next=target), 429
    session.commit()  # failures are counted even when the answer is a refusal
    if user is None:
        error = gettext("Identifiant ou mot de passe incorrect.")
        return render_template("admin/login.html", error=error, next=target), 401
    login_user(user)
    return redirect(safe_next(target))


@bp.post("/logout")
@require_role(*READERS, "referent")
def logout() -> BaseResponse:
    logout_user()
    flash(gettext("Vous êtes déconnecté."))
    return redirect(url_for("admin.login"))


@bp.get("/")
@require_role(*READERS, "referent")
def home() -> str | Response | BaseResponse:
    """The first page of the navigation the user may open."""
    links = nav_links()
    if links:
        return redirect(links[0][2])
    return render_template("admin/home.html")
