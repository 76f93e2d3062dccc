"""`passport app add|list`: applications that use Passport."""

from __future__ import annotations

import click

from passport.cli.common import open_database, require_current
from passport.config import load_settings
from passport.identity.applications import Application, ApplicationService


@click.group("app")
def app_group() -> None:
    """Applications that use Passport."""


@app_group.command("add")
@click.argument("name")
@click.option(
    "--origin",
    "origins",
    multiple=True,
    metavar="URL",
    help="Browser origin scheme://host[:port] allowed for CORS and CSRF; repeatable.",
)
def add_command(name: str, origins: tuple[str, ...]) -> None:
    """Register application NAME and print its ID and client secret (shown only once)."""
    with open_database(load_settings()) as database:
        require_current(database)
        new = ApplicationService(database).add(name, origins)
    application = new.application
    click.echo(f"added application '{application.name}'")
    click.echo(f"ID: {application.id}")
    click.echo(f"Secret: {new.secret}")
    click.echo("The secret is shown only this once; Passport keeps only its hash. Store it now.")
    if application.origins:
        click.echo(f"origins: {', '.join(application.origins)}")


@app_group.command("list")
def list_command() -> None:
    """List the applications: ID, name and origins."""
    with open_database(load_settings()) as database:
        require_current(database)
        applications = ApplicationService(database).all()
    click.echo(format_table(applications))


def format_table(applications: list[Application]) -> str:
    """Applications as a plain-text table with a header row."""
    rows = [("ID", "NAME", "ORIGINS")]
    rows.extend((str(app.id), app.name, ", ".join(app.origins) or "-") for app in applications)
    id_width = max(len(row[0]) for row in rows)
    name_width = max(len(row[1]) for row in rows)
    return "\n".join(
        f"{row[0]:>{id_width}}  {row[1]:<{name_width}}  {row[2]}".rstrip() for row in rows
    )
