"""Brute force: per-account lockout (15 min, doubling), per-address throttling, atomically."""

from __future__ import annotations

import os
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from passport.config import Settings
from passport.identity.audit import Actor
from passport.identity.login import Credentials, LoginFailed, LoginThrottled
from passport.services import Services
from passport.storage.database import Database
from passport.storage.tables import login_throttle, user_account

from .conftest import ClientMaker
from .support import (
    CLIENT_ADDRESS,
    PASSWORD,
    SETUP,
    Accounts,
    Browser,
    ManualClock,
    VerifyCounter,
    client_error,
)

WRONG = "not the right password"
GUESSES = 50


def account_guard(accounts: Accounts, username: str) -> tuple[int, bool]:
    """(failed_logins, whether a lockout is set) of a user."""
    with accounts.database.read() as connection:
        row = connection.execute(
            select(user_account.c.failed_logins, user_account.c.locked_until).where(
                user_account.c.username == username
            )
        ).one()
    return int(row.failed_logins), row.locked_until is not None


async def login_number(browser: Browser, username: str, password: str) -> str:
    """'ok' for a successful login, else the client exception's Number."""
    response = await browser.login(username, password)
    if response.status_code == 200:
        return "ok"
    number = client_error(response)["Number"]
    assert response.status_code == {"10": 401, "11": 429}[number]
    return number


async def test_five_failures_lock_the_account_and_refuse_even_the_right_password_for_15_minutes(
    browser: Browser, accounts: Accounts, clock: ManualClock, verifies: VerifyCounter
) -> None:
    accounts.user("alice")

    failures = [await login_number(browser, "alice", WRONG) for _ in range(5)]
    locked = await login_number(browser, "alice", PASSWORD)
    clock.advance(minutes=14, seconds=59)
    still_locked = await login_number(browser, "alice", PASSWORD)
    clock.advance(seconds=1)
    after = await login_number(browser, "alice", PASSWORD)

    assert failures == ["10"] * 5
    assert (locked, still_locked, after) == ("11", "11", "ok")
    assert verifies.calls == 6, "no password is checked while the account is locked out"
    events = accounts.audit("account.login")
    assert [e["success"] for e in events] == [False] * 7 + [True]
    assert events[4]["detail"] == "wrong password; account locked out"
    assert events[5]["detail"] == "account locked out"
    assert account_guard(accounts, "alice") == (0, False)


async def test_each_further_lockout_lasts_twice_as_long_and_a_success_resets_them(
    make_client: ClientMaker, accounts: Accounts, clock: ManualClock
) -> None:
    browser = Browser(await make_client(login_max_failures=2))
    accounts.user("alice")

    async def lock_out() -> None:
        assert [await login_number(browser, "alice", WRONG) for _ in range(2)] == ["10", "10"]

    await lock_out()
    clock.advance(minutes=15)
    await lock_out()
    clock.advance(minutes=29, seconds=59)
    assert await login_number(browser, "alice", PASSWORD) == "11"
    clock.advance(seconds=1)
    assert await login_number(browser, "alice", PASSWORD) == "ok"
    await lock_out()
    clock.advance(minutes=15)
    assert await login_number(browser, "alice", PASSWORD) == "ok"


async def test_a_successful_login_starts_the_failure_count_again(
    browser: Browser, accounts: Accounts
) -> None:
    accounts.user("alice")

    outcomes = []
    for _ in range(2):
        outcomes += [await login_number(browser, "alice", WRONG) for _ in range(4)]
        outcomes.append(await login_number(browser, "alice", PASSWORD))

    assert outcomes == ["10"] * 4 + ["ok"] + ["10"] * 4 + ["ok"]


async def test_an_address_with_too_many_failures_is_throttled_for_its_window(
    make_client: ClientMaker, accounts: Accounts, clock: ManualClock, verifies: VerifyCounter
) -> None:
    limit = {"login_address_max_failures": 3}
    here = Browser(await make_client(CLIENT_ADDRESS, **limit))
    elsewhere = Browser(await make_client("198.51.100.9", **limit))
    accounts.user("alice")

    guesses = [await login_number(here, f"guess{n}", WRONG) for n in range(3)]
    throttled = await login_number(here, "alice", PASSWORD)
    other_address = await login_number(elsewhere, "alice", PASSWORD)
    clock.advance(minutes=5)
    next_window = await login_number(here, "alice", PASSWORD)

    assert guesses == ["10"] * 3
    assert (throttled, other_address, next_window) == ("11", "ok", "ok")
    assert verifies.calls == 5
    assert account_guard(accounts, "alice") == (0, False), "the address limit locks no account"
    throttled_event = accounts.audit("account.login")[3]
    assert (throttled_event["success"], throttled_event["detail"]) == (False, "address throttled")


