"""`passport xkms authorize|keys`: passcodes for XKMS clients, and the registered keys."""

from __future__ import annotations

import re
from datetime import timedelta

import click

from passport.cli.errors import CommandError
from passport.cli.people import cli_actor, services
from passport.config import load_settings
from passport.storage.database import Database
from passport.xkms.bindings import BindingStore, StoredBinding
from passport.xkms.factory import passcode_service
from passport.xkms.messages import format_datetime
from passport.xkms.passcodes import UseKeyWith
from passport.xkms.vault import VaultError

_DURATION = re.compile(r"(\d+)\s*([smhdw]?)")
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
