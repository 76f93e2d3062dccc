"""One `passport run` with default settings, over verified HTTPS on real sockets."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from e2e_server import PassportServer

pytestmark = pytest.mark.e2e

ORIGINAL_ENVELOPE = {
    "Success": True,
    "LoggedIn": False,
    "Data": {"Message": "Application ID for 'Passport' is: 1", "Application": {"ID": 1}},
    "ClientExceptions": [],
    "ServerExceptions": [],
}


def test_get_application_answers_the_original_envelope(passport_server: PassportServer) -> None:
    with passport_server.client() as client:
        response = client.get("/Service/getApplication", params={"name": "Passport"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == ORIGINAL_ENVELOPE


def test_server_presents_the_certificate_init_wrote(passport_server: PassportServer) -> None:
    context = passport_server.ssl_context()
    with (
        socket.create_connection(("127.0.0.1", passport_server.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        presented = tls.getpeercert(binary_form=True)

    assert presented is not None
    written = ssl.PEM_cert_to_DER_cert(passport_server.cert.read_text())
    assert presented == written


def test_every_response_carries_the_security_headers_and_a_request_id(
    passport_server: PassportServer,
) -> None:
    with passport_server.client() as client:
        answers = [
            client.get("/Service/getApplication", params={"name": "Passport"}),
            client.get("/Service/getApplication", params={"name": "Nobody"}),
            client.get("/healthz"),
        ]

    for response in answers:
        headers = response.headers
        assert headers["strict-transport-security"].startswith("max-age=")
        assert int(headers["strict-transport-security"].split(";")[0].split("=")[1]) >= 31536000
        assert headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"
        assert len(headers["x-request-id"]) >= 16
    assert len({response.headers["x-request-id"] for response in answers}) == len(answers)
    assert answers[1].status_code == 404


def test_head_answers_as_get_without_a_body(passport_server: PassportServer) -> None:
    with passport_server.client() as client:
        get = client.get("/Service/getApplication", params={"name": "Passport"})
        head = client.head("/Service/getApplication", params={"name": "Passport"})

    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers["content-type"] == get.headers["content-type"]


def test_readyz_says_ready(passport_server: PassportServer) -> None:
    with passport_server.client() as client:
        response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def _tls_client(maximum: ssl.TLSVersion, cafile: str) -> ssl.SSLContext:
    """A client context that offers versions up to `maximum`, TLS 1.1 included."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1 is deprecated: the point
        context.minimum_version = ssl.TLSVersion.TLSv1_1
        context.maximum_version = maximum
    # OpenSSL's default security level refuses TLS 1.1 before sending anything.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


@contextmanager
def _permissive_tls_server(certfile: str, keyfile: str) -> Iterator[int]:
    """A one-connection TLS server that accepts TLS 1.1: proof the client really offers it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.load_cert_chain(certfile, keyfile)
    listener = socket.create_server(("127.0.0.1", 0))

    def accept_one() -> None:
        connection, _ = listener.accept()
        try:
            with context.wrap_socket(connection, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            connection.close()

    thread = threading.Thread(target=accept_one, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        thread.join(timeout=10)
        listener.close()


def _handshake(port: int, context: ssl.SSLContext) -> str | None:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        return tls.version()


def test_tls_1_1_is_refused(passport_server: PassportServer) -> None:
    context = _tls_client(ssl.TLSVersion.TLSv1_1, str(passport_server.cert))
    tls_folder = passport_server.home / "tls"
    with _permissive_tls_server(str(tls_folder / "cert.pem"), str(tls_folder / "key.pem")) as port:
        assert _handshake(port, context) == "TLSv1.1"  # the client can speak TLS 1.1

    with pytest.raises(ssl.SSLError) as refused:
        _handshake(passport_server.port, context)

    assert refused.value.reason in {
        "SSLV3_ALERT_HANDSHAKE_FAILURE",
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "UNSUPPORTED_PROTOCOL",
    }


@pytest.mark.parametrize(
    ("maximum", "expected"),
    [(ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")],
)
def test_tls_1_2_and_1_3_are_accepted(
    passport_server: PassportServer, maximum: ssl.TLSVersion, expected: str
) -> None:
    context = _tls_client(maximum, str(passport_server.cert))

    assert _handshake(passport_server.port, context) == expected


def _raw_request(server: PassportServer, target: str) -> tuple[int, bytes]:
    """Send a request line exactly as written (no client normalises it); (status, body)."""
    request = (
        f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
    context = server.ssl_context()
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(request)
        chunks = []
        while chunk := tls.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, body


@pytest.mark.parametrize(
    "target",
    [
        "/Service/..%2F..",
        "/%00",
        "/Service/getApplication%00",
        "/Service/getApplication%00?name=Passport",
        "/Service/../Service/getApplication",
        "/..%2f..%2fetc%2fpasswd",
        "/Service/%2e%2e",
        "/Service/__init__",
    ],
)
def test_odd_paths_get_a_client_exception_envelope_never_a_500(
    passport_server: PassportServer, target: str
) -> None:
    status, body = _raw_request(passport_server, target)

    assert 400 <= status < 500
    envelope = json.loads(body)
    assert envelope["Success"] is False
    assert envelope["ServerExceptions"] == []
    (error,) = envelope["ClientExceptions"]
    assert isinstance(error["Number"], str)
    assert error["Message"]
