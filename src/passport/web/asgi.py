"""The factory granian's workers call: settings come from the parent `passport run`."""

from __future__ import annotations

import json
import os

from starlette.types import ASGIApp

from passport.app import create_app
from passport.config import Settings
from passport.web.server import SETTINGS_ENV


def app_from_environment() -> ASGIApp:
    """Build the app from the settings `passport run` resolved and handed down."""
    encoded = os.environ.get(SETTINGS_ENV)
    settings = Settings(**json.loads(encoded)) if encoded else Settings()
    return create_app(settings)
