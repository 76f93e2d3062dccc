"""`make bench`: load Passport with wrk on loopback and compare it with raw Starlette routes.

For each backend (SQLite file, PostgreSQL throwaway database) and worker count (1, 2) this
starts the server as `passport run --insecure-http` would (granian, bench/app.py's factory),
then runs wrk against four URLs served by that same server:

    hello        /raw/hello                               plain Starlette, no database
    raw select   /raw/select?name=Passport                plain Starlette, SELECT in threadpool
    getApp       /Service/getApplication?name=Passport    Passport, inline read (as shipped)
    getApp hop   /BenchHop/getApplication?name=Passport   Passport, read in the threadpool

Passport logs at its default level (info: one JSON access line per request) into a file, as
in production. Figures, ratios and the machine go to bench/results/ (JSON and the table).
Only 127.0.0.1 is loaded, every wrk run is bounded, and the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from passport.config import Settings
from passport.storage.engine import normalise_url

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SETTINGS_ENV = "PASSPORT_BENCH_SETTINGS"  # read by bench/serve.py
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
HOST = "127.0.0.1"
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 40
QUIET_LOAD_PER_CPU = 0.5
QUIET_POLL_S = 15

ROUTES = {
    "hello": "/raw/hello",
    "raw select": "/raw/select?name=Passport",
    "getApp": "/Service/getApplication?name=Passport",
    "getApp hop": "/BenchHop/getApplication?name=Passport",
}
EXPECTED_APPLICATION = {"Message": "Application ID for 'Passport' is: 1", "Application": {"ID": 1}}
_WRK_DURATION = re.compile(r"([\d.]+)(us|ms|s|m|h)")
_WRK_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


class BenchError(Exception):
    """The benchmark cannot go on; the message says why."""


@dataclass
class Measurement:
    """wrk against one URL: the median round, with every round's req/s."""

    backend: str
    workers: int
    route: str
    path: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    cpu_us_per_request: float | None = None
    rounds: list[float] = field(default_factory=list)


def main() -> int:
    """Run the benchmark; print and save its figures."""
    options = _parse_arguments()
    wrk = shutil.which("wrk")
    if wrk is None:
        print(
            "bench: wrk is not installed; install it (Debian: apt-get install wrk) and rerun.",
            file=sys.stderr,
        )
        return 2
    _wait_for_quiet(options.max_wait)
    started = time.monotonic()
    machine = _machine()
    measurements: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="passport-bench-") as scratch:
        for backend in options.backends:
            try:
                home = Path(scratch) / backend
                with _database(backend, home, options.postgres_url) as (url, version):
                    machine[f"{backend}_version"] = version
                    for workers in options.workers:
                        measurements += _bench_server(
                            wrk,
                            options,
                            backend=backend,
                            url=url,
                            workers=workers,
                            home=home,
                        )
            except BenchError as exc:
                print(f"bench: skipping {backend}: {exc}", file=sys.stderr)
    if not measurements:
        print("bench: nothing was measured", file=sys.stderr)
        return 1
    machine["elapsed_s"] = round(time.monotonic() - started, 1)
    machine["load_after"] = _load_average()
    table = _table(measurements, machine, options)
    print(table)
    _save(measurements, machine, options, table)
    return 0


