"""The services an app is built from, wired once from the settings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from passport.config import Settings
from passport.identity.applications import ApplicationService
from passport.identity.audit import AuditLog
from passport.identity.clock import Clock, SystemClock
from passport.identity.groups import GroupService
from passport.identity.login import LoginService
from passport.identity.passwords import PasswordHashing
from passport.identity.sessions import SessionService
from passport.identity.throttle import ThrottlePolicy
from passport.identity.users import UserService
from passport.storage.database import Database


@dataclass
class Services:
    """Every service of one Passport instance; tests build them with their own clock."""

    database: Database
    clock: Clock
    audit: AuditLog
    applications: ApplicationService
    users: UserService
    sessions: SessionService
    login: LoginService
    groups: GroupService

    @classmethod
    def build(cls, database: Database, settings: Settings, clock: Clock | None = None) -> Services:
        """Services on this database, configured by the settings."""
        clock = clock or SystemClock()
        audit = AuditLog(database, clock)
        hashing = PasswordHashing(
            settings.password_hash_concurrency or hash_slots(os.cpu_count() or 2, settings.workers)
        )
        applications = ApplicationService(database)
        users = UserService(database, clock, audit, hashing)
        sessions = SessionService(
            database,
            clock,
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_absolute_hours),
        )
        policy = ThrottlePolicy(
            account_failures=settings.login_max_failures,
            account_lockout=timedelta(minutes=settings.login_lockout_minutes),
            address_failures=settings.login_address_max_failures,
            address_window=timedelta(minutes=settings.login_address_window_minutes),
        )
        login = LoginService(
            database=database,
            clock=clock,
            audit=audit,
            hashing=hashing,
            users=users,
            sessions=sessions,
            policy=policy,
        )
        groups = GroupService(database, clock, audit, applications)
        return cls(database, clock, audit, applications, users, sessions, login, groups)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        """Services on the database the settings name."""
        database = Database.from_url(
            settings.effective_database_url, pool_size=settings.db_pool_size
        )
        return cls.build(database, settings)


def hash_slots(cores: int, workers: int) -> int:
    """Parallel argon2 verifications per worker so that the node runs one per core.

    More than that only makes the hashes fight for the cores and their caches: with
    2 workers on 2 cores, 1 slot each served measurably more logins than 2.
    """
    return max(1, cores // max(1, workers))
