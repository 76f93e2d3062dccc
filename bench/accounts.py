"""Accounts benchmark (issue 4): logins beside raw argon2id, session checks beside a raw SELECT.

`python -m bench.accounts` (part of `make bench`). For each backend it makes a home with
`passport init`, creates 64 users (distinct names, so no account sees two logins at once and
the per-account lockout cannot trigger), a group granting one permission of an application
to all of them, and for each user a browser session and a session of that application.
It then serves Passport with 2 workers as bench/run.py does and measures, in interleaved
rounds:

    login          POST /Account/login, form body, a different user each request
    argon2 raw     argon2id verifications in 2 processes, in-process, same parameters
                   and a stored hash read from that database (SQLite only)
    validate       POST /Session/validate, HTTP Basic application credentials, a token
    whoAmI         GET /Account/whoAmI with the session cookie
    raw select     the foundation benchmark's plain Starlette route: one SELECT, one hop

Every answer is checked (a login must succeed, a token must be valid). Sessions are read
from the database on every request: there is no cache to make these figures easy.
"""

from __future__ import annotations

import argparse
import base64
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from argon2 import PasswordHasher

from bench.harness import (
    Figure,
    Record,
    WrkTarget,
    arguments,
    counted,
    figure_rows,
    interleave,
    machine,
    method_line,
    ratio,
    raw_load,
    save,
    verdict,
    wait_until_quiet,
    write_records,
    wrk_load,
)
from bench.raw import ARGON2_PARAMETERS
from bench.run import HOST, BenchError, _database, _server, server_settings
from passport.config import Settings
from passport.identity.audit import Actor
from passport.services import Services
from passport.storage.tables import user_account

USERS = 64
WORKERS = 2
PASSWORD = "bench: correct horse battery staple"  # noqa: S105 - throwaway users
APPLICATION = "BenchApp"
ACTOR = Actor("cli:bench", "local")
# What only a good answer holds, whatever the JSON spacing: a login's expiry, a valid
# session's user, whoAmI's permissions (an error envelope has none of these).
LOGGED_IN = '"ExpiresAt"'
VALID_SESSION = '"User"'
IDENTITY = '"Permissions"'
LOGIN_TARGET = 0.85
SESSION_TARGET = 1.0


def main() -> int:
    """Run the accounts benchmark; print and save its figures."""
    parser = arguments(__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--backends",
        type=lambda value: [part.strip() for part in value.split(",") if part.strip()],
        default=["sqlite", "postgresql"],
        help="comma-separated: sqlite,postgresql (logins are measured on the first)",
    )
    options = parser.parse_args()
    quiet = wait_until_quiet(options.max_wait)
    described = machine(["argon2-cffi"])
    described.update(quiet)
    started = time.monotonic()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="passport-bench-accounts-") as scratch:
        for index, backend in enumerate(options.backends):
            try:
                home = Path(scratch) / backend
                with _database(backend, home, options.postgres_url) as (url, version):
                    described[f"{backend}_version"] = version
                    figures += _bench_backend(options, backend, home, url, with_logins=index == 0)
            except BenchError as exc:
                print(f"bench: skipping {backend}: {exc}", file=sys.stderr)
    if not figures:
        print("bench: nothing was measured", file=sys.stderr)
        return 1
    described["elapsed_s"] = round(time.monotonic() - started, 1)
    described["load_after"] = f"{os.getloadavg()[0]:.2f}"
    ratios = _ratios(figures, options.backends)
    table = _table(figures, ratios, described, options)
    print(table)
    save(
        "accounts",
        {"machine": described, "figures": figures, "ratios": ratios},
        table,
        options,
    )
    return 0


def _bench_backend(
    options: argparse.Namespace, backend: str, home: Path, url: str | None, *, with_logins: bool
) -> list[Figure]:
    settings = server_settings(
        home,
        url,
        workers=WORKERS,
        # 32 connections from one address keep up to 32 logins in flight; each claims a
        # try before its hash is checked and is refunded after, so the default limit (20
        # per address) would throttle successful logins here. Real clients come from many
        # addresses (or through a proxy named in forwarded_allow_ips).
        login_address_max_failures=100_000,
    )
    port = settings.port
    print(f"bench: accounts on {backend}: preparing {USERS} users", file=sys.stderr)
    data = _prepare(settings)
    scratch = home / "records"
    scratch.mkdir()
    records = {
        "login": write_records(scratch / "login", data["login"]),
        "validate": write_records(scratch / "validate", data["validate"]),
        "whoAmI": write_records(scratch / "whoami", data["whoami"]),
        "raw select": write_records(
            scratch / "select", [Record("GET", "/raw/select?name=Passport", {})]
        ),
    }
    print(f"bench: accounts on {backend}: {WORKERS} workers on {HOST}:{port}", file=sys.stderr)
    figures: list[Figure] = []
    with _server(settings, home / "server.log") as group, counted(group):
        base = f"http://{HOST}:{port}"

        def target(name: str, expect: str) -> WrkTarget:
            return WrkTarget(base, records[name], expect, server_group=group)

        if with_logins:
            login = wrk_load("login", target("login", LOGGED_IN), options, WORKERS)
            argon2 = raw_load(
                "argon2 raw",
                "bench.raw:argon2_verify",
                (data["stored_hash"], PASSWORD),
                WORKERS,
            )
            figures += interleave(backend, [login, argon2], options)
        session_loads = [
            wrk_load("validate", target("validate", VALID_SESSION), options, WORKERS),
            wrk_load("whoAmI", target("whoAmI", IDENTITY), options, WORKERS),
            wrk_load("raw select", target("raw select", '"Passport"'), options, WORKERS),
        ]
        figures += interleave(backend, session_loads, options)
    return figures


