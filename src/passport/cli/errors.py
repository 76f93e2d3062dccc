"""The one place where an expected failure becomes one clear line and a non-zero exit."""

from __future__ import annotations

from typing import IO, Any

import click
from alembic.util import CommandError as AlembicCommandError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from passport.config import SettingsError, mask_url_password
from passport.identity.errors import IdentityError
from passport.storage.migrate import MigrationError
from passport.tls import TLSError
from passport.web.server import ServeError
from passport.xkms.service_keys import ServiceKeyError
from passport.xkms.vault import VaultError

# Where commands record the database they opened, so that an unreachable one can be named.
DATABASE_URL_KEY = "passport.database_url"

EXPECTED_ERRORS = (
    SettingsError,
    MigrationError,
    AlembicCommandError,
    IdentityError,
    ServeError,
    TLSError,
    OperationalError,
    ArgumentError,
    OSError,
    VaultError,
    ServiceKeyError,
)


class CommandError(click.ClickException):
    """A command failed for a reason the user can act on; shown as `passport: error: ...`."""

    def show(self, file: IO[Any] | None = None) -> None:
        """Write the one line to stderr."""
        click.echo(f"passport: error: {self.format_message()}", file=file, err=True)


def describe(error: BaseException, database_url: str | None) -> str:
    """One line that says what went wrong, with no secret in it."""
    if isinstance(error, OperationalError):
        where = "the database"
        if database_url:
            try:
                where = mask_url_password(database_url)
            except ValueError:  # a URL the driver understood but urlsplit does not
                where = "the database"
        return _scrub(f"database {where} does not answer: {_driver_reason(error)}", database_url)
    if isinstance(error, ArgumentError):
        return _scrub(f"invalid setting PASSPORT_DATABASE_URL: {error}", database_url)
    if isinstance(error, IdentityError):
        return error.message
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or error}"
    return _scrub(str(error).splitlines()[0] if str(error) else type(error).__name__, database_url)


def masked_url(database_url: str) -> str:
    """The URL with its password masked; CommandError when it does not parse as a URL."""
    try:
        return mask_url_password(database_url)
    except ValueError as exc:
        raise CommandError(f"invalid setting PASSPORT_DATABASE_URL: {exc}") from None


class PassportGroup(click.Group):
    """The root command: runs a subcommand and turns its expected errors into one line."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command line; an expected error leaves as CommandError (exit status 1)."""
        try:
            return super().invoke(ctx)
        except EXPECTED_ERRORS as error:
            message = describe(error, ctx.meta.get(DATABASE_URL_KEY))
            raise CommandError(message) from None


def _driver_reason(error: OperationalError) -> str:
    original = error.orig
    arguments: tuple[object, ...] = getattr(original, "args", ())
    # PyMySQL errors are (code, message) pairs; psycopg and sqlite3 carry the message alone.
    if len(arguments) == 2 and isinstance(arguments[0], int):
        text = str(arguments[1])
    else:
        text = str(original) if original is not None else str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__


def _scrub(message: str, database_url: str | None) -> str:
    # Drivers do not put the password in their messages, but a message must never carry it.
    if database_url:
        try:
            password = make_url(database_url).password
        except ArgumentError:
            password = None
        if password:
            message = message.replace(str(password), "***")
    return message