def _parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=int, default=3, help="seconds per measured wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="measured runs per URL (median)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per URL")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t")
    parser.add_argument(
        "--backends",
        type=lambda value: [part.strip() for part in value.split(",") if part.strip()],
        default=["sqlite", "postgresql"],
        help="comma-separated: sqlite,postgresql",
    )
    parser.add_argument(
        "--workers",
        type=lambda value: [int(part) for part in value.split(",")],
        default=[1, 2],
        help="comma-separated worker counts",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("PASSPORT_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="a PostgreSQL server URL allowed to create and drop a throwaway database",
    )
    parser.add_argument(
        "--max-wait",
        type=int,
        default=60,
        help="seconds to wait at most for a quiet machine (load average) before starting",
    )
    parser.add_argument("--no-save", action="store_true", help="print only")
    return parser.parse_args()


# Databases -------------------------------------------------------------------------------


@contextmanager
def _database(backend: str, home: Path, postgres_url: str) -> Iterator[tuple[str | None, str]]:
    """A home made by `passport init` on this backend; yields the database URL and version.

    The URL is None for SQLite: the default file in the home.
    """
    if backend == "sqlite":
        _init(home, None)
        yield None, sqlite3.sqlite_version
        return
    if backend != "postgresql":
        raise BenchError(f"unknown backend {backend!r} (sqlite or postgresql)")
    admin = create_engine(normalise_url(postgres_url), isolation_level="AUTOCOMMIT")
    name = f"passport_bench_{secrets.token_hex(4)}"
    try:
        with admin.connect() as connection:
            version = str(connection.execute(text("SHOW server_version")).scalar_one())
            connection.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server means: skip it
        admin.dispose()
        raise BenchError(f"PostgreSQL at {postgres_url} is not usable: {exc}") from None
    try:
        url = normalise_url(postgres_url).set(database=name).render_as_string(hide_password=False)
        _init(home, url)
        yield url, version
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _init(home: Path, database_url: str | None) -> None:
    """`passport init`: home, migrated database, the Passport row, TLS and XKMS keys."""
    env = _clean_environment()
    if database_url is not None:
        env["PASSPORT_DATABASE_URL"] = database_url
    passport = Path(sys.executable).parent / "passport"
    done = subprocess.run(
        [str(passport), "init", "--home", str(home)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"passport init failed: {(done.stderr or done.stdout).strip()}")


def _clean_environment() -> dict[str, str]:
    """This environment without PASSPORT_* settings: the benchmark sets its own."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PASSPORT_")}


# The server ------------------------------------------------------------------------------


def _bench_server(
    wrk: str,
    options: argparse.Namespace,
    *,
    backend: str,
    url: str | None,
    workers: int,
    home: Path,
) -> list[Measurement]:
    settings = server_settings(home, url, workers=workers)
    port = settings.port
    log_path = home / f"server-{workers}.log"
    print(f"bench: {backend}, {workers} worker(s) on {HOST}:{port}", file=sys.stderr)
    with _server(settings, log_path) as group:
        base = f"http://{HOST}:{port}"
        _check_answers(base)
        for path in ROUTES.values():
            _wrk(wrk, base + path, options.warmup, options)
        # Rounds interleave the URLs, so a burst of load from elsewhere on the machine
        # touches every URL alike; each URL's figure is its median round.
        rounds: dict[str, list[Measurement]] = {route: [] for route in ROUTES}
        for _ in range(options.rounds):
            for route, path in ROUTES.items():
                cpu_before = _cpu_seconds(group)
                output = _wrk(wrk, base + path, options.duration, options)
                measurement = _measurement(output, backend, workers, route, path)
                cpu_after = _cpu_seconds(group)
                if cpu_before is not None and cpu_after is not None and measurement.requests:
                    cpu = (cpu_after - cpu_before) / measurement.requests
                    measurement.cpu_us_per_request = round(cpu * 1e6, 1)
                rounds[route].append(measurement)
    results = [_median(runs) for runs in rounds.values()]
    for m in results:
        print(f"bench:   {m.route:<11}{m.requests_per_second:>9.0f} req/s", file=sys.stderr)
    log_lines = sum(1 for _ in log_path.open(encoding="utf-8", errors="replace"))
    print(f"bench:   {log_lines} log lines written", file=sys.stderr)
    return results


def _median(runs: list[Measurement]) -> Measurement:
    ordered = sorted(runs, key=lambda m: m.requests_per_second)
    median = ordered[(len(ordered) - 1) // 2]
    median.rounds = [m.requests_per_second for m in runs]
    median.requests = sum(m.requests for m in runs)
    median.errors = sum(m.errors for m in runs)
    return median


def _cpu_seconds(group: int) -> float | None:
    """CPU time (user + system) used so far by every process in this process group.

    Per request, it is less skewed than req/s by other work on a shared machine; it leaves
    out the time a request waits (an inline read blocked on PostgreSQL) and the database
    server's own CPU.
    """
    if not Path("/proc/self/stat").is_file():
        return None  # not Linux: no CPU figures
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        # After the command name: state, ppid, pgrp, ... utime (12th), stime (13th).
        if int(fields[2]) == group:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def server_settings(home: Path, url: str | None, *, workers: int, **extra: Any) -> Settings:
    """Settings of a benchmarked server: plain HTTP on a free loopback port, Passport's
    default access log (JSON, info), and whatever a benchmark adds."""
    return Settings(
        home=home,
        database_url=url,
        host=HOST,
        port=_free_port(),
        workers=workers,
        insecure_http=True,
        log_format="json",
        log_level="info",
        **extra,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _server(settings: Settings, log_path: Path) -> Iterator[int]:
    env = _clean_environment()
    env[SETTINGS_ENV] = settings.model_dump_json()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.serve"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_until_up(process, f"http://{HOST}:{settings.port}/healthz", log_path)
            yield process.pid  # the process group of the server and its workers
        finally:
            _stop(process)


def _wait_until_up(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise BenchError(f"the server exited with {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310 - loopback
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise BenchError(f"the server did not answer {url} within {START_TIMEOUT_S} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _check_answers(base: str) -> None:
    """Every URL answers what it should before it is loaded: a benchmark of errors is void."""
    for route, path in ROUTES.items():
        with urllib.request.urlopen(base + path, timeout=5) as answer:  # noqa: S310 - loopback
            body = answer.read()
        if route == "hello":
            ok = body == b"Hello, world!"
        elif route == "raw select":
            ok = json.loads(body) == {"id": 1, "name": "Passport"}
        else:
            ok = json.loads(body)["Data"] == EXPECTED_APPLICATION
        if not ok:
            raise BenchError(f"{path} answered {body[:200]!r}")


# wrk -------------------------------------------------------------------------------------


def _wrk(wrk: str, url: str, seconds: int, options: argparse.Namespace) -> str:
    command = [
        wrk,
        f"-t{options.threads}",
        f"-c{options.connections}",
        f"-d{seconds}s",
        "--latency",
        url,
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 30, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def _measurement(output: str, backend: str, workers: int, route: str, path: str) -> Measurement:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    if not (rate and total and p50 and p99):
        raise BenchError(f"cannot read wrk's output:\n{output}")
    errors = sum(
        int(count)
        for count in re.findall(r"(?:connect|read|write|timeout) (\d+)", output)
        + re.findall(r"Non-2xx or 3xx responses: (\d+)", output)
    )
    return Measurement(
        backend=backend,
        workers=workers,
        route=route,
        path=path,
        requests_per_second=float(rate.group(1)),
        p50_ms=_milliseconds(p50.group(1)),
        p99_ms=_milliseconds(p99.group(1)),
        requests=int(total.group(1)),
        errors=errors,
    )


def _milliseconds(value: str) -> float:
    match = _WRK_DURATION.fullmatch(value)
    if match is None:
        raise BenchError(f"cannot read the duration {value!r}")
    return round(float(match.group(1)) * _WRK_UNITS_MS[match.group(2)], 3)


# Reporting -------------------------------------------------------------------------------


def _machine() -> dict[str, Any]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = _git("rev-parse", "--short", "HEAD")
    if _git("status", "--porcelain", "--untracked-files=no", "--", "src", "bench"):
        commit += "+changes"
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit,
        "cpus": os.cpu_count(),
        "load_before": _load_average(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {
            name: metadata.version(name)
            for name in ("granian", "starlette", "sqlalchemy", "structlog", "psycopg")
        },
    }


def _wait_for_quiet(max_wait_s: int) -> None:
    """Wait, within bounds, until the load average says others leave the CPUs alone."""
    quiet = QUIET_LOAD_PER_CPU * (os.cpu_count() or 1)
    deadline = time.monotonic() + max_wait_s
    while os.getloadavg()[0] > quiet and time.monotonic() < deadline:
        print(
            f"bench: load average {os.getloadavg()[0]:.2f}; waiting for it to fall under "
            f"{quiet:.1f} (at most {max_wait_s} s in all)",
            file=sys.stderr,
        )
        time.sleep(QUIET_POLL_S)
    if os.getloadavg()[0] > quiet:
        print(
            f"bench: warning: load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
            "other work on this machine will skew the figures",
            file=sys.stderr,
        )


def _load_average() -> str:
    """The 1-minute load average: other work on the machine skews every figure."""
    return f"{os.getloadavg()[0]:.2f}"


def _git(*arguments: str) -> str:
    try:
        done = subprocess.run(
            ["git", *arguments], cwd=ROOT, capture_output=True, text=True, check=False
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def _table(
    measurements: list[Measurement], machine: dict[str, Any], options: argparse.Namespace
) -> str:
    lines = [
        f"Passport benchmark, {machine['date']}, commit {machine['commit']}",
        f"{machine['cpus']} CPUs ({machine['cpu']}), Python {machine['python']}, "
        f"granian {machine['versions']['granian']}",
        f"wrk -t{options.threads} -c{options.connections} on loopback, plain HTTP: median of "
        f"{options.rounds} interleaved {options.duration}s runs per URL after "
        f"{options.warmup}s warm-up",
        "Passport logs at its default level, info (a JSON access line per request), to a file",
        f"load average before/after: {machine['load_before']} / {machine.get('load_after')}",
        "",
        f"{'backend':<11}{'workers':>7}  {'route':<11}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'CPU us/req':>11}{'errors':>8}",
    ]
    for m in measurements:
        lines.append(
            f"{m.backend:<11}{m.workers:>7}  {m.route:<11}{m.requests_per_second:>10.0f}"
            f"{m.p50_ms:>9.2f}{m.p99_ms:>9.2f}{_cpu(m):>11}{m.errors:>8}"
        )
    lines += ["", "ratios of req/s (getApp = Passport as shipped, inline read):"]
    lines.append(
        f"{'backend':<11}{'workers':>7}  {'getApp/raw select':>18}{'getApp/hello':>14}"
        f"{'hop/raw select':>16}{'inline/hop':>12}"
    )
    for backend, workers, rates in _groups(measurements):
        lines.append(
            f"{backend:<11}{workers:>7}  "
            f"{_ratio(rates, 'getApp', 'raw select'):>18}"
            f"{_ratio(rates, 'getApp', 'hello'):>14}"
            f"{_ratio(rates, 'getApp hop', 'raw select'):>16}"
            f"{_ratio(rates, 'getApp', 'getApp hop'):>12}"
        )
    lines += ["", "target: getApp/raw select >= 1.00x"]
    return "\n".join(lines)


def _cpu(m: Measurement) -> str:
    return "-" if m.cpu_us_per_request is None else f"{m.cpu_us_per_request:.0f}"


def _groups(measurements: list[Measurement]) -> Iterator[tuple[str, int, dict[str, float]]]:
    keys = dict.fromkeys((m.backend, m.workers) for m in measurements)
    for backend, workers in keys:
        rates = {
            m.route: m.requests_per_second
            for m in measurements
            if (m.backend, m.workers) == (backend, workers)
        }
        yield backend, workers, rates


def _ratio(rates: dict[str, float], numerator: str, denominator: str) -> str:
    if not rates.get(denominator) or numerator not in rates:
        return "-"
    return f"{rates[numerator] / rates[denominator]:.2f}x"


def _save(
    measurements: list[Measurement],
    machine: dict[str, Any],
    options: argparse.Namespace,
    table: str,
) -> None:
    if options.no_save:
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"{machine['date'].replace(':', '').replace('-', '')}-{machine['commit']}"
    document = {
        "machine": machine,
        "wrk": {
            "threads": options.threads,
            "connections": options.connections,
            "duration_s": options.duration,
            "rounds": options.rounds,
            "warmup_s": options.warmup,
        },
        "routes": ROUTES,
        "measurements": [asdict(m) for m in measurements],
        "ratios": {
            f"{backend}/{workers}": {
                "getApp/raw select": _ratio(rates, "getApp", "raw select"),
                "getApp/hello": _ratio(rates, "getApp", "hello"),
                "hop/raw select": _ratio(rates, "getApp hop", "raw select"),
                "inline/hop": _ratio(rates, "getApp", "getApp hop"),
            }
            for backend, workers, rates in _groups(measurements)
        },
    }
    stem.with_suffix(".json").write_text(json.dumps(document, indent=2) + "\n")
    stem.with_suffix(".txt").write_text(table + "\n")
    print(f"\nbench: saved {stem.with_suffix('.json').relative_to(ROOT)} and .txt")


if __name__ == "__main__":
    sys.exit(main())
