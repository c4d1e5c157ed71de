"""Publishing the draft, the history of revisions, and rolling back."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response as BaseResponse

from callbook.db import get_session
from callbook.history.audit import record_audit
from callbook.history.drafts import discard_draft
from callbook.history.revisions import (
    UnknownRevision,
    active_revision_id,
    get_revision,
    list_revisions,
)
from ivr.admin.auth import require_role
from ivr.admin.blueprint import bp
from ivr.admin.diffs import short, summarize, yaml_diff
from ivr.admin.drafts import PublishRefused, publish_draft, roll_back, working
from ivr.admin.editing import FieldErrors, Shown, actor
from ivr.config import ConfigInvalid, coverage_warnings, validate_document
from ivr.i18n import current_locale
from schedules import clock

Page = str | BaseResponse | tuple[str, int]


@bp.app_template_filter("short")
def _short(value: object) -> str:
    return short(value)


@bp.route("/publish", methods=["GET", "POST"])
@require_role()
def publish() -> Page:
    session = get_session()
    work = working(session)
    active = get_revision(session, work.active_id) if work.active_id else None
    base = active.document if active is not None else {}
    errors = FieldErrors()
    comment = request.form.get("comment", "").strip()
    if request.method == "POST" and work.draft is not None:
        try:
            rev = publish_draft(session, work, comment, actor=actor())
        except PublishRefused as exc:
            for problem in exc.problems:
                if problem.path == "comment":
                    errors.add("comment", problem.in_locale(current_locale()))
                elif problem.path:
                    errors.other.append(Shown(str(problem), problem.sentence(current_locale())))
                else:
                    errors.other.append(problem.in_locale(current_locale()))
        else:
            session.commit()
            flash(
                gettext(
                    "Révision n° %(id)s publiée : les appels l'utilisent dès maintenant.", id=rev.id
                )
            )
            return redirect(url_for("admin.revision", number=rev.id))
    warnings = []
    if work.draft is not None and not errors.other:
        warnings = [
            w.sentence(current_locale())
            for w in coverage_warnings(validate_document(work.data), clock.now())
        ]
    page = render_template(
        "admin/publish.html",
        work=work,
        changes=summarize(base, work.data) if work.draft is not None else [],
        diff=yaml_diff(
            base,
            work.data,
            gettext("révision %(active_id)s", active_id=work.active_id),
            "brouillon",
        ),
        warnings=warnings,
        errors=errors,
        comment=comment,
    )
    return (page, 422) if errors else page


@bp.post("/draft/discard")
@require_role()
def discard() -> BaseResponse:
    session = get_session()
    work = working(session)
    if work.draft is not None:
        record_audit(session, actor(), "draft", "draft", "discard", work.data, None)
        discard_draft(session)
        session.commit()
        flash(gettext("Brouillon abandonné : les pages montrent de nouveau la révision active."))
    return redirect(url_for("admin.publish"))


@bp.get("/history")
@require_role()
def history() -> str:
    session = get_session()
    return render_template(
        "admin/history.html",
        revisions=list(reversed(list_revisions(session))),
        active_id=active_revision_id(session),
    )


@bp.get("/history/<int:number>")
@require_role()
def revision(number: int) -> str:
    session = get_session()
    rev = get_revision(session, number)
    if rev is None:
        abort(404)
    previous = get_revision(session, number - 1)
    before = previous.document if previous is not None else {}
    return render_template(
        "admin/revision.html",
        rev=rev,
        previous=previous,
        active_id=active_revision_id(session),
        changes=summarize(before, rev.document),
        diff=yaml_diff(
            before,
            rev.document,
            gettext("révision %(value)s", value=number - 1) if previous else "vide",
            gettext("révision %(number)s", number=number),
        ),
    )


@bp.post("/history/<int:number>/activate")
@require_role()
def rollback(number: int) -> BaseResponse:
    session = get_session()
    try:
        was = roll_back(session, number, actor=actor())
    except UnknownRevision:
        abort(404)
    except ConfigInvalid as exc:
        session.rollback()
        flash(
            gettext(
                "La révision n° %(number)s n'est plus valide et reste inactive : %(exc)s",
                number=number,
                exc=exc,
            ),
            "error",
        )
        return redirect(url_for("admin.revision", number=number))
    session.commit()
    flash(
        gettext(
            "Révision n° %(number)s de nouveau active (à la place de la n° %(was)s).",
            number=number,
            was=was,
        )
    )
    return redirect(url_for("admin.history"))
