"""`passport init` and `passport run` as subprocesses, the way a user starts them."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

STARTUP_DEADLINE_S = 30.0
STOP_DEADLINE_S = 30.0
POLL_INTERVAL_S = 0.05
START_ATTEMPTS = 3


class ServerFailed(AssertionError):
    """`passport run` exited or did not answer in time; the message carries its stderr."""


def passport_command() -> str:
    """The `passport` console script of the virtualenv running the tests."""
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("passport", path=search)
    if found is None:
        raise RuntimeError("the `passport` console script is not installed: pip install -e .")
    return found


def passport_environment(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test's environment without any PASSPORT_* setting, with PASSPORT_HOME set."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PASSPORT_") and name != "PROMETHEUS_MULTIPROC_DIR"
    }
    environment["PASSPORT_HOME"] = str(home)
    environment.update(extra or {})
    return environment


def run_passport(
    home: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a `passport` command to completion."""
    return subprocess.run(
        [passport_command(), *args],
        env=passport_environment(home, env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def init_home(home: Path, env: Mapping[str, str] | None = None) -> None:
    """`passport init` a home; fails the test with the command's output if it fails."""
    result = run_passport(home, "init", env=env)
    if result.returncode != 0:
        raise AssertionError(f"passport init failed:\n{result.stdout}\n{result.stderr}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PassportServer:
    """A running `passport run`: its address, home and output."""

    home: Path
    port: int
    https: bool
    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    _files: list[IO[bytes]] = field(default_factory=list, repr=False)

    @property
    def base_url(self) -> str:
        """Where it answers, e.g. https://127.0.0.1:PORT."""
        return f"{'https' if self.https else 'http'}://127.0.0.1:{self.port}"

    @property
    def cert(self) -> Path:
        """The certificate `passport init` wrote, which the server presents."""
        return self.home / "tls" / "cert.pem"

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts exactly the init certificate."""
        return ssl.create_default_context(cafile=str(self.cert))

    def client(self, **kwargs: Any) -> httpx.Client:
        """An HTTP client for this server, verifying its certificate."""
        verify: ssl.SSLContext | bool = self.ssl_context() if self.https else True
        return httpx.Client(base_url=self.base_url, verify=verify, timeout=10, **kwargs)

    def stdout(self) -> str:
        """What the server wrote to stdout so far."""
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        """What the server wrote to stderr so far (granian's and Passport's logs)."""
        return self.stderr_path.read_text(errors="replace")

    def running(self) -> bool:
        """True while the main process has not exited."""
        return self.process.poll() is None

    def wait_until_healthy(self, deadline_s: float = STARTUP_DEADLINE_S) -> None:
        """Poll /healthz until it answers 200; ServerFailed if the process exits or time is up."""
        deadline = time.monotonic() + deadline_s
        with self.client() as client:
            while time.monotonic() < deadline:
                if not self.running():
                    raise ServerFailed(self._failure("exited during start-up"))
                try:
                    if client.get("/healthz", timeout=2).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(POLL_INTERVAL_S)
        raise ServerFailed(self._failure(f"did not answer /healthz within {deadline_s} s"))

    def wait_for_output(self, text: str, deadline_s: float = STARTUP_DEADLINE_S) -> None:
        """Poll stdout until `text` appears; ServerFailed if the process exits or time is up."""
        deadline = time.monotonic() + deadline_s
        while text not in self.stdout():
            if not self.running():
                raise ServerFailed(self._failure(f"exited before printing {text!r}"))
            if time.monotonic() > deadline:
                raise ServerFailed(self._failure(f"did not print {text!r} in {deadline_s} s"))
            time.sleep(POLL_INTERVAL_S / 5)

    def stop(self, signal_number: int = signal.SIGTERM, deadline_s: float = STOP_DEADLINE_S) -> int:
        """Send a signal to the main process and wait for it to exit; its exit status."""
        if self.running():
            self.process.send_signal(signal_number)
        try:
            status = self.process.wait(timeout=deadline_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ServerFailed(self._failure(f"did not stop within {deadline_s} s")) from None
        self._close_files()
        return status

    def kill(self) -> None:
        """Kill the server and its workers (its own process group) at once."""
        if self.running():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_DEADLINE_S)
        self._close_files()

    def _close_files(self) -> None:
        for file in self._files:
            file.close()
        self._files.clear()

    def _failure(self, what: str) -> str:
        return (
            f"passport run {what} (exit status {self.process.poll()})\n"
            f"--- stdout ---\n{self.stdout()}\n--- stderr ---\n{self.stderr()}"
        )


class PassportLauncher:
    """Starts `passport run` processes under a folder, and stops them all at the end."""

    def __init__(
        self, base: Path, on_spawn: Callable[[PassportServer], None] | None = None
    ) -> None:
        self.base = base
        self.servers: list[PassportServer] = []
        self.on_spawn = on_spawn

    def new_home(self, env: Mapping[str, str] | None = None) -> Path:
        """A home made by `passport init`."""
        home = self.base / f"home-{len(list(self.base.glob('home-*')))}"
        init_home(home, env)
        return home

    def start(
        self, *args: str, home: Path | None = None, env: Mapping[str, str] | None = None
    ) -> PassportServer:
        """`passport run --port <free port> ARGS` in a new initialised home (or `home`)."""
        home = home or self.new_home(env)
        https = "--insecure-http" not in args
        for attempt in range(START_ATTEMPTS):
            server = self._spawn(home, args, env, https=https, attempt=attempt)
            try:
                server.wait_until_healthy()
            except ServerFailed:
                # Another process may have taken the free port in the meantime: try another.
                if "cannot listen on" in server.stderr() and attempt + 1 < START_ATTEMPTS:
                    continue
                raise
            return server
        raise AssertionError("unreachable")

    def spawn(
        self, *args: str, home: Path | None = None, env: Mapping[str, str] | None = None
    ) -> PassportServer:
        """`passport run --port <free port> ARGS`, without waiting for it to answer."""
        home = home or self.new_home(env)
        return self._spawn(home, args, env, https="--insecure-http" not in args, attempt=0)

    def _spawn(
        self,
        home: Path,
        args: tuple[str, ...],
        env: Mapping[str, str] | None,
        *,
        https: bool,
        attempt: int,
    ) -> PassportServer:
        port = free_port()
        logs = self.base / f"run-{len(self.servers)}-{attempt}"
        logs.mkdir(parents=True)
        stdout = (logs / "stdout").open("wb")
        stderr = (logs / "stderr").open("wb")
        process = subprocess.Popen(
            [passport_command(), "run", "--port", str(port), *args],
            env=passport_environment(home, env),
            stdout=stdout,
            stderr=stderr,
            # Its own process group, so that teardown can always end the workers too.
            start_new_session=True,
        )
        server = PassportServer(
            home=home,
            port=port,
            https=https,
            process=process,
            stdout_path=logs / "stdout",
            stderr_path=logs / "stderr",
            _files=[stdout, stderr],
        )
        self.servers.append(server)
        if self.on_spawn is not None:
            self.on_spawn(server)
        return server

    def stop_all(self) -> None:
        """Stop every server still running: SIGTERM, then SIGKILL after the deadline."""
        for server in self.servers:
            if server.running():
                try:
                    server.stop(deadline_s=10)
                except ServerFailed:
                    server.kill()
            else:
                server.kill()
