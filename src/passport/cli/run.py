"""`passport run`: serve Passport with granian until SIGINT or SIGTERM."""

from __future__ import annotations

from pathlib import Path

import click

from passport.cli.common import listen_url, masked_database_url, open_database, require_current
from passport.config import load_settings
from passport.web import server


@click.command("run")
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8443).")
@click.option("--workers", type=int, help="Worker processes (default 1).")
@click.option(
    "--insecure-http",
    is_flag=True,
    default=False,
    help="Serve plain HTTP; only behind a proxy that terminates TLS.",
)
@click.option("--public-url", help="Passport's external address, scheme://host[:port].")
@click.option(
    "--forwarded-allow-ips",
    help="Proxy addresses or networks trusted for X-Forwarded-*, comma-separated.",
)
@click.option("--log-format", type=click.Choice(["console", "json"]), help="Log rendering.")
@click.option(
    "--trace",
    type=click.Path(dir_okay=False, writable=True, resolve_path=True, path_type=Path),
    help="Append every SOAP message received and sent to FILE (created with mode 0600).",
)
@click.option("--debug", is_flag=True, default=False, help="Show backtraces in SOAP fault details.")
def run_command(
    *,
    host: str | None,
    port: int | None,
    workers: int | None,
    insecure_http: bool,
    public_url: str | None,
    forwarded_allow_ips: str | None,
    log_format: str | None,
    trace: Path | None,
    debug: bool,
) -> None:
    """Serve Passport (HTTPS with the certificate `passport init` wrote, unless told)."""
    settings = load_settings(
        host=host,
        port=port,
        workers=workers,
        # Without the flag the environment or passport.toml decides.
        insecure_http=True if insecure_http else None,
        public_url=public_url,
        forwarded_allow_ips=forwarded_allow_ips,
        log_format=log_format,
        trace_file=trace,
        debug=True if debug else None,
    )
    database_shown = masked_database_url(settings)
    server.preflight(settings)
    with open_database(settings) as database:
        require_current(database)
    workers_text = "1 worker" if settings.workers == 1 else f"{settings.workers} workers"
    click.echo(
        f"Passport listening on {listen_url(settings)} ({workers_text}; public URL "
        f"{settings.effective_public_url}; database {database_shown})"
    )
    server.serve(settings)
