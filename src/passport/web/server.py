"""Serving the app with granian: TLS 1.2 minimum, N workers, graceful shutdown."""

from __future__ import annotations

import importlib
import ipaddress
import os
import shutil
import signal
import socket
import tempfile
from pathlib import Path

from granian import Granian
from granian.constants import HTTPModes, Interfaces, SSLProtocols

from passport.config import Settings

APP_FACTORY = "passport.web.asgi:app_from_environment"
# How the parent hands resolved settings to the workers it spawns.
SETTINGS_ENV = "PASSPORT_RUN_SETTINGS"
SHUTDOWN_GRACE_SECONDS = 30


class ServeError(Exception):
    """The server cannot start as configured; the message says why in one line."""


def tls_files(settings: Settings) -> tuple[Path | None, Path | None]:
    """The certificate and key to serve (None, None for plain HTTP); ServeError if missing."""
    if settings.insecure_http:
        return None, None
    cert, key = settings.tls_cert_path, settings.tls_key_path
    for label, path in (("certificate", cert), ("key", key)):
        if not path.is_file():
            raise ServeError(
                f"TLS {label} {path} not found: run `passport init` or set "
                "PASSPORT_TLS_CERT and PASSPORT_TLS_KEY (or pass --insecure-http behind "
                "a TLS-terminating proxy)"
            )
    return cert, key


def check_host(host: str) -> None:
    """ServeError unless `host` is an IP address, the only kind granian binds to."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ServeError(
            f"invalid setting PASSPORT_HOST: {host!r} is not an IP address "
            "(use 127.0.0.1, ::1, or 0.0.0.0 or :: for every interface)"
        ) from None


def check_address_free(host: str, port: int) -> None:
    """ServeError when the address cannot be bound, for example because a server holds it.

    granian binds with SO_REUSEPORT, so a second server on a busy port would start and
    silently share the traffic with the first; a plain bind finds the first one.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ServeError(f"cannot listen on {host}: {exc.strerror}") from None
    with socket.socket(family, kind, proto) as probe:
        # SO_REUSEADDR: connections of a previous run in TIME_WAIT do not count as busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def preflight(settings: Settings) -> tuple[Path | None, Path | None]:
    """Check what serving needs (TLS files, a free address); return the TLS pair."""
    cert, key = tls_files(settings)
    check_host(settings.host)
    check_address_free(settings.host, settings.port)
    return cert, key


def _stop_signals_end_the_process() -> None:
    # A forked worker inherits granian's main-process SIGTERM/SIGINT handler, which only
    # sets a flag in the worker's copy of the server: a stop signal that arrives before the
    # worker installs its own handlers is lost, and stopping then waits for the kill
    # timeout. A worker that serves nothing yet has nothing to finish, so until granian
    # installs its graceful handlers (before the worker serves) the signal ends it at once.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def serve(settings: Settings, *, target: str = APP_FACTORY) -> None:
    """Run the server in the foreground until SIGINT or SIGTERM."""
    cert, key = preflight(settings)
    metrics_dir = Path(tempfile.mkdtemp(prefix="passport-metrics-"))
    # Workers write their samples here and /metrics sums them. prometheus_client reads this
    # at import, so this module must not import it (nor passport.app) before this point.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    os.environ[SETTINGS_ENV] = settings.model_dump_json(exclude_unset=False)
    # Now that it may, import the app once here, so forked workers start in milliseconds.
    importlib.import_module(target.partition(":")[0])
    os.register_at_fork(after_in_child=_stop_signals_end_the_process)
    try:
        server = Granian(
            target,
            address=settings.host,
            port=settings.port,
            interface=Interfaces.ASGI,
            workers=settings.workers,
            http=HTTPModes.http1,
            websockets=False,
            factory=True,
            log_access=False,
            workers_kill_timeout=SHUTDOWN_GRACE_SECONDS,
            respawn_failed_workers=True,
            ssl_cert=cert,
            ssl_key=key,
            ssl_protocol_min=SSLProtocols.tls12,
        )
        server.serve()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
