"""Serve the benchmark app with `passport run`'s server: `python -m bench.serve`.

The settings come as JSON in PASSPORT_BENCH_SETTINGS; run from the repository root (or
with it on PYTHONPATH) so that granian's workers can import `bench.app`.
"""

from __future__ import annotations

import json
import os

from passport.config import Settings
from passport.web.server import serve

SETTINGS_ENV = "PASSPORT_BENCH_SETTINGS"
TARGET = "bench.app:bench_app"


def main() -> None:
    """Serve until SIGTERM or SIGINT."""
    serve(Settings(**json.loads(os.environ[SETTINGS_ENV])), target=TARGET)


if __name__ == "__main__":
    main()
