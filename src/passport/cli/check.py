"""`passport check`: the effective settings (secrets masked), the database, the migrations."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from passport.cli.common import (
    masked_database_url,
    migration_problem,
    open_database,
    sqlite_path,
)
from passport.cli.errors import DATABASE_URL_KEY, describe
from passport.config import Settings, load_settings
from passport.storage.migrate import head_revision
from passport.web.server import ServeError, tls_files


@click.command("check")
@click.pass_context
def check_command(ctx: click.Context) -> None:
    """Validate the settings, print them, and check the database and TLS files."""
    settings = load_settings()
    masked_database_url(settings)  # a URL that does not parse stops here, in one line
    click.echo("settings:")
    for name, value in settings.masked().items():
        click.echo(f"  {name} = {format_value(value)}")
    problems = [_check_tls(settings), _check_database(settings, ctx)]
    if any(problems):
        ctx.exit(1)


def format_value(value: Any) -> str:
    """A setting's value as it would be written in passport.toml."""
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value == "":
        return '""'
    return str(value)


def _check_tls(settings: Settings) -> bool:
    """Report the TLS files; True when there is a problem."""
    if settings.insecure_http:
        click.echo("tls: off (plain HTTP; only behind a proxy that terminates TLS)")
        return False
    try:
        tls_files(settings)
    except ServeError as error:
        click.echo(f"tls: problem: {error}")
        return True
    click.echo(f"tls: certificate {settings.tls_cert_path} and key {settings.tls_key_path} found")
    return False


def _check_database(settings: Settings, ctx: click.Context) -> bool:
    """Report whether the database answers and is current; True when there is a problem."""
    path = sqlite_path(settings.effective_database_url)
    if path is not None and not path.exists():
        click.echo(f"database: problem: no database at {path}: run `passport init`")
        return True
    try:
        with open_database(settings) as database:
            problem = migration_problem(database)
    except SQLAlchemyError as error:
        click.echo(f"database: problem: {describe(error, ctx.meta.get(DATABASE_URL_KEY))}")
        return True
    click.echo("database: answers")
    if problem is not None:
        click.echo(f"migrations: problem: {problem}")
        return True
    click.echo(f"migrations: current ({head_revision()})")
    return False
