"""SOAP container overhead beside peers (issue 5): one echo operation, three servers.

`python -m bench.soap_peers` (part of `make bench`). The same document/literal echo
(bench/echo.wsdl) is served, each by one process on loopback, and loaded by the same wrk
script with the same SOAP 1.1 request, in interleaved rounds:

    Passport   the SOAP container, `passport run` with 1 worker (granian, ASGI), hosting
               bench/echo_service.py via the soap_services setting; info-level JSON access
               log to a file, as shipped
    spyne      spyne (PyPI) as a WSGI app under granian, 1 worker (bench/spyne_echo.py)
    npm soap   the npm `soap` package on node's http server (bench/node/echo_server.js)

spyne is installed for the benchmark only (`pip install -r bench/requirements.txt`, which
`make bench` does); the node server's packages come from bench/node/package-lock.json
(`npm ci` runs when node_modules is missing). A peer that cannot run is reported, not
measured.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.echo_service import ECHO_NS
from bench.harness import (
    Figure,
    Load,
    Record,
    WrkTarget,
    arguments,
    counted,
    figure_rows,
    interleave,
    machine,
    method_line,
    process,
    ratio,
    save,
    verdict,
    wait_until_quiet,
    write_records,
    wrk_load,
)
from bench.run import (
    HOST,
    ROOT,
    BenchError,
    _clean_environment,
    _free_port,
    _init,
    _server,
    server_settings,
)

SECTION = "soap echo"
NODE_DIR = ROOT / "bench" / "node"
TEXT = "Hello, Passport! Same request, same answer, three SOAP servers."
REQUEST = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    f'<e:Echo xmlns:e="{ECHO_NS}"><e:text>{TEXT}</e:text></e:Echo>'
    "</soap:Body></soap:Envelope>"
).encode()
HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
# granian's WSGI worker for spyne: 4 blocking threads. Measured here (wrk -c32, interleaved
# 2 s runs): 1 thread 1.2-1.7k req/s, 2 threads 1.9-2.0k, 4 threads 1.9-2.1k, granian's
# default 1.8-2.1k: more than one thread lets granian parse the next request meanwhile.
SPYNE_BLOCKING_THREADS = 4
TARGETS = {"spyne": 1.5, "npm soap": 1.0}


def main() -> int:
    """Run the SOAP peers benchmark; print and save its figures."""
    options = arguments(__doc__.split("\n", 1)[0]).parse_args()
    quiet = wait_until_quiet(options.max_wait)
    described = machine(["spyne", "lxml"])
    described.update(quiet)
    described["node"] = _node_version()
    described["npm_soap"] = _npm_soap_version()
    started = time.monotonic()
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="passport-bench-soap-") as scratch:
        figures = _bench(options, Path(scratch), skipped)
    described["elapsed_s"] = round(time.monotonic() - started, 1)
    described["load_after"] = f"{os.getloadavg()[0]:.2f}"
    ratios = {f"Passport/{peer}": ratio(figures, SECTION, "Passport", peer) for peer in TARGETS}
    table = _table(figures, ratios, skipped, described, options)
    print(table)
    save(
        "soap-peers",
        {"machine": described, "figures": figures, "ratios": ratios, "skipped": skipped},
        table,
        options,
    )
    return 0 if figures else 1


def _bench(options: argparse.Namespace, scratch: Path, skipped: dict[str, str]) -> list[Figure]:
    records = write_records(scratch / "echo", [Record("POST", "/echo", HEADERS, REQUEST)])
    home = scratch / "home"
    _init(home, None)
    settings = server_settings(home, None, workers=1, soap_services=["bench.echo_service:create"])
    port = settings.port
    with ExitStack() as stack:
        group = stack.enter_context(_server(settings, home / "server.log"))
        stack.enter_context(counted(group))
        loads = [_load("Passport", port, group, records, options)]
        for name, prepare in (("spyne", _spyne), ("npm soap", _node)):
            try:
                peer_port, command, env = prepare()
                peer = stack.enter_context(
                    process(command, scratch / f"{name}.log", _wsdl(peer_port), env=env)
                )
            except BenchError as exc:
                skipped[name] = str(exc)
                print(f"bench: skipping {name}: {exc}", file=sys.stderr)
                continue
            loads.append(_load(name, peer_port, peer, records, options))
        print(f"bench: SOAP echo: {', '.join(load.name for load in loads)}", file=sys.stderr)
        return interleave(SECTION, loads, options)


def _load(name: str, port: int, group: int, records: Path, options: argparse.Namespace) -> Load:
    target = WrkTarget(f"http://{HOST}:{port}", records, TEXT, server_group=group)
    return wrk_load(name, target, options, 1)


def _spyne() -> tuple[int, list[str], dict[str, str]]:
    """How to serve bench/spyne_echo.py with granian's WSGI interface, one worker."""
    if importlib.util.find_spec("spyne") is None:
        raise BenchError("spyne is not installed: .venv/bin/pip install -r bench/requirements.txt")
    check = subprocess.run(
        [sys.executable, "-c", "import bench.spyne_echo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if check.returncode != 0:
        raise BenchError(f"spyne does not import here: {check.stderr.strip()[-500:]}")
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--blocking-threads",
        str(SPYNE_BLOCKING_THREADS),
        "--no-access-log",
        "bench.spyne_echo:application",
    ]
    return port, command, _clean_environment()


def _node() -> tuple[int, list[str], dict[str, str]]:
    """How to serve bench/node/echo_server.js; `npm ci` first when node_modules is missing."""
    node = shutil.which("node")
    if node is None:
        raise BenchError("node is not installed")
    if not (NODE_DIR / "node_modules").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            raise BenchError("npm is not installed (needed once: npm ci in bench/node)")
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise BenchError(f"npm ci failed: {done.stderr.strip()[-500:]}")
    port = _free_port()
    return port, [node, str(NODE_DIR / "echo_server.js"), str(port)], _clean_environment()


def _wsdl(port: int) -> str:
    return f"http://{HOST}:{port}/echo?wsdl"


def _node_version() -> str:
    node = shutil.which("node")
    if node is None:
        return "not installed"
    return subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()


def _npm_soap_version() -> str:
    manifest = NODE_DIR / "node_modules" / "soap" / "package.json"
    if not manifest.is_file():
        return "from bench/node/package-lock.json"
    return str(json.loads(manifest.read_text())["version"])


def _table(
    figures: list[Figure],
    ratios: dict[str, float],
    skipped: dict[str, str],
    described: dict[str, Any],
    options: argparse.Namespace,
) -> str:
    lines = [
        f"Passport SOAP container beside peers, {described['date']}, commit {described['commit']}",
        f"{described['cpus']} CPUs ({described['cpu']}), Python {described['python']}, "
        f"granian {described['versions']['granian']}, spyne {described['versions']['spyne']}, "
        f"node {described['node']}, npm soap {described['npm_soap']}",
        method_line(options),
        f"one process each; the same SOAP 1.1 Echo request ({len(REQUEST)} B); Passport logs "
        "a JSON access line per request to a file, spyne and npm soap log nothing",
        f"load average before/after: {described['load_before']} / {described['load_after']}; "
        f"others' CPU before start: {described['others_cores_before']} cores "
        f"(waited {described['waited_s']} s)",
        "",
        *figure_rows(figures),
        "",
    ]
    for name, reason in skipped.items():
        lines.append(f"{name}: not measured: {reason}")
    for name, value in ratios.items():
        target = TARGETS[name.split("/", 1)[1]]
        lines.append(f"{name:<24}{verdict(value, target)}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
