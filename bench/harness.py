"""What the accounts, XKMS and SOAP-peer benchmarks share, on top of bench/run.py's helpers.

- wrk replaying prepared requests through bench/requests.lua, which checks every answer
  (a benchmark of errors is void) and can send each request at most once;
- raw in-process loops (argon2, xmlsec) in N processes started together;
- interleaved rounds: every load of a comparison runs once per round, in turn, so a burst
  of other work on the machine touches each alike; a figure is its median round;
- CPU accounting: the server's CPU per request, and the CPU that processes other than the
  benchmark's own used meanwhile (other engineers' test runs, a database server);
- waiting (bounded) for a quiet machine, and results saved to bench/results/.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from bench.run import (
    DEFAULT_POSTGRES_URL,
    RESULTS,
    ROOT,
    BenchError,
    _cpu_seconds,
    _database,
    _machine,
    _measurement,
    _stop,
    _wait_until_up,
)

T = TypeVar("T")
REQUESTS_LUA = ROOT / "bench" / "requests.lua"
QUIET_CORES = 0.3  # CPU use by others (in cores) below which the machine counts as quiet
QUIET_POLL_S = 20


# Prepared requests -----------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One HTTP request for bench/requests.lua."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""

    def encode(self) -> bytes:
        """METHOD PATH, header lines, a blank line, the body (no NUL bytes allowed)."""
        head = [f"{self.method} {self.path}", *(f"{k}: {v}" for k, v in self.headers.items())]
        data = ("\r\n".join(head) + "\r\n\r\n").encode() + self.body
        if b"\0" in data:
            raise BenchError("a request record contains a NUL byte")
        return data


def write_records(path: Path, records: Sequence[Record]) -> Path:
    """Write records for bench/requests.lua; returns the path."""
    path.write_bytes(b"\0".join(record.encode() for record in records))
    return path


# One measured run ------------------------------------------------------------------------


@dataclass
class Sample:
    """One timed run of one load."""

    rate: float
    count: int
    errors: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    server_cpu_us: float | None = None
    other_cores: float | None = None
    exhausted: bool = False


@dataclass
class Figure:
    """A load's result: its median round (by rate), with every round's rate."""

    section: str
    name: str
    processes: int
    rate: float
    p50_ms: float | None
    p99_ms: float | None
    count: int
    errors: int
    server_cpu_us: float | None
    other_cores: float | None
    rounds: list[float] = field(default_factory=list)
    note: str = ""


@dataclass
class Load:
    """Something to measure for `seconds`: a wrk run or a raw loop."""

    name: str
    processes: int
    measure: Callable[[float], Sample]
    note: str = ""
    warm: bool = True  # raw loops warm up in their own processes


@dataclass
class WrkTarget:
    """A URL and the records and check wrk uses on it."""

    base_url: str
    records: Path
    expect: str
    server_group: int | None = None
    once: bool = False
    next_record: int = 1
    exhausted: bool = False


def wrk_load(
    name: str, target: WrkTarget, options: argparse.Namespace, processes: int, note: str = ""
) -> Load:
    """A Load that runs wrk with bench/requests.lua against one target."""

    def measure(seconds: float) -> Sample:
        return run_wrk(target, seconds, options)

    return Load(name, processes, measure, note)


def run_wrk(target: WrkTarget, seconds: float, options: argparse.Namespace) -> Sample:
    """wrk for `seconds` with the target's records; the server's CPU per answer."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError("wrk is not installed")
    first = target.next_record
    command = [
        wrk,
        f"-t{options.threads}",
        f"-c{options.connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={options.timeout:g}s",
        "--latency",
        "-s",
        str(REQUESTS_LUA),
        target.base_url,
        "--",
        str(target.records),
        target.expect,
        "once" if target.once else "cycle",
        str(first),
        str(options.threads),
    ]
    cpu_before = _cpu_seconds(target.server_group) if target.server_group else None
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    cpu_after = _cpu_seconds(target.server_group) if target.server_group else None
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    output = done.stdout
    parsed = _measurement(output, "", 0, "", "")
    failures = _lua_figure(output, "bench-failures")
    if target.once:
        target.next_record = max(first, _lua_figure(output, "bench-next"))
    exhausted = _lua_figure(output, "bench-exhausted") > 0
    target.exhausted = target.exhausted or exhausted
    server_cpu = None
    if cpu_before is not None and cpu_after is not None and parsed.requests:
        server_cpu = round((cpu_after - cpu_before) / parsed.requests * 1e6, 1)
    return Sample(
        rate=parsed.requests_per_second,
        count=parsed.requests,
        errors=parsed.errors + failures,
        p50_ms=parsed.p50_ms,
        p99_ms=parsed.p99_ms,
        server_cpu_us=server_cpu,
        exhausted=exhausted,
    )


