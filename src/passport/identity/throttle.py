"""Brute-force guards: per-account lockout and per-address throttling, atomic in the database.

Each login attempt first *claims* a try with one atomic UPDATE (or upsert); only a claimed
try may verify a password. So N parallel guesses can never verify more than the limit allows,
on any backend, whatever the interleaving.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Executable, and_, case, literal, or_, select, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from passport.storage.tables import login_throttle, user_account


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """Limits: failures before an account locks, for how long (doubling), per-address limits."""

    account_failures: int = 5
    account_lockout: timedelta = timedelta(minutes=15)
    account_lockout_max: timedelta = timedelta(hours=24)
    address_failures: int = 20
    address_window: timedelta = timedelta(minutes=5)

    def lockout_for(self, lockouts_before: int) -> timedelta:
        """How long the next lockout lasts: 15 min, 30, 60... capped."""
        return min(self.account_lockout * (1 << min(lockouts_before, 16)), self.account_lockout_max)


def claim_account_try(
    connection: Connection, policy: ThrottlePolicy, user_id: int, now: datetime
) -> bool:
    """Atomically count one attempt against the account; False when it is locked out."""
    expired = and_(user_account.c.locked_until.is_not(None), user_account.c.locked_until <= now)
    claimed = connection.execute(
        update(user_account)
        .where(
            user_account.c.id == user_id,
            or_(
                and_(
                    user_account.c.locked_until.is_(None),
                    user_account.c.failed_logins < policy.account_failures,
                ),
                expired,
            ),
        )
        .values(
            # A lockout that has run out starts a fresh count; MariaDB assigns left to
            # right, so failed_logins is computed before locked_until is cleared.
            failed_logins=case((expired, 1), else_=user_account.c.failed_logins + 1),
            locked_until=case((expired, None), else_=user_account.c.locked_until),
        )
    ).rowcount
    return claimed == 1


def settle_account_failure(
    connection: Connection, policy: ThrottlePolicy, user_id: int, now: datetime
) -> bool:
    """After a failed try: lock the account when it reached the limit. True if locked now."""
    lockouts = connection.execute(
        select(user_account.c.lockouts).where(user_account.c.id == user_id)
    ).scalar_one()
    locked = connection.execute(
        update(user_account)
        .where(
            user_account.c.id == user_id,
            user_account.c.failed_logins >= policy.account_failures,
            user_account.c.locked_until.is_(None),
        )
        .values(
            locked_until=now + policy.lockout_for(lockouts),
            lockouts=user_account.c.lockouts + 1,
        )
    ).rowcount
    return locked == 1


def settle_account_success(connection: Connection, user_id: int, now: datetime) -> None:
    """After a successful login: the count starts again."""
    connection.execute(
        update(user_account)
        .where(user_account.c.id == user_id)
        .values(failed_logins=0, lockouts=0, locked_until=None, last_login_at=now)
    )


def claim_address_try(
    connection: Connection, policy: ThrottlePolicy, address: str, now: datetime
) -> bool:
    """Atomically count one attempt from an address; False when over its limit this window."""
    address = address[:64] or "unknown"
    window_over = login_throttle.c.window_start <= now - policy.address_window
    backend = connection.dialect.name
    values = {"address": address, "window_start": now, "attempts": 1}
    new_attempts = case((window_over, 1), else_=login_throttle.c.attempts + 1)
    new_start = case((window_over, literal(now)), else_=login_throttle.c.window_start)
    statement: Executable
    if backend == "postgresql":
        pg = postgresql_insert(login_throttle).values(**values)
        statement = pg.on_conflict_do_update(
            index_elements=[login_throttle.c.address],
            set_={"attempts": new_attempts, "window_start": new_start},
        )
    elif backend == "sqlite":
        lite = sqlite_insert(login_throttle).values(**values)
        statement = lite.on_conflict_do_update(
            index_elements=[login_throttle.c.address],
            set_={"attempts": new_attempts, "window_start": new_start},
        )
    else:
        my = mysql_insert(login_throttle).values(**values)
        # attempts first: it reads window_start before window_start is reassigned.
        statement = my.on_duplicate_key_update(
            [("attempts", new_attempts), ("window_start", new_start)]
        )
    connection.execute(statement)
    # The upsert holds the row's write lock until commit, so this read sees our own count.
    attempts = connection.execute(
        select(login_throttle.c.attempts).where(login_throttle.c.address == address)
    ).scalar_one()
    return int(attempts) <= policy.address_failures


def refund_address_try(connection: Connection, address: str) -> None:
    """A successful login does not count against its address."""
    connection.execute(
        update(login_throttle)
        .where(
            login_throttle.c.address == (address[:64] or "unknown"), login_throttle.c.attempts > 0
        )
        .values(attempts=login_throttle.c.attempts - 1)
    )
