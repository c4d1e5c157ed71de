"""`ivr db`: the database schema."""

from __future__ import annotations

import click

from ivr.cli.kit import app_context


@click.group("db")
def db_group() -> None:
    """The database: schema migrations."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date; running it again changes nothing."""
    from sqlalchemy import make_url

    from callbook.db import database
    from callbook.db.schema import schema_version, upgrade_database

    with app_context() as app:
        url = app.config["DATABASE_URL"]
        upgrade_database(url)
        version = schema_version(database(app).engine)
        shown = make_url(url).render_as_string(hide_password=True)
        click.echo(f"database {shown} at schema version {version}")
