"""`ivr users …`: accounts of the admin interface (the first admin is made here)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from callbook.accounts.users import ROLES
from callbook.i18n import LOCALES
from callbook.labels import label
from ivr.cli.kit import app_context, default_author

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from callbook.accounts.users import User

ROLE = click.Choice(ROLES)
CLI_LOCALE = "en"
"""The command line speaks English: codes are shown with their English labels."""


@click.group("users")
def users_group() -> None:
    """Admin interface accounts: create, set a password, disable, list, API tokens.

    Roles: admin (everything), technician (tickets, callbacks, call book
    notes, own on-call overrides), viewer (reports), referent (the tickets
    and callbacks of its structure only; escalates them to the national level).
    """


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


PASSWORD_STDIN = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)


@users_group.command("create")
@click.argument("username")
@click.option("--role", type=ROLE, required=True, help="admin, technician, viewer or referent.")
@click.option("--name", "display_name", default="", help="Display name (default: USERNAME).")
@click.option(
    "--structure",
    default="",
    help="A referent's structure: a structure key of the active configuration (required).",
)
@PASSWORD_STDIN
def users_create(
    username: str, role: str, display_name: str, structure: str, password_stdin: bool
) -> None:
    """Create account USERNAME with ROLE; the password is prompted (or read from stdin).

    A referent needs --structure: it sees and handles that structure's tickets only.
    """
    from callbook.accounts.users import UserError, create_user
    from callbook.db import session_scope
    from ivr.runtime import structure_names
    from schedules import clock

    if role != "referent" and structure:
        raise click.UsageError("--structure is for referents only")
    with app_context(), session_scope() as session:
        known = structure_names(session)
        if role == "referent" and structure not in known:
            what = f"unknown structure '{structure}'" if structure else "--structure is required"
            raise click.UsageError(f"{what} for a referent (known: {', '.join(known) or 'none'})")
        password = _password(password_stdin)
        try:
            user = create_user(
                session,
                username,
                password,
                role=role,
                display_name=display_name,
                structure=structure or None,
                actor=f"cli:{default_author()}",
                now=clock.now(),
            )
        except UserError as exc:
            raise click.ClickException(f"{exc.field}: {exc}") from exc
        where = f", structure {user.structure}" if user.structure else ""
        click.echo(f"user {user.username} created ({user.role}{where})")


@users_group.command("role")
@click.argument("username")
@click.argument("role", type=ROLE)
@click.option(
    "--structure", default="", help="The structure of a referent (required to become one)."
)
def users_role(username: str, role: str, structure: str) -> None:
    """Give USERNAME the ROLE (and a referent its --structure); their open sessions end."""
    from callbook.accounts.users import UserError, update_user
    from callbook.db import session_scope
    from ivr.runtime import structure_names
    from schedules import clock

    if role != "referent" and structure:
        raise click.UsageError("--structure is for referents only")
    with app_context(), session_scope() as session:
        user = _user(session, username)
        known = structure_names(session)
        wanted = structure or (user.structure if user.role == "referent" else "")
        if role == "referent" and wanted not in known:
            what = f"unknown structure '{wanted}'" if wanted else "--structure is required"
            raise click.UsageError(f"{what} for a referent (known: {', '.join(known) or 'none'})")
        try:
            update_user(
                session, user, actor=f"cli:{default_author()}", now=clock.now(), role=role,
                structure=wanted or None,
            )  # fmt: skip
        except UserError as exc:
            raise click.ClickException(f"{exc.field}: {exc}") from exc
        where = f", structure {user.structure}" if user.structure else ""
        click.echo(f"user {user.username} is now {user.role}{where}")


@users_group.command("set-password")
@click.argument("username")
@PASSWORD_STDIN
def users_set_password(username: str, password_stdin: bool) -> None:
    """Give USERNAME a new password; their open sessions end. Re-enables a disabled account."""
    from callbook.accounts.users import UserError, set_password, update_user
    from callbook.db import session_scope
    from schedules import clock

    password = _password(password_stdin)
    with app_context(), session_scope() as session:
        user = _user(session, username)
        actor, now = f"cli:{default_author()}", clock.now()
        try:
            set_password(session, user, password, actor=actor, now=now)
        except UserError as exc:
            raise click.ClickException(f"{exc.field}: {exc}") from exc
        update_user(session, user, actor=actor, now=now, active=True)
        click.echo(f"password of {user.username} changed")


@users_group.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Disable USERNAME: no more logins, open sessions end; the account and its history stay."""
    from callbook.accounts.users import update_user
    from callbook.db import session_scope
    from schedules import clock

    with app_context(), session_scope() as session:
        user = _user(session, username)
        update_user(session, user, actor=f"cli:{default_author()}", now=clock.now(), active=False)
        click.echo(f"user {user.username} disabled")


