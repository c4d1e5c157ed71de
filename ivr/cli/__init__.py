"""The `ivr` command line: verb-noun commands, one group per surface.

One module per command group; what they share (the app in its context, the
author of a change) is in `ivr.cli.kit`.
"""

from __future__ import annotations

import click

from ivr.cli.call import call
from ivr.cli.callbacks import callbacks_group
from ivr.cli.callbook import callbook
from ivr.cli.config import config_group
from ivr.cli.db import db_group
from ivr.cli.privacy import COMMANDS as PRIVACY_COMMANDS
from ivr.cli.scheduler import jobs_group, scheduler
from ivr.cli.serve import serve
from ivr.cli.users import users_group
from ivr.settings import SettingsRefused


class _Group(click.Group):
    """Settings that do not let the service start: their message and exit code 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SettingsRefused as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Group)
def main() -> None:
    """IVR hotline service: webhooks for Twilio, call book, schedules."""


for command in PRIVACY_COMMANDS:  # `ivr callbook erase`, `ivr callbook subject-access`
    callbook.add_command(command)
for command in (
    serve, db_group, config_group, call, callbook, scheduler, jobs_group, callbacks_group,
    users_group,
):  # fmt: skip
    main.add_command(command)
