"""PostgreSQL goes away mid-run and comes back: server exceptions, 503, then recovery."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from envelope_shape import assert_envelope
from passport.app import create_app
from passport.config import Settings

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


class TcpForwarder:
    """A loopback TCP proxy to one upstream address that can be stopped and started again.

    Stopping closes the listening socket and every open connection, as a database that goes
    away would; starting listens on the same port again.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._spawn(self._accept, listener)

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            self._close(sock)
        for thread in self._threads:
            thread.join()
        self._threads = []

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, server))
            self._spawn(self._pump, client, server)
            self._spawn(self._pump, server, client)

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        self._close(source)
        self._close(target)

    @staticmethod
    def _close(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


@pytest.fixture
def forwarder(database_url: str) -> Iterator[TcpForwarder]:
    url = make_url(database_url)
    proxy = TcpForwarder((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
async def proxied_client(
    database_url: str, forwarder: TcpForwarder, applications: object, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app that reaches PostgreSQL only through the forwarder."""
    url = make_url(database_url).set(host="127.0.0.1", port=forwarder.port)
    settings = Settings(
        home=tmp_path,
        database_url=url.render_as_string(hide_password=False),
        public_url="https://passport.test",
        db_pool_size=2,
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://passport.test") as client:
        yield client
    app.state.services.database.dispose()


async def get_passport(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get("/Service/getApplication", params={"name": "Passport"})


async def test_database_outage_gives_server_exceptions_and_recovers_by_itself(
    proxied_client: httpx.AsyncClient, forwarder: TcpForwarder
) -> None:
    client = proxied_client
    assert (await get_passport(client)).status_code == 200
    assert (await client.get("/readyz")).status_code == 200

    forwarder.stop()
    for _ in range(3):
        response = await get_passport(client)
        assert response.status_code == 500
        body = response.json()
        assert_envelope(body)
        reference = response.headers["x-request-id"]
        assert body["ServerExceptions"] == [{"Message": f"Internal error; reference {reference}"}]
        assert "127.0.0.1" not in response.text
    assert (await client.get("/readyz")).status_code == 503
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/Service/Index")).status_code == 200

    forwarder.start()
    response = await get_passport(client)
    assert response.status_code == 200
    assert response.json()["Data"]["Application"] == {"ID": 1}
    assert (await client.get("/readyz")).status_code == 200


async def test_outage_under_jsonp_is_200_with_a_server_exception(
    proxied_client: httpx.AsyncClient, forwarder: TcpForwarder
) -> None:
    assert (await get_passport(proxied_client)).status_code == 200
    forwarder.stop()
    response = await proxied_client.get(
        "/Service/getApplication", params={"name": "Passport", "callback": "cb"}
    )
    assert response.status_code == 200
    assert response.text.startswith("/**/cb(")
    assert response.text.endswith(");")
    body = json.loads(response.text.removeprefix("/**/cb(").removesuffix(");"))
    (error,) = body["ServerExceptions"]
    assert error["Message"].startswith("Internal error; reference ")
    assert body["Success"] is False


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/Nope/x", {"cookie": "__Host-passport=stale"}),
        ("GET", "/Service/getApplication", {"cookie": "__Host-passport=stale"}),
        ("POST", "/Account/logout", {"cookie": "__Host-passport=stale"}),
        ("GET", "/Account/whoAmI", {"cookie": "__Host-passport=stale"}),
        ("OPTIONS", "/Service/getApplication", {"origin": "https://app.example"}),
        ("GET", "/Service/getApplication?name=Passport", {"origin": "https://app.example"}),
    ],
)
async def test_every_answer_during_an_outage_is_an_envelope(
    proxied_client: httpx.AsyncClient,
    forwarder: TcpForwarder,
    method: str,
    path: str,
    headers: dict[str, str],
) -> None:
    assert (await get_passport(proxied_client)).status_code == 200
    forwarder.stop()
    response = await proxied_client.request(method, path, headers=headers)
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert_envelope(response.json())
    assert "x-request-id" in response.headers
