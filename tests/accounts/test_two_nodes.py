"""Two `passport run` processes on one PostgreSQL: sessions hold, and end, on both at once."""

from __future__ import annotations

import httpx
import pytest

from .conftest import Cluster
from .support import COOKIE, PASSWORD, SETUP

pytestmark = pytest.mark.e2e


def cookie_token(response: httpx.Response) -> str:
    """The session token a login answer sets."""
    for value in response.headers.get_list("set-cookie"):
        name, _, rest = value.partition("=")
        if name == COOKIE:
            return rest.split(";", 1)[0]
    raise AssertionError(f"no {COOKIE} cookie in {response.headers}")


def test_a_session_opened_on_one_node_holds_and_ends_on_the_other_at_once(
    two_nodes: Cluster,
) -> None:
    services = two_nodes.services
    services.users.create("alice", PASSWORD, SETUP)
    docs = services.applications.add("Docs")
    admin = services.users.create("root", None, SETUP)
    services.groups.grant("passport:admin", "Passport", SETUP, user=admin)
    with services.database.write() as connection:
        admin_token = services.sessions.create(
            connection, admin.id, admin.username, application_id=None, client_address="127.0.0.1"
        ).token
    origin = {"Origin": two_nodes.public_url}
    auth = httpx.BasicAuth(str(docs.application.id), docs.secret)
    node_a, node_b = two_nodes.nodes

    with node_a.client() as a, node_b.client() as b:
        login = a.post("/Account/login", json={"username": "alice", "password": PASSWORD})
        assert login.status_code == 200, login.text
        # The cookie is Secure: a client sends it only over HTTPS, so it goes by hand here
        # (plain HTTP stands for the hop behind a TLS-terminating load balancer).
        browser = {"Cookie": f"{COOKIE}={cookie_token(login)}", **origin}

        on_b = b.get("/Account/whoAmI", headers=browser)
        assert on_b.status_code == 200, on_b.text
        assert on_b.json()["LoggedIn"] is True
        assert on_b.json()["Data"]["User"]["Name"] == "alice"

        created = b.post(
            "/Session/create", json={"username": "alice", "password": PASSWORD}, auth=auth
        )
        app_token = {"token": created.json()["Data"]["Token"]}
        assert a.post("/Session/validate", json=app_token, auth=auth).json()["Data"]["Valid"]

        logout = a.post("/Account/logout", headers=browser)
        assert logout.json()["Data"] == {"LoggedOut": True}
        after = b.get("/Account/whoAmI", headers=browser)
        assert (after.status_code, after.json()["LoggedIn"]) == (401, False)

        lock = b.post(
            "/Admin/lockUser",
            json={"username": "alice"},
            headers={"Cookie": f"{COOKIE}={admin_token}", **origin},
        )
        assert lock.status_code == 200, lock.text
        validated = a.post("/Session/validate", json=app_token, auth=auth)
        assert validated.json()["Data"] == {"Valid": False}
