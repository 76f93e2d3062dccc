"""`passport run` hosting the echo service, in a subprocess on a loopback port."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

TESTS_DIR = Path(__file__).resolve().parent.parent
STARTUP_DEADLINE_S = 30.0
POLL_INTERVAL_S = 0.05


@dataclass(frozen=True)
class RunningPassport:
    """A running server: its address and where its trace and logs go."""

    base_url: str
    trace_file: Path
    log_file: Path


def _passport() -> str:
    found = shutil.which("passport", path=str(Path(sys.executable).parent))
    assert found is not None, "the passport console script is not installed"
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def passport_with_echo(home: Path) -> Iterator[RunningPassport]:
    """`passport init` and `passport run --trace` with the echo service, stopped at the end."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PASSPORT_")}
    environment["PASSPORT_HOME"] = str(home)
    environment["PASSPORT_SOAP_SERVICES"] = json.dumps(["soap.echo:create"])
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(TESTS_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    subprocess.run([_passport(), "init"], env=environment, check=True, capture_output=True)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    trace_file = home / "trace.log"
    log_file = home / "run.log"
    command = [
        _passport(),
        "run",
        "--insecure-http",
        f"--port={port}",
        f"--public-url={base_url}",
        f"--trace={trace_file}",
    ]
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            command, env=environment, stdout=log, stderr=log, start_new_session=True
        )
    try:
        _wait_until_healthy(process, base_url, log_file)
        yield RunningPassport(base_url, trace_file, log_file)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def _wait_until_healthy(process: subprocess.Popen[bytes], base_url: str, log_file: Path) -> None:
    # A subprocess gives no readiness signal but its answers: poll /healthz.
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    with httpx.Client(base_url=base_url, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"passport run exited:\n{log_file.read_text()}")
            try:
                if client.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(POLL_INTERVAL_S)
    raise AssertionError(f"passport run did not answer in time:\n{log_file.read_text()}")
