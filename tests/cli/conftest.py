"""CLI fixtures: a clean PASSPORT_* environment with PASSPORT_HOME in tmp_path, and a runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_helpers import Cli


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """PASSPORT_HOME for the test (not created yet); no other PASSPORT_* setting leaks in."""
    for name in list(os.environ):
        if name.startswith("PASSPORT_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("PASSPORT_HOME", str(home))
    return home


@pytest.fixture
def cli() -> Cli:
    """The `passport` command line."""
    return Cli()


@pytest.fixture
def initialised(cli: Cli, home: Path) -> Path:
    """A home that `passport init` made; returns it."""
    result = cli("init")
    assert result.exit_code == 0, result.output
    return home
