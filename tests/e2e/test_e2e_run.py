"""`passport run` with flags: plain HTTP, several workers, JSON logs, SIGTERM, a busy port."""

from __future__ import annotations

import json
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import httpx
import pytest
from e2e_server import PassportLauncher, PassportServer, free_port, run_passport
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from passport.web.server import SHUTDOWN_GRACE_SECONDS

pytestmark = pytest.mark.e2e

CONVERGE_DEADLINE_S = 15.0
ROUTE = "Service/getApplication"


def _route_requests(server: PassportServer, route: str) -> float:
    """The requests /metrics counts for a route, over every method and status."""
    with server.client() as client:
        text = client.get("/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "passport_http_requests"
        for sample in family.samples
        if sample.name == "passport_http_requests_total" and sample.labels["route"] == route
    )


def _children(pid: int) -> list[int]:
    """The process IDs whose parent is `pid` (Linux /proc)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children.extend(int(child) for child in (task / "children").read_text().split())
    return children


def _workers(server: PassportServer, expected: int) -> list[int]:
    """The worker processes of a server, once `expected` of them run (with a deadline)."""
    deadline = time.monotonic() + CONVERGE_DEADLINE_S
    workers = _children(server.process.pid)
    while len(workers) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        workers = _children(server.process.pid)
    assert len(workers) == expected
    return workers


def _worker_count(pid: int, route: str) -> float:
    """What one worker alone counted for a route, read from its own multiprocess file."""
    maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    files = {line.split()[-1] for line in maps if line.endswith(f"/counter_{pid}.db")}
    total = 0.0
    for file in files:
        for key, value, _, _ in MmapedDict.read_all_values_from_file(file):
            _, sample, labels, _ = json.loads(key)
            if sample == "passport_http_requests_total" and labels["route"] == route:
                total += value
    return total


def test_insecure_http_serves_plain_http_without_hsts(launch_passport: PassportLauncher) -> None:
    server = launch_passport.start("--insecure-http")

    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        response = client.get("/Service/getApplication", params={"name": "Passport"})

    assert server.base_url.startswith("http://")
    assert response.status_code == 200
    assert response.json()["Data"]["Application"] == {"ID": 1}
    assert "strict-transport-security" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "x-request-id" in response.headers
    with (
        pytest.raises(httpx.ConnectError),
        httpx.Client(verify=server.ssl_context(), timeout=10) as tls_client,
    ):
        tls_client.get(f"https://127.0.0.1:{server.port}/healthz")
    assert f"Passport listening on http://127.0.0.1:{server.port}" in server.stdout()


def test_two_workers_metrics_count_every_request_exactly_once(
    launch_passport: PassportLauncher,
) -> None:
    server = launch_passport.start("--workers", "2")
    workers = _workers(server, 2)
    threads, per_thread = 8, 5

    def ask(_: int) -> list[int]:
        statuses = []
        for _ in range(per_thread):
            # A new connection per request, so that either worker may take it.
            with server.client() as client:
                response = client.get("/Service/getApplication", params={"name": "Passport"})
                statuses.append(response.status_code)
        return statuses

    # Load from several threads until each worker has served some of the requests itself
    # (how the kernel spreads connections over the workers is up to it).
    sent = 0
    per_worker = [0.0, 0.0]
    deadline = time.monotonic() + CONVERGE_DEADLINE_S
    while not all(per_worker) and time.monotonic() < deadline:
        with ThreadPoolExecutor(threads) as pool:
            statuses = [status for batch in pool.map(ask, range(threads)) for status in batch]
        assert statuses == [200] * len(statuses)
        sent += len(statuses)
        per_worker = [_worker_count(pid, ROUTE) for pid in workers]
    assert all(per_worker), per_worker

    # /metrics, answered by either worker, counts the requests of both, each once.
    deadline = time.monotonic() + CONVERGE_DEADLINE_S
    counted = _route_requests(server, ROUTE)
    while counted != sent and time.monotonic() < deadline:
        time.sleep(0.1)
        counted = _route_requests(server, ROUTE)
    assert counted == sent


def test_json_log_format_writes_an_access_line_per_request(
    launch_passport: PassportLauncher,
) -> None:
    server = launch_passport.start("--log-format", "json")
    with server.client() as client:
        response = client.get("/Service/getApplication", params={"name": "Passport"})
    request_id = response.headers["x-request-id"]

    deadline = time.monotonic() + CONVERGE_DEADLINE_S
    lines: list[dict[str, object]] = []
    while not lines and time.monotonic() < deadline:
        time.sleep(0.05)
        lines = [
            json.loads(line)
            for line in server.stderr().splitlines()
            if line.startswith("{") and request_id in line
        ]

    (line,) = lines
    assert line["route"] == ROUTE
    assert line["status"] == 200
    assert line["path"] == "/Service/getApplication"  # never the query string
    assert line["method"] == "GET"


def test_sigterm_stops_the_server_gracefully(launch_passport: PassportLauncher) -> None:
    server = launch_passport.start("--workers", "2")
    workers = _workers(server, 2)

    status = server.stop(signal.SIGTERM)

    # granian's main process stops its workers and returns; `passport run` then exits 0.
    assert status == 0
    assert "Granian shutdown completed" in server.stdout()  # granian logs to stdout
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)
    with pytest.raises(httpx.ConnectError), server.client() as client:
        client.get("/healthz")


def test_sigterm_while_workers_start_stops_without_waiting_for_the_kill_timeout(
    launch_passport: PassportLauncher,
) -> None:
    server = launch_passport.spawn("--workers", "3")
    # granian prints this once its own signal handlers are in place, then forks the workers.
    server.wait_for_output("Listening at")

    # Well under the kill timeout after which granian would end a stuck worker anyway.
    status = server.stop(signal.SIGTERM, deadline_s=SHUTDOWN_GRACE_SECONDS / 3)

    assert status == 0
    assert "refused to gracefully stop" not in server.stdout()


def test_a_second_server_on_a_busy_port_refuses_in_one_line(
    launch_passport: PassportLauncher,
) -> None:
    first = launch_passport.start()

    second = run_passport(first.home, "run", "--port", str(first.port))

    assert second.returncode == 1
    assert second.stderr.splitlines() == [
        f"passport: error: cannot listen on 127.0.0.1:{first.port}: Address already in use"
    ]
    assert second.stdout == ""


def test_run_before_init_fails_in_one_line(tmp_path: Path) -> None:
    result = run_passport(tmp_path / "nowhere", "run", "--port", str(free_port()))

    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("passport: error: TLS certificate")
    assert "Traceback" not in result.stderr


class DatabaseServer(Protocol):
    """What tests/conftest.py's ServerDatabases offers: a new empty database's URL."""

    def create(self, purpose: str) -> str:
        """A new empty database; returns its URL."""
        ...


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_two_workers_serve_the_original_envelope_from_a_server_database(
    launch_passport: PassportLauncher,
    backend: str,
    server_databases: dict[str, DatabaseServer],
) -> None:
    if backend not in server_databases:
        pytest.skip(f"PASSPORT_TEST_BACKENDS leaves out {backend}")
    environment = {"PASSPORT_DATABASE_URL": server_databases[backend].create("e2e")}
    home = launch_passport.new_home(environment)

    server = launch_passport.start("--workers", "2", home=home, env=environment)

    assert not (home / "passport.db").exists()
    with server.client() as client:
        response = client.get("/Service/getApplication", params={"name": "Passport"})
        ready = client.get("/readyz")
    assert response.json() == {
        "Success": True,
        "LoggedIn": False,
        "Data": {"Message": "Application ID for 'Passport' is: 1", "Application": {"ID": 1}},
        "ClientExceptions": [],
        "ServerExceptions": [],
    }
    assert ready.status_code == 200
