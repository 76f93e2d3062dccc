"""Engines: every spelling of a supported URL reaches its server with Passport's driver."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from passport.storage.database import Database
from passport.storage.engine import normalise_url


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u@db/x", "postgresql+psycopg"),
        ("postgres://u@db/x", "postgresql+psycopg"),
        ("postgresql+psycopg2://u@db/x", "postgresql+psycopg"),
        ("mysql://u@db/x", "mysql+pymysql"),
        ("mariadb://u@db/x", "mysql+pymysql"),
        ("mysql+mysqldb://u@db/x", "mysql+pymysql"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_urls_are_served_by_passports_drivers(url: str, driver: str) -> None:
    assert normalise_url(url).drivername == driver


def test_normalising_keeps_the_rest_of_the_url() -> None:
    url = normalise_url("postgres://user:pw@db.example:6543/passport?sslmode=require")
    assert url.render_as_string(hide_password=False) == (
        "postgresql+psycopg://user:pw@db.example:6543/passport?sslmode=require"
    )


@pytest.mark.parametrize(
    ("backend", "alias"), [("postgresql", "postgres"), ("mysql", "mariadb")], indirect=["backend"]
)
def test_alias_schemes_connect(database_url: str, alias: str) -> None:
    url = make_url(database_url).set(drivername=alias).render_as_string(hide_password=False)
    database = Database.from_url(url)
    try:
        with database.read() as connection:
            assert connection.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        database.dispose()