def _prepare(settings: Settings) -> dict[str, Any]:
    """Users, an application, a group and sessions; the wrk records that use them."""
    services = Services.from_settings(settings)
    try:
        application = services.applications.add(APPLICATION)
        group = services.groups.create("bench-readers", APPLICATION, ACTOR)
        services.groups.grant("bench:read", APPLICATION, ACTOR, group=group)
        login, validate, whoami = [], [], []
        basic = base64.b64encode(f"{application.application.id}:{application.secret}".encode())
        for number in range(USERS):
            user = services.users.create(f"bench-user-{number:03d}", PASSWORD, ACTOR)
            services.groups.add_member(group, user, ACTOR)
            form = urlencode({"username": user.username, "password": PASSWORD}).encode()
            login.append(
                Record(
                    "POST",
                    "/Account/login",
                    {"Content-Type": "application/x-www-form-urlencoded"},
                    form,
                )
            )
            browser = services.login.open_session(
                user, ACTOR, application_id=None, action="account.login"
            )
            whoami.append(
                Record("GET", "/Account/whoAmI", {"Cookie": f"__Host-passport={browser.token}"})
            )
            app_session = services.login.open_session(
                user, ACTOR, application_id=application.application.id, action="session.create"
            )
            validate.append(
                Record(
                    "POST",
                    "/Session/validate",
                    {
                        "Authorization": f"Basic {basic.decode()}",
                        "Content-Type": "application/x-www-form-urlencoded",
                    },
                    urlencode({"token": app_session.token}).encode(),
                )
            )
        with services.database.read() as connection:
            stored_hash = connection.execute(
                user_account.select()
                .with_only_columns(user_account.c.password_hash)
                .where(user_account.c.username == "bench-user-000")
            ).scalar_one()
    finally:
        services.database.dispose()
    if PasswordHasher(**ARGON2_PARAMETERS).check_needs_rehash(stored_hash):
        raise BenchError(f"Passport hashes with other parameters than {ARGON2_PARAMETERS}")
    return {"login": login, "validate": validate, "whoami": whoami, "stored_hash": stored_hash}


def _ratios(figures: list[Figure], backends: list[str]) -> dict[str, float]:
    ratios: dict[str, float] = {}
    for backend in backends:
        login = ratio(figures, backend, "login", "argon2 raw")
        if not math.isnan(login):
            ratios[f"{backend} login/argon2 raw"] = login
        for name in ("validate", "whoAmI"):
            value = ratio(figures, backend, name, "raw select")
            if not math.isnan(value):
                ratios[f"{backend} {name}/raw select"] = value
    return ratios


def _table(
    figures: list[Figure],
    ratios: dict[str, float],
    described: dict[str, Any],
    options: argparse.Namespace,
) -> str:
    lines = [
        f"Passport accounts benchmark, {described['date']}, commit {described['commit']}",
        f"{described['cpus']} CPUs ({described['cpu']}), Python {described['python']}, "
        f"granian {described['versions']['granian']}, "
        f"argon2-cffi {described['versions']['argon2-cffi']}",
        method_line(options),
        f"Passport: {WORKERS} workers, info-level JSON access log to a file; "
        f"argon2 raw: {WORKERS} processes, argon2id "
        + " ".join(f"{k}={v}" for k, v in ARGON2_PARAMETERS.items()),
        f"load average before/after: {described['load_before']} / {described['load_after']}; "
        f"others' CPU before start: {described['others_cores_before']} cores "
        f"(waited {described['waited_s']} s)",
        "",
        *figure_rows(figures),
        "",
        "'others' = cores used meanwhile by processes outside the benchmark "
        "(on PostgreSQL this includes the database server)",
        "",
    ]
    for name, value in ratios.items():
        target = LOGIN_TARGET if "login" in name else SESSION_TARGET
        lines.append(f"{name:<36}{verdict(value, target)}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
