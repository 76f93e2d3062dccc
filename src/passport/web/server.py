"""Serving the app with granian: TLS 1.2 minimum, N workers, graceful shutdown."""

from __future__ import annotations

import os
import shutil
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


def serve(settings: Settings, *, target: str = APP_FACTORY) -> None:
    """Run the server in the foreground until SIGINT or SIGTERM."""
    cert, key = tls_files(settings)
    metrics_dir = Path(tempfile.mkdtemp(prefix="passport-metrics-"))
    # Workers write their samples here and /metrics sums them. prometheus_client reads this
    # at import, so this module must not import it (nor passport.app) before this point.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    os.environ[SETTINGS_ENV] = settings.model_dump_json(exclude_unset=False)
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