def _lua_figure(output: str, label: str) -> int:
    for line in output.splitlines():
        if line.startswith(label + ":"):
            return int(line.split(":", 1)[1])
    raise BenchError(f"wrk's output has no {label} line:\n{output}")


# Raw loops in N processes ----------------------------------------------------------------


def raw_load(name: str, target: str, arguments: tuple[Any, ...], processes: int) -> Load:
    """A Load running `module:function(deadline, *arguments) -> count` in N processes.

    The processes start, prepare (the function's first call with deadline 0 warms up),
    wait at a barrier, then loop until the same deadline; the rate is their summed count
    over the window.
    """

    def measure(seconds: float) -> Sample:
        return run_raw(target, arguments, processes, seconds)

    return Load(name, processes, measure, warm=False)


def run_raw(target: str, arguments: tuple[Any, ...], processes: int, seconds: float) -> Sample:
    """Run a raw loop in `processes` processes for `seconds`."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes + 1)
    results = context.Queue()
    workers = [
        context.Process(
            target=_raw_worker, args=(target, arguments, seconds, barrier, results), daemon=True
        )
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    barrier.wait(timeout=60)
    counts = [results.get(timeout=seconds + 60) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    total = sum(count for count, _ in counts)
    window = max(elapsed for _, elapsed in counts)
    return Sample(rate=total / window, count=total)


def _raw_worker(
    target: str,
    arguments: tuple[Any, ...],
    seconds: float,
    barrier: Any,
    results: Any,
) -> None:
    module_name, _, function_name = target.partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    function(0.0, *arguments)  # prepare and warm up: loads keys, parses documents
    barrier.wait(timeout=60)
    started = time.perf_counter()
    count = function(started + seconds, *arguments)
    results.put((count, time.perf_counter() - started))


# Interleaved rounds ----------------------------------------------------------------------


def interleave(section: str, loads: Sequence[Load], options: argparse.Namespace) -> list[Figure]:
    """Warm every load up, then measure them in turn, `options.rounds` times."""
    if options.warmup > 0:
        for load in loads:
            if load.warm:
                load.measure(options.warmup)
    samples: dict[str, list[Sample]] = {load.name: [] for load in loads}
    for _ in range(options.rounds):
        for load in loads:
            probe = CpuProbe()
            sample = load.measure(options.duration)
            sample.other_cores = probe.others()
            samples[load.name].append(sample)
    figures = [_figure(section, load, samples[load.name]) for load in loads]
    for figure in figures:
        print(
            f"bench:   {section} {figure.name:<22}{figure.rate:>9.1f}/s"
            f"  errors {figure.errors}  others {_cores(figure.other_cores)} cores",
            file=sys.stderr,
        )
    return figures


def _figure(section: str, load: Load, samples: list[Sample]) -> Figure:
    ordered = sorted(samples, key=lambda sample: sample.rate)
    median = ordered[(len(ordered) - 1) // 2]
    note = load.note
    if any(sample.exhausted for sample in samples):
        note = (note + "; " if note else "") + "ran out of prepared requests"
    return Figure(
        section=section,
        name=load.name,
        processes=load.processes,
        rate=round(median.rate, 1),
        p50_ms=median.p50_ms,
        p99_ms=median.p99_ms,
        count=sum(sample.count for sample in samples),
        errors=sum(sample.errors for sample in samples),
        server_cpu_us=median.server_cpu_us,
        other_cores=median.other_cores,
        rounds=[round(sample.rate, 1) for sample in samples],
        note=note,
    )


# CPU used by others ----------------------------------------------------------------------


def _machine_busy_seconds() -> float | None:
    """CPU seconds every process on the machine used since boot (all cores)."""
    stat = Path("/proc/stat")
    if not stat.is_file():
        return None
    fields = [int(value) for value in stat.read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy = sum(fields[:8]) - idle  # guest time is already in user time
    return busy / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    """CPU seconds of this process and its waited-for children (wrk, raw loops)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class CpuProbe:
    """How many cores processes outside the benchmark used between start and `others()`.

    The benchmark's own processes are this one, its finished children and the process
    groups of the servers it started (SERVER_GROUPS); everything else — tests run by
    others, and a PostgreSQL server — counts as others.
    """

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.machine = _machine_busy_seconds()
        self.ours = _ours()

    def others(self) -> float | None:
        """Cores used by others since the probe started."""
        machine = _machine_busy_seconds()
        if machine is None or self.machine is None:
            return None
        elapsed = time.monotonic() - self.started
        used = (machine - self.machine) - (_ours() - self.ours)
        return round(max(0.0, used / elapsed), 2)


