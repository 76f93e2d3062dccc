"""Serving the app with granian: TLS 1.2 minimum, N workers, graceful shutdown."""

from __future__ import annotations

import importlib
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
    check_address_free(settings.host, settings.port)
    return cert, key


class _WorkerStopSignals:
    """Fork hooks that make a stop signal end a granian worker that is not serving yet.

    A forked worker inherits the main process's SIGTERM/SIGINT handler, which only sets a
    flag in the worker's copy of the server: a stop signal that reached the worker before
    granian installed the worker's own handlers was lost, and stopping then waited for the
    kill timeout. A worker that serves nothing yet has nothing to finish, so it gets the
    default action (end at once) until granian installs its graceful handlers. The signals
    stay blocked across fork, so none can slip in before that.
    """

    signals = frozenset({signal.SIGTERM, signal.SIGINT})

    def __init__(self) -> None:
        self.saved_mask: set[int | signal.Signals] = set()

    def before_fork(self) -> None:
        """In the parent: hold stop signals back while the child is made."""
        self.saved_mask = signal.pthread_sigmask(signal.SIG_BLOCK, self.signals)

    def after_fork_in_parent(self) -> None:
        """In the parent: deliver any stop signal that arrived meanwhile."""
        signal.pthread_sigmask(signal.SIG_SETMASK, self.saved_mask)

    def after_fork_in_child(self) -> None:
        """In the new worker: a stop signal ends it, until granian sets graceful handlers."""
        for stop_signal in self.signals:
            signal.signal(stop_signal, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, self.saved_mask)

    def install(self) -> None:
        """Register the hooks for every fork of this process from now on."""
        os.register_at_fork(
            before=self.before_fork,
            after_in_parent=self.after_fork_in_parent,
            after_in_child=self.after_fork_in_child,
        )


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
    _WorkerStopSignals().install()
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
