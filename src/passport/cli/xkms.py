"""`passport xkms authorize|keys`: passcodes for XKMS clients, and the registered keys."""

from __future__ import annotations

import re
from datetime import timedelta

import click

from passport.cli.errors import CommandError
from passport.cli.people import cli_actor, services
from passport.config import Settings, load_settings
from passport.services import Services
from passport.storage.database import Database
from passport.xkms.bindings import BindingStore, StoredBinding
from passport.xkms.factory import passcode_service, xkms_service
from passport.xkms.messages import format_datetime
from passport.xkms.passcodes import UseKeyWith
from passport.xkms.service import XkmsService
from passport.xkms.service_keys import ServiceKeyError
from passport.xkms.vault import VaultError

_DURATION = re.compile(r"(\d+)\s*([smhdw]?)")
STRONG_PASSCODE = 12
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """`90`, `30m`, `12h`, `7d`, `2w` as a timedelta; CommandError otherwise."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise CommandError(f"--expires {text!r} must be a duration such as 30m, 12h, 7d or 2w")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


@click.group("xkms")
def xkms_group() -> None:
    """The XKMS key registry: passcodes for clients, registered key bindings."""


@xkms_group.command("authorize")
@click.argument("username")
@click.option(
    "--use-key-with",
    "pairs",
    multiple=True,
    required=True,
    metavar="URI=IDENTIFIER",
    help="A UseKeyWith the user may bind, split at the first '='; repeatable.",
)
@click.option("--passcode", help="Use this passcode instead of a generated one.")
@click.option("--uses", default=1, show_default=True, help="How many requests it authorizes.")
@click.option("--expires", help="Lifetime such as 30m, 12h, 7d (default: no expiry).")
def authorize_command(
    username: str, pairs: tuple[str, ...], passcode: str | None, uses: int, expires: str | None
) -> None:
    """Issue a limited-use passcode with which USERNAME's XKMS client registers keys."""
    allowed = [UseKeyWith.parse(pair) for pair in pairs]
    lifetime = parse_duration(expires) if expires else None
    settings = load_settings()
    with services(settings) as found:
        user = found.users.get(username)
        try:
            store = passcode_service(settings, found.database, found.clock, found.audit)
        except VaultError as exc:
            raise CommandError(str(exc)) from None
        issued, expires_at = store.authorize(
            user, allowed, cli_actor(), passcode=passcode, uses=uses, expires_in=lifetime
        )
    if passcode is not None and len(passcode) < STRONG_PASSCODE:
        click.echo(
            f"warning: a passcode of {len(passcode)} characters can be guessed; "
            "the generated ones carry about 99 bits",
            err=True,
        )
    click.echo(f"Passcode: {issued}")
    click.echo(
        f"for user '{user.username}', {uses} use{'s' if uses != 1 else ''}, "
        + (f"expires {format_datetime(expires_at)}" if expires_at else "no expiry")
    )
    click.echo("allows UseKeyWith:")
    for pair in allowed:
        click.echo(f"  {pair.application} = {pair.identifier}")
    click.echo("The passcode is shown only this once; give it to the user by a safe channel.")


@xkms_group.command("keys")
@click.option("--user", "username", help="Only this user's key bindings.")
def keys_command(username: str | None) -> None:
    """List key bindings: Id, owner, key fingerprint, validity, state, UseKeyWith."""
    with services() as found:
        user_id = found.users.get(username).id if username else None
        bindings = _bindings(found.database, user_id)
    if not bindings:
        click.echo("no key bindings")
        return
    for binding in bindings:
        state = "revoked " + format_datetime(binding.revoked_at) if binding.revoked_at else "valid"
        until = format_datetime(binding.not_after) if binding.not_after else "-"
        click.echo(
            f"{binding.binding_id}  {binding.username or '(deleted user)'}  "
            f"{binding.key_fingerprint[:16]}  {format_datetime(binding.not_before)} .. {until}  "
            f"{state}"
        )
        for pair in binding.use_key_with:
            click.echo(f"    {pair.application} = {pair.identifier}")


def _bindings(database: Database, user_id: int | None) -> list[StoredBinding]:
    with database.read(snapshot=True) as connection:
        return BindingStore().for_user(connection, user_id)


@xkms_group.group("pending")
def pending_group() -> None:
    """XKMS requests waiting for an administrator (setting xkms_approval)."""


@pending_group.command("list")
@click.option("--all", "include_decided", is_flag=True, help="Show decided requests too.")
def pending_list(include_decided: bool) -> None:
    """List waiting requests: number, operation, request Id, client, time."""
    settings = load_settings()
    with services(settings) as found:
        service = _xkms(settings, found)
        entries = service.asynchronous.entries(include_decided=include_decided)
    if not entries:
        click.echo("no pending XKMS requests")
        return
    for entry in entries:
        line = (
            f"{entry.id}  {entry.operation}  {entry.request_id}  from {entry.client_address}  "
            f"{format_datetime(entry.created_at)}  {entry.state}"
        )
        if entry.decided_by:
            line += f" by {entry.decided_by}"
        if entry.notification:
            line += f"  notify {entry.notification}"
        click.echo(line)


@pending_group.command("approve")
@click.argument("number", type=int)
def pending_approve(number: int) -> None:
    """Approve waiting request NUMBER: it is processed now; the client fetches the result."""
    _decide(number, approve=True)


@pending_group.command("reject")
@click.argument("number", type=int)
def pending_reject(number: int) -> None:
    """Reject waiting request NUMBER: the client gets Sender/Refused."""
    _decide(number, approve=False)


def _decide(number: int, *, approve: bool) -> None:
    settings = load_settings()
    with services(settings) as found:
        entry = _xkms(settings, found).decide(number, approve=approve, actor=cli_actor())
    click.echo(f"{entry.state} request {entry.id} ({entry.operation} {entry.request_id})")


def _xkms(settings: Settings, found: Services) -> XkmsService:
    try:
        return xkms_service(settings, found.database, found.clock, found.audit)
    except (VaultError, ServiceKeyError) as exc:
        raise CommandError(str(exc)) from None
