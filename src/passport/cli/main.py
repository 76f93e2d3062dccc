"""The `passport` command: its subcommands, `--version`, and the error boundary."""

from __future__ import annotations

import click

from passport import __version__
from passport.cli.applications import app_group
from passport.cli.check import check_command
from passport.cli.db import db_group
from passport.cli.errors import PassportGroup
from passport.cli.init import init_command
from passport.cli.keys import keys_group
from passport.cli.people import (
    audit_command,
    grant_command,
    group_group,
    revoke_command,
    user_group,
)
from passport.cli.run import run_command
from passport.cli.xkms import xkms_group


@click.group(cls=PassportGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="passport")
def main() -> None:
    """Passport: single sign-on, applications and keys, in one server.

    Settings come from PASSPORT_* environment variables and PASSPORT_HOME/passport.toml;
    a command's flags win. Start with `passport init`, then `passport run`.
    """


main.add_command(init_command)
main.add_command(run_command)
main.add_command(db_group)
main.add_command(app_group)
main.add_command(check_command)
main.add_command(user_group)
main.add_command(group_group)
main.add_command(grant_command)
main.add_command(revoke_command)
main.add_command(audit_command)
main.add_command(xkms_group)
main.add_command(keys_group)
