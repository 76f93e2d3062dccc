"""`passport keys list|rotate|retire`: the XKMS service signing key and Passport's CA."""

from __future__ import annotations

import click

from passport.cli.errors import CommandError
from passport.config import load_settings
from passport.xkms import keyring
from passport.xkms.service_keys import ServiceKeyError


@click.group("keys")
def keys_group() -> None:
    """The key that signs XKMS results and the CA that certifies registered keys."""


@keys_group.command("list")
def keys_list() -> None:
    """Current and previous keys: kind, serial, subject, expiry."""
    home = load_settings().home
    for entry in keyring.entries(home):
        state = "current" if entry.current else "previous (still trusted)"
        click.echo(
            f"{entry.kind:<8} {entry.serial}  {entry.subject}  until {entry.not_after}  {state}"
        )


@keys_group.command("rotate")
@click.option("--service", "kinds", flag_value="service", help="Only the service signing key.")
@click.option("--ca", "kinds", flag_value="ca", help="Only the CA.")
def keys_rotate(kinds: str | None) -> None:
    """Make new keys: the newest signs, the previous ones still count until retired."""
    settings = load_settings()
    for kind in (kinds,) if kinds else keyring.KINDS:
        try:
            old, new = keyring.rotate(
                settings.home, kind, service_key_bits=settings.xkms_service_key_bits
            )
        except (FileNotFoundError, ServiceKeyError) as exc:
            raise CommandError(
                f"no current {kind} key to rotate ({exc}): run `passport init`"
            ) from None
        label = "service signing key" if kind == "service" else "CA"
        click.echo(f"rotated the {label}: {old} is now previous, {new} is current")
    click.echo("Restart the workers (one at a time) so that they load the new keys.")


@keys_group.command("retire")
@click.argument("serial")
def keys_retire(serial: str) -> None:
    """Delete previous key SERIAL: certificates it issued are no longer trusted."""
    home = load_settings().home
    try:
        kind = keyring.retire(home, serial)
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from None
    click.echo(f"retired the previous {kind} key {serial}")