SERVER_GROUPS: set[int] = set()


def _ours() -> float:
    return _own_seconds() + sum(_cpu_seconds(group) or 0.0 for group in SERVER_GROUPS)


def _cores(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def wait_until_quiet(max_wait_s: float) -> dict[str, Any]:
    """Wait (at most `max_wait_s`) until others use under QUIET_CORES; report what was seen."""
    deadline = time.monotonic() + max_wait_s
    waited = 0.0
    while True:
        probe = CpuProbe()
        time.sleep(3)
        busy = probe.others() or 0.0
        if busy < QUIET_CORES or time.monotonic() >= deadline:
            break
        print(
            f"bench: others use {busy:.2f} cores (load {os.getloadavg()[0]:.2f}); "
            f"waiting {QUIET_POLL_S} s for a quieter machine",
            file=sys.stderr,
        )
        time.sleep(QUIET_POLL_S)
        waited += QUIET_POLL_S + 3
    if busy >= QUIET_CORES:
        print(
            f"bench: warning: others still use {busy:.2f} cores; figures will be skewed",
            file=sys.stderr,
        )
    return {"others_cores_before": round(busy, 2), "waited_s": round(waited)}


# Servers ---------------------------------------------------------------------------------


@contextmanager
def process(
    command: Sequence[str],
    log_path: Path,
    health_url: str,
    *,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
) -> Iterator[int]:
    """Start a server in its own process group, wait for `health_url`; yields the group."""
    with log_path.open("wb") as log:
        started = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        SERVER_GROUPS.add(started.pid)
        try:
            _wait_until_up(started, health_url, log_path)
            yield started.pid
        finally:
            _stop(started)
            SERVER_GROUPS.discard(started.pid)


@contextmanager
def counted(group: int) -> Iterator[int]:
    """Count a server group (started by bench/run.py's _server) as the benchmark's own."""
    SERVER_GROUPS.add(group)
    try:
        yield group
    finally:
        SERVER_GROUPS.discard(group)


# Options, machine, results ---------------------------------------------------------------


def arguments(description: str) -> argparse.ArgumentParser:
    """The options every one of these benchmarks takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--duration", type=float, default=3, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per load")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t")
    parser.add_argument(
        "--timeout",
        type=float,
        default=10,
        help="wrk --timeout: an answer later than this counts as an error",
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        default=120,
        help="seconds to wait at most for a quiet machine before starting",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("PASSPORT_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="a PostgreSQL server URL allowed to create and drop a throwaway database",
    )
    parser.add_argument("--no-save", action="store_true", help="print only")
    return parser


def machine(extra_packages: Sequence[str] = ()) -> dict[str, Any]:
    """bench/run.py's machine description, with the versions of more packages."""
    described = _machine()
    for name in extra_packages:
        try:
            described["versions"][name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            described["versions"][name] = "not installed"
    return described


def method_line(options: argparse.Namespace) -> str:
    """How every load was run, for the table's header."""
    return (
        f"wrk -t{options.threads} -c{options.connections} on loopback, plain HTTP, "
        f"bench/requests.lua checking every answer; median of {options.rounds} interleaved "
        f"{options.duration:g}s runs after {options.warmup:g}s warm-up"
    )


def figure_rows(figures: Sequence[Figure]) -> list[str]:
    """Table rows: rate, latency, server CPU per request, others' CPU, errors."""
    lines = [
        f"{'section':<11}{'load':<24}{'procs':>5}{'per s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'CPU us/req':>11}{'others':>8}{'errors':>8}"
    ]
    for f in figures:
        lines.append(
            f"{f.section:<11}{f.name:<24}{f.processes:>5}{f.rate:>9.1f}"
            f"{_optional(f.p50_ms):>9}{_optional(f.p99_ms):>9}"
            f"{_optional(f.server_cpu_us, 0):>11}{_cores(f.other_cores):>8}{f.errors:>8}"
            + (f"  ({f.note})" if f.note else "")
        )
    return lines


def _optional(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def ratio(figures: Sequence[Figure], section: str, numerator: str, denominator: str) -> float:
    """rate(numerator) / rate(denominator) within a section; NaN when one is missing.

    Rounded to 3 places only: a verdict must not round 0.846 up to a target of 0.85.
    """
    rates = {f.name: f.rate for f in figures if f.section == section}
    if not rates.get(denominator) or numerator not in rates:
        return float("nan")
    return round(rates[numerator] / rates[denominator], 3)


def verdict(value: float, target: float) -> str:
    """`0.912x (target >= 0.85x: met)`."""
    if math.isnan(value):
        return "not measured"
    met = "met" if value >= target else "MISSED"
    return f"{value:.3f}x (target >= {target:.2f}x: {met})"


def on_sqlite_home(
    options: argparse.Namespace,
    label: str,
    packages: Sequence[str],
    bench: Callable[[Path, str | None], T],
) -> tuple[dict[str, Any], T] | None:
    """Wait for a quiet machine, describe it, and run `bench(home, url)` on a temporary
    SQLite home that `passport init` made. None (after saying why) if it could not run."""
    quiet = wait_until_quiet(options.max_wait)
    described = machine(packages)
    described.update(quiet)
    described["load_average_before"] = _load_averages()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="passport-bench-") as scratch:
        home = Path(scratch) / "sqlite"
        try:
            with _database("sqlite", home, options.postgres_url) as (url, version):
                described["sqlite_version"] = version
                result = bench(home, url)
        except BenchError as exc:
            print(f"bench: {label} not measured: {exc}", file=sys.stderr)
            return None
    described["elapsed_s"] = round(time.monotonic() - started, 1)
    described["load_after"] = f"{os.getloadavg()[0]:.2f}"
    described["load_average_after"] = _load_averages()
    return described, result


def on_xkms_home(
    options: argparse.Namespace, label: str, bench: Callable[[Path, str | None], T]
) -> tuple[dict[str, Any], T] | None:
    """on_sqlite_home for an XKMS benchmark: the machine described with its XML stack."""
    import xmlsec  # noqa: PLC0415 - only the XKMS benchmarks need it

    done = on_sqlite_home(options, label, ["xmlsec", "lxml", "cryptography"], bench)
    if done is not None:
        version = xmlsec.get_libxmlsec_version()
        done[0]["xmlsec_library"] = ".".join(str(part) for part in version)
    return done


def _load_averages() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def save(name: str, document: dict[str, Any], table: str, options: argparse.Namespace) -> None:
    """bench/results/<date>-<commit>-<name>.json and .txt."""
    if options.no_save:
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    described = document["machine"]
    stem = f"{described['date'].replace(':', '').replace('-', '')}-{described['commit']}-{name}"
    path = RESULTS / stem
    document = {
        **document,
        "options": {
            key: getattr(options, key)
            for key in ("duration", "rounds", "warmup", "connections", "threads", "timeout")
        },
        "figures": [asdict(f) for f in document["figures"]],
    }
    path.with_suffix(".json").write_text(json.dumps(document, indent=2) + "\n")
    path.with_suffix(".txt").write_text(table + "\n")
    print(f"\nbench: saved {path.with_suffix('.json').relative_to(ROOT)} and .txt")
