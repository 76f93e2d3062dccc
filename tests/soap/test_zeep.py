"""A real SOAP client, zeep, built from the WSDL a running `passport run` serves."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import zeep

from .echo import ECHO_NS, REFUSE_TEXT
from .running import RunningPassport, passport_with_echo

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPassport]:
    """One server for the module's tests."""
    with passport_with_echo(tmp_path_factory.mktemp("soap-e2e")) as running:
        yield running


@pytest.fixture(scope="module")
def zeep_client(server: RunningPassport) -> zeep.Client:
    """A zeep client built from the served WSDL."""
    return zeep.Client(f"{server.base_url}/echo?wsdl")


def test_zeep_echoes_over_soap11(zeep_client: zeep.Client) -> None:
    assert zeep_client.service.Echo(text="hello over 1.1") == "hello over 1.1"


def test_zeep_echoes_over_soap12(zeep_client: zeep.Client, server: RunningPassport) -> None:
    service = zeep_client.bind("EchoService", "EchoSoap12")
    assert service.Echo(text="hello over 1.2 — ü") == "hello over 1.2 — ü"


@pytest.mark.parametrize("port", ["EchoSoap", "EchoSoap12"])
def test_zeep_reads_the_fault_and_its_code(zeep_client: zeep.Client, port: str) -> None:
    service = zeep_client.bind("EchoService", port)
    with pytest.raises(zeep.exceptions.Fault) as raised:
        service.Echo(text=REFUSE_TEXT)
    assert raised.value.message == "Refused by the echo service"
    if port == "EchoSoap":
        assert raised.value.code == "soap:Client.Refused"
    else:
        assert raised.value.code == "env:Sender"
        assert [code.text for code in raised.value.subcodes] == [f"{{{ECHO_NS}}}Refused"]


def test_trace_of_the_running_server_is_private_and_names_the_client(
    zeep_client: zeep.Client, server: RunningPassport
) -> None:
    zeep_client.service.Echo(text="traced")
    trace: Path = server.trace_file
    assert stat.S_IMODE(trace.stat().st_mode) == 0o600
    content = trace.read_bytes()
    assert b"===== received " in content
    assert b"client=127.0.0.1 path=/echo" in content
    assert b"<ns0:text>traced</ns0:text>" in content or b">traced<" in content