def guess_in_parallel(services: Services, attempts: list[tuple[str, str]]) -> Counter[str]:
    """Each (username, client address) guesses WRONG in its own thread, all at once."""
    start = threading.Barrier(len(attempts))

    def guess(attempt: tuple[str, str]) -> str:
        username, address = attempt
        start.wait()
        try:
            services.login.login(
                Credentials.check(username, WRONG),
                Actor.anonymous(address),
                application_id=None,
                action="account.login",
            )
        except LoginFailed:
            return "failed"
        except LoginThrottled:
            return "throttled"
        return "logged in"

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        return Counter(pool.map(guess, attempts))


def test_fifty_parallel_guesses_at_one_account_check_at_most_five_passwords(
    services: Services, accounts: Accounts, verifies: VerifyCounter
) -> None:
    accounts.user("alice")
    # Each from its own address: only the account's own counter stands in the way.
    attempts = [("alice", f"198.51.100.{n}") for n in range(GUESSES)]

    outcomes = guess_in_parallel(services, attempts)

    assert verifies.calls == 5
    assert outcomes == Counter(failed=5, throttled=GUESSES - 5)
    events = accounts.audit("account.login")
    assert len(events) == GUESSES
    assert not any(event["success"] for event in events)
    assert account_guard(accounts, "alice") == (5, True)


def test_fifty_parallel_guesses_from_one_address_check_at_most_its_limit(
    database: Database,
    settings: Settings,
    clock: ManualClock,
    accounts: Accounts,
    verifies: VerifyCounter,
) -> None:
    limited = Services.build(
        database, settings.model_copy(update={"login_address_max_failures": 7}), clock
    )
    accounts.user("alice")
    # Different accounts (most unknown) from one address: only the address limit holds.
    attempts = [(f"user{n}", CLIENT_ADDRESS) for n in range(GUESSES)]

    outcomes = guess_in_parallel(limited, attempts)

    assert verifies.calls == 7
    assert outcomes == Counter(failed=7, throttled=GUESSES - 7)
    assert len(accounts.audit("account.login")) == GUESSES
    (row,) = accounts.rows(login_throttle)
    assert (row["address"], row["attempts"]) == (CLIENT_ADDRESS, GUESSES)


async def test_an_unknown_user_gets_the_same_answer_after_the_same_work_as_a_wrong_password(
    browser: Browser, accounts: Accounts, verifies: VerifyCounter
) -> None:
    accounts.user("alice")
    accounts.user("nopassword", password=None)
    accounts.user("locked")
    accounts.services.users.set_locked("locked", True, SETUP)

    answers = {}
    for username, password in [
        ("alice", WRONG),
        ("nobody", WRONG),
        ("nopassword", WRONG),
        ("locked", PASSWORD),
    ]:
        before = verifies.calls
        response = await browser.login(username, password)
        assert verifies.calls - before == 1, f"{username}: exactly one argon2 verification"
        error = client_error(response)
        answers[username] = (response.status_code, error["Message"], error["Number"])

    assert set(answers.values()) == {(401, "Username or password is incorrect.", "10")}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("cores", "workers", "slots"), [(2, 2, 1), (8, 2, 4), (2, 4, 1)])
def test_each_worker_verifies_as_many_passwords_at_once_as_it_has_cores(
    database: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    cores: int,
    workers: int,
    slots: int,
) -> None:
    # One argon2 verification per core across the node, unless a setting says otherwise.
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    built = Services.build(database, settings.model_copy(update={"workers": workers}))
    assert built.login.hashing.slots == slots
    chosen = settings.model_copy(update={"workers": workers, "password_hash_concurrency": 3})
    assert Services.build(database, chosen).login.hashing.slots == 3
