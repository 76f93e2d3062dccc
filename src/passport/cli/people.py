"""`passport user|group|grant|revoke|audit`: people, groups, permissions, and the audit log."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from passport.api.guard import ADMIN_PERMISSION
from passport.cli.common import open_database, require_current
from passport.cli.errors import CommandError
from passport.config import Settings, load_settings
from passport.identity.applications import PASSPORT_APPLICATION
from passport.identity.audit import Actor, AuditEvent
from passport.identity.groups import Group
from passport.identity.users import User
from passport.services import Services


def cli_actor() -> Actor:
    """The audit actor of a command: `cli:<login>` on this machine."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return Actor(f"cli:{login}", "local")


@contextmanager
def services(settings: Settings | None = None) -> Iterator[Services]:
    """Passport's services on the configured, migrated database."""
    settings = settings or load_settings()
    with open_database(settings) as database:
        require_current(database)
        yield Services.build(database, settings)


def read_password(password_stdin: bool, *, prompt: str = "Password") -> str:
    """A new password from stdin (one line) or from a prompt without echo, asked twice."""
    if password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise CommandError("no password on standard input")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CommandError("no terminal to ask for the password: use --password-stdin")
    value: str = click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    return value


# Users ------------------------------------------------------------------------------


@click.group("user")
def user_group() -> None:
    """People who log in with Passport."""


@user_group.command("add")
@click.argument("username")
@click.option("--email", help="E-mail address.")
@click.option("--display-name", help="Name shown to people.")
@click.option("--admin", is_flag=True, help=f"Grant {ADMIN_PERMISSION} (administers Passport).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_add(
    username: str, email: str | None, display_name: str | None, admin: bool, password_stdin: bool
) -> None:
    """Create user USERNAME; asks for the password without echo."""
    password = read_password(password_stdin)
    actor = cli_actor()
    with services() as found:
        user = found.users.create(username, password, actor, email=email, display_name=display_name)
        if admin:
            found.groups.grant(ADMIN_PERMISSION, PASSPORT_APPLICATION, actor, user=user)
    click.echo(f"added user '{user.username}' (ID {user.id})")
    if admin:
        click.echo(f"granted {ADMIN_PERMISSION} in application {PASSPORT_APPLICATION}")


@user_group.command("lock")
@click.argument("username")
def user_lock(username: str) -> None:
    """Lock USERNAME: every session ends, logins fail, their keys validate as Invalid."""
    with services() as found:
        user = found.users.set_locked(username, True, cli_actor())
    click.echo(f"locked user '{user.username}'; their sessions are ended")


@user_group.command("unlock")
@click.argument("username")
def user_unlock(username: str) -> None:
    """Unlock USERNAME (also clears a lockout after failed logins)."""
    with services() as found:
        user = found.users.set_locked(username, False, cli_actor())
    click.echo(f"unlocked user '{user.username}'")


@user_group.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_passwd(username: str, password_stdin: bool) -> None:
    """Set a new password for USERNAME; ends all of their sessions."""
    with services() as found:
        user = found.users.get(username)
        password = read_password(password_stdin, prompt=f"New password for {user.username}")
        found.users.set_password(user, password, cli_actor())
    click.echo(f"changed the password of '{user.username}'; their sessions are ended")


@user_group.command("list")
@click.option("--offset", default=0, show_default=True, help="Skip this many users.")
@click.option("--limit", default=100, show_default=True, help="Show at most this many.")
def user_list(offset: int, limit: int) -> None:
    """List users: ID, name, e-mail, state, last login."""
    with services() as found:
        users, total = found.users.page(offset=offset, limit=limit)
    click.echo(
        _table([("ID", "USERNAME", "EMAIL", "STATE", "LAST LOGIN")] + [_user_row(u) for u in users])
    )
    click.echo(f"{len(users)} of {total} users")


def _user_row(user: User) -> tuple[str, ...]:
    last = user.last_login_at.isoformat(timespec="seconds") + "Z" if user.last_login_at else "-"
    return (
        str(user.id),
        user.username,
        user.email or "-",
        "locked" if user.locked else "active",
        last,
    )


# Groups -----------------------------------------------------------------------------


@click.group("group")
def group_group() -> None:
    """Groups of users, global or belonging to one application."""


@group_group.command("add")
@click.argument("name")
@click.option("--app", "application", help="The application the group belongs to.")
def group_add(name: str, application: str | None) -> None:
    """Create group NAME (global unless --app)."""
    with services() as found:
        group = found.groups.create(name, application, cli_actor())
    click.echo(f"added group '{group.label}' (ID {group.id})")


