"""Applications on every backend: unique names in any case, hashed secrets, clean origins."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from passport.identity.applications import (
    PASSPORT_APPLICATION,
    ApplicationService,
    check_origin,
)
from passport.identity.errors import Conflict, InvalidValue
from passport.storage.database import Database
from passport.storage.tables import application_info, application_origin


def every_stored_value(database: Database) -> list[str]:
    with database.read() as connection:
        rows = [
            *connection.execute(select(application_info)).all(),
            *connection.execute(select(application_origin)).all(),
        ]
    return [str(value) for row in rows for value in row]


def test_passport_row_is_application_1(applications: ApplicationService) -> None:
    passport = applications.find_by_name(PASSPORT_APPLICATION)
    assert passport is not None
    assert passport.id == 1


def test_ensure_passport_is_idempotent(applications: ApplicationService) -> None:
    first, created_first = applications.ensure_passport()
    second, created_second = applications.ensure_passport()
    assert (created_first, created_second) == (False, False)
    assert first == second
    assert [a.name for a in applications.all()] == [PASSPORT_APPLICATION]


def test_ensure_passport_creates_the_row_once(database: Database) -> None:
    service = ApplicationService(database)
    created, was_created = service.ensure_passport()
    again, created_again = service.ensure_passport()
    assert (was_created, created_again) == (True, False)
    assert created == again
    assert len(service.all()) == 1


def test_add_gives_a_new_id_and_a_secret(applications: ApplicationService) -> None:
    new = applications.add("Wiki")
    assert new.application.name == "Wiki"
    assert new.application.id > 1
    assert len(new.secret) >= 43
    assert applications.find_by_name("Wiki") == new.application


def test_each_application_gets_its_own_secret(applications: ApplicationService) -> None:
    assert applications.add("Wiki").secret != applications.add("Blog").secret


@pytest.mark.parametrize("name", ["Passport", "passport", "PASSPORT", " Passport "])
def test_add_refuses_a_name_taken_in_any_case(applications: ApplicationService, name: str) -> None:
    with pytest.raises(Conflict, match="'Passport' already exists"):
        applications.add(name)
    assert len(applications.all()) == 1


def test_add_refuses_a_non_ascii_name_taken_in_another_case(
    applications: ApplicationService,
) -> None:
    applications.add("Ärzte")
    with pytest.raises(Conflict):
        applications.add("ärzte")


def test_refused_duplicate_changes_nothing(
    applications: ApplicationService, database: Database
) -> None:
    applications.add("Wiki", origins=["https://wiki.example"])
    before = every_stored_value(database)
    with pytest.raises(Conflict):
        applications.add("WIKI", origins=["https://other.example"])
    assert every_stored_value(database) == before


def test_only_a_sha256_of_the_secret_is_stored(
    applications: ApplicationService, database: Database
) -> None:
    new = applications.add("Wiki", origins=["https://wiki.example"])
    stored = every_stored_value(database)
    assert not any(new.secret in value for value in stored)
    with database.read() as connection:
        secret_hash = connection.execute(
            select(application_info.c.secret_hash).where(
                application_info.c.applicationid == new.application.id
            )
        ).scalar_one()
    assert secret_hash == hashlib.sha256(new.secret.encode()).hexdigest()


def test_the_secret_authenticates_its_application_only(applications: ApplicationService) -> None:
    wiki = applications.add("Wiki")
    blog = applications.add("Blog")
    assert applications.authenticate(str(wiki.application.id), wiki.secret) == wiki.application
    assert applications.authenticate(str(blog.application.id), wiki.secret) is None
    assert applications.authenticate(str(wiki.application.id), wiki.secret + "x") is None
    assert applications.authenticate("999999", wiki.secret) is None


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://wiki.example", "https://wiki.example"),
        ("HTTPS://Wiki.Example/", "https://wiki.example"),
        ("https://wiki.example:443", "https://wiki.example"),
        ("http://wiki.example:80", "http://wiki.example"),
        ("http://wiki.example:8080", "http://wiki.example:8080"),
        ("  https://wiki.example  ", "https://wiki.example"),
        ("https://[::1]:8443", "https://[::1]:8443"),
    ],
)
def test_origins_are_stored_normalised(
    applications: ApplicationService, given: str, stored: str
) -> None:
    new = applications.add("Wiki", origins=[given])
    assert new.application.origins == (stored,)
    (listed,) = [a for a in applications.all() if a.name == "Wiki"]
    assert listed.origins == (stored,)


def test_the_same_origin_in_two_spellings_is_stored_once(
    applications: ApplicationService,
) -> None:
    new = applications.add("Wiki", origins=["https://wiki.example", "HTTPS://WIKI.example:443"])
    assert new.application.origins == ("https://wiki.example",)


@pytest.mark.parametrize(
    "origin",
    [
        "wiki.example",
        "ftp://wiki.example",
        "javascript:alert(1)",
        "https://wiki.example/path",
        "https://wiki.example?x=1",
        "https://wiki.example#x",
        "https://user@wiki.example",
        "https://wiki.example:99999",
        "https://wiki.example:port",
        "https://",
        "https://" + "a" * 300 + ".example",
    ],
)
def test_invalid_origin_is_refused_and_nothing_is_added(
    applications: ApplicationService, origin: str
) -> None:
    with pytest.raises(InvalidValue) as raised:
        applications.add("Wiki", origins=[origin])
    assert raised.value.field == "origin"
    assert applications.find_by_name("Wiki") is None


@pytest.mark.parametrize("name", ["", "   ", "a" * 256, "bad\x00name", "bad\nname", "\ud800"])
def test_invalid_application_name_is_refused(applications: ApplicationService, name: str) -> None:
    with pytest.raises(InvalidValue) as raised:
        applications.add(name)
    assert raised.value.field == "name"
    assert len(applications.all()) == 1


def test_name_of_255_characters_is_accepted_on_every_backend(
    applications: ApplicationService,
) -> None:
    name = "é" * 255
    new = applications.add(name)
    assert applications.find_by_name(name) == new.application


def test_check_origin_is_usable_alone() -> None:
    assert check_origin("HTTPS://Example.COM") == "https://example.com"


def test_parallel_adds_of_one_name_create_one_application(
    applications: ApplicationService, database: Database
) -> None:
    # On PostgreSQL and MariaDB (READ COMMITTED) the name check and the insert are two
    # statements: without serialising the adds, parallel ones could all pass the check.
    # Several rounds, since one round may happen not to interleave.
    attempts = 12
    names = ["Docs", "Wiki", "Mail", "Chat"]
    for name in names:
        start = threading.Barrier(attempts)

        def add(spelling: str, start: threading.Barrier = start) -> str:
            start.wait()
            try:
                applications.add(spelling)
            except Conflict:
                return "conflict"
            return "added"

        spellings = [name if n % 2 else name.upper() for n in range(attempts)]
        with ThreadPoolExecutor(attempts) as pool:
            outcomes = list(pool.map(add, spellings))
        assert sorted(outcomes) == ["added"] + ["conflict"] * (attempts - 1), name
    with database.read() as connection:
        stored = connection.execute(select(application_info.c.name)).scalars().all()
    assert sorted(name.casefold() for name in stored) == sorted(
        name.casefold() for name in [*names, "Passport"]
    )