@users_group.command("link")
@click.argument("username")
@click.argument("technician")
def users_link(username: str, technician: str) -> None:
    """Link USERNAME to the on-call TECHNICIAN id of the configuration ('-' unlinks).

    A linked technician account may add or remove its own on-call overrides.
    """
    from callbook.accounts.users import update_user
    from callbook.db import session_scope
    from callbook.history.revisions import active_revision
    from schedules import clock

    with app_context(), session_scope() as session:
        user = _user(session, username)
        if technician != "-":
            rev = active_revision(session)
            known = [str(t.get("id")) for t in (rev.document.get("technicians", []) if rev else [])]
            if technician not in known:
                raise click.ClickException(
                    f"no technician '{technician}' in the active configuration "
                    f"(known: {', '.join(known) or 'none'})"
                )
        update_user(
            session, user, actor=f"cli:{default_author()}", now=clock.now(),
            technician="" if technician == "-" else technician,
        )  # fmt: skip
        linked = f"linked to technician {technician}" if technician != "-" else "unlinked"
        click.echo(f"user {user.username} {linked}")


@users_group.command("token")
@click.argument("username")
@click.option("--revoke", is_flag=True, help="Revoke USERNAME's token instead of making one.")
def users_token(username: str, revoke: bool) -> None:
    """A JSON API token for USERNAME, printed once (the previous one is revoked).

    The token acts with USERNAME's role; only its hash is stored. With
    --revoke, USERNAME's token stops working and no new one is made.
    """
    from callbook.accounts.tokens import issue_token, revoke_tokens
    from callbook.db import session_scope
    from schedules import clock

    with app_context(), session_scope() as session:
        user = _user(session, username)
        actor, now = f"cli:{default_author()}", clock.now()
        if revoke:
            count = revoke_tokens(session, user, actor=actor, now=now)
            click.echo(f"{count} token(s) of {user.username} revoked")
            return
        if not user.active:
            raise click.ClickException(f"user '{user.username}' is disabled")
        token = issue_token(session, user, actor=actor, now=now)
    click.echo(token)
    click.echo(
        f"the API token of {user.username} ({user.role}); it is shown only now",
        err=True,
    )


@users_group.command("locale")
@click.argument("username")
@click.argument("locale", type=click.Choice([code for code, _name in LOCALES]))
def users_locale(username: str, locale: str) -> None:
    """The language of USERNAME's admin pages and API messages: fr (default) or en."""
    from callbook.accounts.users import update_user
    from callbook.db import session_scope
    from schedules import clock

    with app_context(), session_scope() as session:
        user = _user(session, username)
        update_user(session, user, actor=f"cli:{default_author()}", now=clock.now(), locale=locale)
        click.echo(f"user {user.username} now reads the admin in {dict(LOCALES)[locale]}")


@users_group.command("list")
def users_list() -> None:
    """Every account: username, role, active or disabled, language, display name, a referent's
    structure."""
    from callbook.accounts.users import list_users
    from callbook.db import session_scope

    with app_context(), session_scope() as session:
        users = list_users(session)
        if not users:
            click.echo("no user yet: run `ivr users create NAME --role admin`", err=True)
        for user in users:
            role = label("role", user.role, CLI_LOCALE)
            state = "active" if user.active else "disabled"
            where = f" [{user.structure}]" if user.structure else ""
            click.echo(
                f"{user.username:<20} {role:<15} {state:<10} {user.locale:<3} "
                f"{user.display_name}{where}"
            )


def _user(session: Session, username: str) -> User:
    from callbook.accounts.users import get_user

    user = get_user(session, username)
    if user is None:
        raise click.ClickException(f"no user '{username}': see `ivr users list`")
    return user
