"""`passport db upgrade|adopt`: migrate the database, or take over an original one."""

from __future__ import annotations

import click

from passport.cli.common import describe_revision, masked_database_url, open_database
from passport.config import load_settings
from passport.identity.applications import ApplicationService
from passport.storage.migrate import adopt, current_revision, head_revision, upgrade


@click.group("db")
def db_group() -> None:
    """Database migrations."""


@db_group.command("upgrade")
def upgrade_command() -> None:
    """Migrate the database to this Passport version's schema."""
    settings = load_settings()
    click.echo(f"database {masked_database_url(settings)}")
    with open_database(settings, create=True) as database:
        with database.read() as connection:
            before = current_revision(connection)
        if before == head_revision():
            click.echo(f"already at {before}, nothing to do")
            return
        before, after = upgrade(database)
    click.echo(f"database at {after} (was {describe_revision(before)})")


@db_group.command("adopt")
def adopt_command() -> None:
    """Take over a database of the original Passport service, keeping every row and ID."""
    settings = load_settings()
    click.echo(f"database {masked_database_url(settings)}")
    with open_database(settings) as database:
        rows, revision = adopt(database)
        click.echo(f"adopted: kept {rows} application row{'' if rows == 1 else 's'}, IDs unchanged")
        click.echo(f"database at {revision} (was the original schema)")
        application, created = ApplicationService(database).ensure_passport()
    state = "added" if created else "found"
    click.echo(f"application '{application.name}' {state} (ID {application.id})")
