"""End-to-end fixtures: `passport run` in a subprocess, reached over real sockets.

`launch_passport` starts servers with any flags (each in its own `passport init` home);
`passport_server` is one HTTPS server with default settings shared by read-only tests.
A failing test shows the stderr of every server it used.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from e2e_server import PassportLauncher, PassportServer

SERVERS_USED = pytest.StashKey[list[PassportServer]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the stderr of the servers a failed test used to its report."""
    report = yield
    if report.failed:
        for server in item.stash.get(SERVERS_USED, []):
            output = f"--- stdout ---\n{server.stdout()}\n--- stderr ---\n{server.stderr()}"
            report.sections.append((f"passport run on {server.base_url}", output))
    return report


def _used_by(item: pytest.Item) -> Callable[[PassportServer], None]:
    servers = item.stash.setdefault(SERVERS_USED, [])
    return servers.append


@pytest.fixture
def launch_passport(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[PassportLauncher]:
    """Starts `passport run` with the flags a test gives; stops every server at teardown."""
    launcher = PassportLauncher(tmp_path, on_spawn=_used_by(request.node))
    yield launcher
    launcher.stop_all()


@pytest.fixture(scope="session")
def shared_passport(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PassportServer]:
    """One HTTPS server with default settings for the whole session."""
    launcher = PassportLauncher(tmp_path_factory.mktemp("shared-passport"))
    try:
        yield launcher.start()
    finally:
        launcher.stop_all()


@pytest.fixture
def passport_server(
    shared_passport: PassportServer, request: pytest.FixtureRequest
) -> PassportServer:
    """The shared HTTPS server (base_url, home, cert), still running."""
    _used_by(request.node)(shared_passport)
    assert shared_passport.running(), shared_passport.stderr()
    return shared_passport
