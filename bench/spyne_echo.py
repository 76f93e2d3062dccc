"""The echo operation served by spyne (PyPI), for bench/soap_peers.py.

Served as a WSGI app by granian: `granian --interface wsgi bench.spyne_echo:application`.
Tuned as spyne's documentation suggests for speed: SOAP 1.1 in and out, lxml, no schema
validation of requests. spyne is installed for the benchmark only (bench/requirements.txt).
"""

from __future__ import annotations

from typing import Any

from spyne import Application, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

ECHO_NS = "urn:passport-bench:echo"


class EchoService(ServiceBase):  # type: ignore[misc]
    """Echo, answered with EchoResponse/text."""

    @rpc(Unicode, _returns=Unicode, _out_variable_name="text")  # type: ignore[misc]
    def Echo(ctx: Any, text: str) -> str:  # noqa: N802, N805 - spyne names operations by method
        """The text it is sent."""
        return text


application = WsgiApplication(
    Application(
        [EchoService],
        tns=ECHO_NS,
        name="EchoService",
        in_protocol=Soap11(validator=None),
        out_protocol=Soap11(),
    )
)
