"""`passport init`: the home folder, database, `Passport` row, TLS pair and XKMS keys."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import click

from passport.cli.common import (
    describe_revision,
    listen_url,
    masked_database_url,
    open_database,
    sqlite_path,
)
from passport.cli.errors import CommandError
from passport.config import Settings, home_from_environment, load_settings
from passport.identity.applications import PASSPORT_APPLICATION, ApplicationService
from passport.storage.database import Database
from passport.storage.migrate import current_revision, head_revision, upgrade
from passport.tls import load_private_key, write_private_key, write_self_signed_certificate
from passport.xkms.ca import ca_paths, create_ca
from passport.xkms.service_keys import create_service_key, data_key_path, service_key_paths
from passport.xkms.vault import create_data_key

HOME_MODE = 0o700


@dataclass
class Report:
    """What init made, and what was already there."""

    made: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)

    def add(self, *, made: bool, item: str) -> None:
        """Record one part of the home as made now or found in place."""
        (self.made if made else self.found).append(item)


@click.command("init")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Home folder to create (default: PASSPORT_HOME, else ./var).",
)
def init_command(home: Path | None) -> None:
    """Create the home folder, database, `Passport` application and TLS certificate.

    Running it again changes nothing; parts that are missing are made, nothing is replaced.
    """
    settings = load_settings(home=home)
    masked_database_url(settings)  # a URL that does not parse stops here, before anything is made
    _refuse_orphan_certificate(settings)
    report = Report()
    _make_home(settings.home, report)
    _make_database(settings, report)
    _make_tls(settings, report)
    _make_xkms_keys(settings, report)

    if report.made:
        click.echo(f"initialised {settings.home}")
        click.echo("made:")
        _echo_items(report.made)
        if report.found:
            click.echo("already there, left as it was:")
            _echo_items(report.found)
    else:
        click.echo(f"already initialised: {settings.home}; nothing changed")
        _echo_items(report.found)
    click.echo("next:")
    if home is not None and home.resolve() != home_from_environment().resolve():
        click.echo(f"  export PASSPORT_HOME={settings.home}")
    click.echo("  passport user add <you> --admin    # the first administrator")
    click.echo("  passport run")
    insecure = "" if settings.insecure_http else "-k "
    url = listen_url(settings, reachable=True)
    click.echo(f"  curl {insecure}'{url}/Service/getApplication?name={PASSPORT_APPLICATION}'")


def _refuse_orphan_certificate(settings: Settings) -> None:
    # A certificate without its key cannot be served and must not be replaced: say so
    # before anything is made.
    if settings.tls_cert is not None:
        return
    cert, key = settings.tls_cert_path, settings.tls_key_path
    if cert.exists() and not key.exists():
        raise CommandError(
            f"TLS certificate {cert} exists but its key {key} does not; "
            "restore the key, or move the certificate away to have init make a new pair"
        )


def _make_home(home: Path, report: Report) -> None:
    if home.is_dir():
        report.add(made=False, item=f"home folder {home}")
        return
    home.mkdir(mode=HOME_MODE, parents=True)
    os.chmod(home, HOME_MODE)  # the umask may have narrowed what mkdir set
    report.add(made=True, item=f"home folder {home} (mode 0700)")


def _make_database(settings: Settings, report: Report) -> None:
    shown = masked_database_url(settings)
    path = sqlite_path(settings.effective_database_url)
    new_file = path is not None and not path.exists()
    with open_database(settings, create=True) as database:
        with database.read() as connection:
            before = current_revision(connection)
        if before == head_revision():
            report.add(made=False, item=f"database {shown} at migration {before}")
        else:
            before, after = upgrade(database)
            if new_file:
                item = f"database {shown} at migration {after}"
            else:
                item = f"database {shown} migrated to {after} (was {describe_revision(before)})"
            report.add(made=True, item=item)
        _seed_passport(database, report)


def _seed_passport(database: Database, report: Report) -> None:
    application, created = ApplicationService(database).ensure_passport()
    report.add(made=created, item=f"application '{application.name}' (ID {application.id})")


def _make_tls(settings: Settings, report: Report) -> None:
    cert, key_path = settings.tls_cert_path, settings.tls_key_path
    if settings.tls_cert is not None:
        report.add(made=False, item=f"your TLS certificate {cert} (init writes none)")
        return
    if key_path.exists():
        key = None
        report.add(made=False, item=f"TLS key {key_path}")
    else:
        key = write_private_key(key_path)
        report.add(made=True, item=f"TLS key {key_path} (mode 0600)")
    if cert.exists():
        report.add(made=False, item=f"TLS certificate {cert}")
        return
    info = write_self_signed_certificate(cert, key or load_private_key(key_path))
    report.add(
        made=True,
        item=f"TLS certificate {cert} (self-signed for {', '.join(info.names)}; "
        f"valid until {info.not_after:%Y-%m-%d})",
    )


def _make_xkms_keys(settings: Settings, report: Report) -> None:
    data_key = data_key_path(settings.home)
    made = create_data_key(data_key)
    report.add(made=made, item=f"XKMS data key {data_key}" + (" (mode 0600)" if made else ""))
    key_path, cert_path = service_key_paths(settings.home)
    made = create_service_key(settings.home, bits=settings.xkms_service_key_bits)
    report.add(
        made=made,
        item=f"XKMS service signing key {key_path} (RSA-{settings.xkms_service_key_bits}, "
        f"mode 0600) and certificate {cert_path}"
        if made
        else f"XKMS service signing key {key_path}",
    )
    ca_key, ca_cert = ca_paths(settings.home)
    made = create_ca(settings.home)
    report.add(
        made=made,
        item=f"Passport CA key {ca_key} (mode 0600) and certificate {ca_cert}"
        if made
        else f"Passport CA {ca_cert}",
    )


def _echo_items(items: list[str]) -> None:
    for item in items:
        click.echo(f"  {item}")