@group_group.command("delete")
@click.argument("name")
@click.option("--app", "application", help="The application the group belongs to.")
def group_delete(name: str, application: str | None) -> None:
    """Delete group NAME with its memberships and grants."""
    with services() as found:
        group = found.groups.find(name, application)
        found.groups.delete(group, cli_actor())
    click.echo(f"deleted group '{group.label}'")


@group_group.group("member")
def member_group() -> None:
    """Who is in a group."""


@member_group.command("add")
@click.argument("group")
@click.argument("username")
@click.option("--app", "application", help="The application the group belongs to.")
def member_add(group: str, username: str, application: str | None) -> None:
    """Add USERNAME to GROUP."""
    with services() as found:
        target = found.groups.find(group, application)
        user = found.users.get(username)
        added = found.groups.add_member(target, user, cli_actor())
    verb = "added" if added else "was already a member:"
    click.echo(f"{verb} '{user.username}' in group '{target.label}'")


@member_group.command("remove")
@click.argument("group")
@click.argument("username")
@click.option("--app", "application", help="The application the group belongs to.")
def member_remove(group: str, username: str, application: str | None) -> None:
    """Remove USERNAME from GROUP."""
    with services() as found:
        target = found.groups.find(group, application)
        user = found.users.get(username)
        removed = found.groups.remove_member(target, user, cli_actor())
    if not removed:
        raise CommandError(f"'{user.username}' is not a member of group '{target.label}'")
    click.echo(f"removed '{user.username}' from group '{target.label}'")


# Grants -----------------------------------------------------------------------------


F = TypeVar("F", bound=Callable[..., Any])


def _grant_options(command: F) -> F:
    for option in reversed(
        [
            click.option(
                "--app", "application", required=True, help="The permission's application."
            ),
            click.option("--group", help="Grant to this group."),
            click.option("--group-app", help="The application the group belongs to."),
            click.option("--user", "username", help="Grant to this user."),
        ]
    ):
        command = option(command)
    return command


def _subject(
    found: Services, group: str | None, group_app: str | None, username: str | None
) -> tuple[Group | None, User | None, str]:
    if (group is None) == (username is None):
        raise CommandError("give exactly one of --group and --user")
    if group is not None:
        target = found.groups.find(group, group_app)
        return target, None, f"group '{target.label}'"
    user = found.users.get(username)
    return None, user, f"user '{user.username}'"


@click.command("grant")
@click.argument("permission")
@_grant_options
def grant_command(
    permission: str,
    application: str,
    group: str | None,
    group_app: str | None,
    username: str | None,
) -> None:
    """Grant PERMISSION of an application to a group or a user."""
    with services() as found:
        target_group, user, who = _subject(found, group, group_app, username)
        added = found.groups.grant(
            permission, application, cli_actor(), group=target_group, user=user
        )
    click.echo(
        f"granted {application}:{permission} to {who}"
        if added
        else f"{who} already had {application}:{permission}"
    )


@click.command("revoke")
@click.argument("permission")
@_grant_options
def revoke_command(
    permission: str,
    application: str,
    group: str | None,
    group_app: str | None,
    username: str | None,
) -> None:
    """Take back PERMISSION of an application from a group or a user."""
    with services() as found:
        target_group, user, who = _subject(found, group, group_app, username)
        removed = found.groups.revoke(
            permission, application, cli_actor(), group=target_group, user=user
        )
    if not removed:
        raise CommandError(f"{who} has no grant {application}:{permission}")
    click.echo(f"revoked {application}:{permission} from {who}")


# Audit ------------------------------------------------------------------------------


@click.command("audit")
@click.option("--since", help="Show events from this time on (ISO 8601, UTC if no zone).")
@click.option("--limit", default=1000, show_default=True, help="Show at most this many events.")
def audit_command(since: str | None, limit: int) -> None:
    """The audit log, oldest first: time, actor, action, target, client address, result."""
    start = None
    if since:
        try:
            start = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise CommandError(f"--since {since!r} is not an ISO 8601 time") from None
        if start.tzinfo is not None:
            start = start.astimezone(UTC).replace(tzinfo=None)
    with services() as found:
        events = found.audit.events(since=start, limit=limit)
    for event in events:
        click.echo(format_event(event))


def format_event(event: AuditEvent) -> str:
    """One audit event as one line."""
    result = "success" if event.success else "failure"
    line = (
        f"{event.at.isoformat(timespec='milliseconds')}Z {event.actor} {event.action} "
        f"{event.target} {event.client_address or '-'} {result}"
    )
    return f"{line} ({event.detail})" if event.detail else line


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
