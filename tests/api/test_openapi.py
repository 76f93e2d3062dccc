"""/openapi.json describes the envelope API truthfully: schemathesis checks every answer."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from passport.app import create_app
from passport.config import Settings
from passport.services import Services
from passport.storage.database import Database

PUBLIC_URL = "https://passport.test"


def load_schema() -> Any:
    """The document as the app serves it; serving it needs no database."""
    with tempfile.TemporaryDirectory() as home:
        app = create_app(
            Settings(home=home, database_url="sqlite://", public_url=PUBLIC_URL, xkms_enabled=False)
        )
        return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = load_schema()


@pytest.fixture
def openapi_app(migrated_templates: dict[str, str], tmp_path: Path) -> Iterator[Starlette]:
    """An app on a fresh migrated SQLite database holding the Passport application."""
    target = tmp_path / "passport.db"
    shutil.copyfile(make_url(migrated_templates["sqlite"]).database or "", target)
    url = f"sqlite:///{target}"
    app_settings = Settings(home=tmp_path, database_url=url, public_url=PUBLIC_URL)
    database = Database.from_url(url)
    services = Services.build(database, app_settings)
    services.applications.ensure_passport()
    yield create_app(app_settings, services)
    database.dispose()


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_answers_as_documented(case: Any, openapi_app: Starlette) -> None:
    # Parameters are documented as optional because every method receives a missing one as
    # "not given" and answers it with a specific client exception (400, Number 1): a
    # schema-valid request may rightly be refused, so positive-data acceptance does not apply.
    case.call_and_validate(app=openapi_app, excluded_checks=[positive_data_acceptance])


def test_document_lists_every_status_the_api_answers_with() -> None:
    for path, operations in schema.raw_schema["paths"].items():
        for verb, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"200", "400", "401", "403", "404", "405", "413", "415", "429", "500"} <= (
                statuses
            ), f"{verb} {path}"


def test_jsonp_answers_are_documented_for_read_only_get_methods() -> None:
    operation = schema.raw_schema["paths"]["/Service/getApplication"]["get"]
    assert "application/javascript" in operation["responses"]["200"]["content"]
    (callback,) = [p for p in operation["parameters"] if p["name"] == "callback"]
    assert callback["schema"]["pattern"].startswith("^[A-Za-z_$]")
    post = schema.raw_schema["paths"]["/Service/getApplication"]["post"]
    assert "application/javascript" not in post["responses"]["200"]["content"]
