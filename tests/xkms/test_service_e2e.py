"""XKMS over a real `passport run` on HTTPS (the certificate `passport init` wrote), with the
clients people use: the Recommendation's samples sent as bytes, zeep built from the WSDL the
server serves, and the npm `soap` package; and the trace file that records it all.

One server serves the module, with the policy that accepts the samples (RSA-1024, RSA-SHA1,
their Service address). Each test uses its own user, UseKeyWith and client key.
"""

from __future__ import annotations

import base64
import fcntl
import importlib
import json
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import requests
import zeep
import zeep.xsd
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from zeep.plugins import HistoryPlugin
from zeep.transports import Transport

from .conftest import ClientKeys
from .support import (
    SAMPLE_PASSCODE,
    SAMPLE_SERVICE,
    SAMPLE_USE_KEY_WITH,
    SIGNATURE,
    XKMS,
    authenticate,
    new_id,
    post_sync,
    prove_possession,
    query_request,
    register_request,
    revocation_code_identifier,
    sample_body,
    send_sync,
    soap_envelope,
    verify_result_signature,
    x,
)

pytestmark = [
    pytest.mark.e2e,
    # The certificate in samples/revokeRequest.xml has a negative serial number.
    pytest.mark.filterwarnings("ignore:Parsed a serial number which wasn't positive"),
]

TESTS_DIR = Path(__file__).resolve().parents[1]
NODE_DIR = Path(__file__).resolve().parent / "node"
ENVIRONMENT = {
    # The autouse fixture turns XKMS off for apps that do not ask; this server asks.
    "PASSPORT_XKMS_ENABLED": "true",
    "PASSPORT_XKMS_MIN_RSA_BITS": "1024",
    "PASSPORT_XKMS_LEGACY_SHA1": "true",
    "PASSPORT_XKMS_ACCEPTED_SERVICES": json.dumps([SAMPLE_SERVICE]),
}
PASSWORD = "correct horse battery staple"
RECORD_HEADER = re.compile(
    rb"^===== (?P<direction>received|sent) (?P<when>\S+) client=(?P<client>\S+) "
    rb"path=(?P<path>\S+) request=(?P<request>\S+) bytes=(?P<bytes>\d+) =====\n",
    re.MULTILINE,
)
END_LINE = b"===== end =====\n"


def e2e_server() -> ModuleType:
    """tests/e2e/e2e_server.py: `passport init` and `passport run` as a user starts them."""
    folder = str(TESTS_DIR / "e2e")
    if folder not in sys.path:
        sys.path.append(folder)
    return importlib.import_module("e2e_server")


@dataclass
class RunningXkms:
    """The module's server, its home and trace file, and its command line."""

    server: Any
    trace: Path

    @property
    def home(self) -> Path:
        return Path(self.server.home)

    @property
    def service_url(self) -> str:
        return f"{self.server.base_url}/xkms"

    @property
    def service_certificate(self) -> bytes:
        return (self.home / "xkms" / "service-cert.pem").read_bytes()

    def client(self) -> httpx.Client:
        """An HTTPS client trusting exactly the init certificate."""
        client: httpx.Client = self.server.client()
        return client

    def passport(self, *args: str, stdin: str | None = None) -> str:
        """Run a `passport` command on the server's home; its output."""
        module = e2e_server()
        completed = subprocess.run(
            [module.passport_command(), *args],
            env=module.passport_environment(self.home, ENVIRONMENT),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert completed.returncode == 0, f"passport {args}:\n{completed.stderr}"
        return completed.stdout

    def add_user(self, username: str) -> None:
        self.passport("user", "add", username, "--password-stdin", stdin=PASSWORD + "\n")

    def authorize(self, username: str, pairs: list[tuple[str, str]], *options: str) -> str:
        """`passport xkms authorize`; the passcode it prints."""
        flags = [f"--use-key-with={application}={identifier}" for application, identifier in pairs]
        output = self.passport("xkms", "authorize", username, *flags, *options)
        match = re.search(r"^Passcode: (\S+)$", output, re.MULTILINE)
        assert match, output
        return match.group(1)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningXkms]:
    """`passport init`, then `passport run --trace FILE` on HTTPS for the module."""
    launcher = e2e_server().PassportLauncher(tmp_path_factory.mktemp("xkms-e2e"))
    try:
        home = launcher.new_home(ENVIRONMENT)
        trace = home / "trace.log"
        server = launcher.start("--trace", str(trace), home=home, env=ENVIRONMENT)
        yield RunningXkms(server, trace)
    finally:
        launcher.stop_all()


def modulus_b64(key: rsa.RSAPrivateKey) -> str:
    n = key.public_key().public_numbers().n
    return base64.b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).decode()


def audit_lines(running: RunningXkms, action: str) -> list[str]:
    return [line for line in running.passport("audit").splitlines() if f" {action} " in line]


# The samples, byte for byte --------------------------------------------------------------


def test_the_samples_register_and_revoke_over_https(running: RunningXkms) -> None:
    running.add_user("alice")
    printed = running.passport(
        "xkms",
        "authorize",
        "alice",
        *[
            f"--use-key-with={application}={identifier}"
            for application, identifier in SAMPLE_USE_KEY_WITH
        ],
        "--passcode",
        SAMPLE_PASSCODE,
    )
    assert f"Passcode: {SAMPLE_PASSCODE}" in printed
    assert 'urn:ietf:rfc:2459 = C="US" O="Alice Corp" CN="Alice Aardvark"' in printed
    certificate = running.service_certificate
    validate = query_request(
        "ValidateRequest", SAMPLE_SERVICE, use_key_with=[SAMPLE_USE_KEY_WITH[0]]
    )

    with running.client() as client:
        registered = send_sync(client, sample_body("registerRequest.xml"), certificate, "1.2")
        replayed = send_sync(client, sample_body("registerRequest.xml"), certificate, "1.1")
        revoked = send_sync(client, sample_body("revokeRequest.xml"), certificate, "1.2")
        validated = send_sync(client, validate, certificate)

    assert registered.codes == ("Success", None)
    binding = registered.binding()
    assert binding.status == "Valid"
    assert binding.use_key_with == list(SAMPLE_USE_KEY_WITH)
    assert replayed.codes == ("Sender", "NoAuthentication")
    assert revoked.codes == ("Success", None)
    assert revoked.binding().id == binding.id
    assert validated.binding().status == "Invalid"
    assert validated.binding().invalid_reasons == ["RevocationStatus"]
    keys = running.passport("xkms", "keys", "--user", "alice").splitlines()
    (row,) = [n for n, line in enumerate(keys) if line.startswith(binding.id)]
    assert "  alice  " in keys[row]
    assert "  revoked " in keys[row]
    assert keys[row + 1 : row + 4] == [
        f"    {application} = {identifier}" for application, identifier in SAMPLE_USE_KEY_WITH
    ]
    audit = running.passport("audit").splitlines()
    assert any(
        " xkms.register key:" in line
        and binding.id in line
        and line.endswith(
            'success (urn:ietf:rfc:2459=C="US" O="Alice Corp" CN="Alice Aardvark" '
            "urn:ietf:rfc:2633=alice@example.com "
            "http://ca.example.com/cps/20030401/class3=alice@example.com)"
        )
        for line in audit
    ), audit
    assert any(
        " xkms.register key:" in line
        and line.endswith("failure (NoAuthentication: passcode used up)")
        for line in audit
    ), audit
    assert any(
        " xkms.revoke key:" in line
        and binding.id in line
        and line.endswith("success (revocation code)")
        for line in audit
    ), audit


# zeep, built from the served WSDL ---------------------------------------------------------


@pytest.fixture(scope="module")
def zeep_history() -> HistoryPlugin:
    """What zeep sent and received last."""
    return HistoryPlugin()


@pytest.fixture(scope="module")
def zeep_client(running: RunningXkms, zeep_history: HistoryPlugin) -> zeep.Client:
    """zeep built from GET /xkms?wsdl (and the schemas it imports), over HTTPS with the init
    certificate as the only CA (trust_env off: REQUESTS_CA_BUNDLE would override it)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(running.server.cert)
    return zeep.Client(
        f"{running.server.base_url}/xkms?wsdl",
        transport=Transport(session=session),
        plugins=[zeep_history],
    )


def received_result(history: HistoryPlugin, certificate: bytes) -> etree._Element:
    """The result zeep received last, after signxml verified its signature."""
    envelope = history.last_received["envelope"]
    body = envelope.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
    assert body is not None
    result = body[0]
    verify_result_signature(result, certificate)
    return result


def zeep_register(
    client: zeep.Client,
    service: str,
    key: rsa.RSAPrivateKey,
    passcode: str,
    pair: tuple[str, str],
    code: bytes,
) -> Any:
    """A Register zeep builds from the WSDL; its two signatures over the PrototypeKeyBinding
    added to zeep's message (zeep cannot compute them), sent and parsed by zeep."""
    numbers = key.public_key().public_numbers()
    envelope = client.create_message(
        client.service,
        "Register",
        Id=new_id(),
        Service=service,
        PrototypeKeyBinding={
            "Id": new_id(),
            "KeyInfo": {
                "_value_1": [
                    {
                        "KeyValue": {
                            "RSAKeyValue": {
                                "Modulus": numbers.n.to_bytes(256, "big"),
                                "Exponent": numbers.e.to_bytes(3, "big"),
                            }
                        }
                    }
                ]
            },
            "KeyUsage": [SIGNATURE],
            "UseKeyWith": [{"Application": pair[0], "Identifier": pair[1]}],
            "RevocationCodeIdentifier": revocation_code_identifier(code),
        },
        Authentication=zeep.xsd.SkipValue,
    )
    request = envelope.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
    binding = request.find(x("PrototypeKeyBinding"))
    authenticate(request, binding, passcode)
    prove_possession(request, binding, key)
    operation = client.service._binding.get("Register")
    response = client.transport.post_xml(
        service, envelope, {"SOAPAction": '""', "Content-Type": "text/xml; charset=utf-8"}
    )
    return client.service._binding.process_reply(client, operation, response)


def test_zeep_registers_locates_validates_and_revokes(
    running: RunningXkms,
    zeep_client: zeep.Client,
    zeep_history: HistoryPlugin,
    client_keys: ClientKeys,
) -> None:
    key = client_keys.rsa2048[3]
    pair = ("urn:ietf:rfc:2633", "zoe@example.com")
    code = b"zoe's revocation code"[:20]
    running.add_user("zoe")
    passcode = running.authorize("zoe", [pair])
    service = zeep_client.service
    address = running.service_url
    certificate = running.service_certificate
    query = {"UseKeyWith": [{"Application": pair[0], "Identifier": pair[1]}]}

    registered = zeep_register(zeep_client, address, key, passcode, pair, code)
    register_result = received_result(zeep_history, certificate)
    located = service.Locate(
        Id=new_id(), Service=address, RespondWith=[XKMS + "KeyValue"], QueryKeyBinding=query
    )
    received_result(zeep_history, certificate)
    validated = service.Validate(Id=new_id(), Service=address, QueryKeyBinding=query)
    received_result(zeep_history, certificate)
    revoked = service.Revoke(
        Id=new_id(),
        Service=address,
        RevokeKeyBinding={
            "Id": new_id(),
            **query,
            "Status": {"StatusValue": XKMS + "Indeterminate"},
        },
        RevocationCode=code,
    )
    received_result(zeep_history, certificate)
    after = service.Validate(Id=new_id(), Service=address, QueryKeyBinding=query)

    assert registered.ResultMajor == XKMS + "Success"
    assert register_result.get("RequestId") == registered.RequestId
    (binding,) = registered.KeyBinding
    assert binding.Status.StatusValue == XKMS + "Valid"
    assert located.ResultMajor == XKMS + "Success"
    (found,) = located.UnverifiedKeyBinding
    assert found.Id == binding.Id
    rsa_value = found.KeyInfo._value_1[0]["KeyValue"]["RSAKeyValue"]
    assert int.from_bytes(rsa_value.Modulus, "big") == key.public_key().public_numbers().n
    assert [(u.Application, u.Identifier) for u in found.UseKeyWith] == [pair]
    (valid,) = validated.KeyBinding
    assert (valid.Id, valid.Status.StatusValue) == (binding.Id, XKMS + "Valid")
    assert revoked.ResultMajor == XKMS + "Success"
    assert revoked.KeyBinding[0].Id == binding.Id
    (invalid,) = after.KeyBinding
    assert invalid.Status.StatusValue == XKMS + "Invalid"
    assert invalid.Status.InvalidReason == [XKMS + "RevocationStatus"]


def test_zeep_reads_a_refusal(
    running: RunningXkms, zeep_client: zeep.Client, zeep_history: HistoryPlugin
) -> None:
    refused = zeep_client.service.Locate(
        Id=new_id(),
        Service="https://elsewhere.example/xkms",
        QueryKeyBinding={"KeyInfo": {"_value_1": [{"KeyName": "anything"}]}},
    )

    received_result(zeep_history, running.service_certificate)
    assert (refused.ResultMajor, refused.ResultMinor) == (
        XKMS + "Sender",
        XKMS + "MessageNotSupported",
    )


# The npm soap package --------------------------------------------------------------------


def npm_soap_installed() -> Path:
    """tests/xkms/node with its node_modules, installed from the committed package-lock
    when missing (one installer at a time). Fails, never skips, without node and npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail(
            "node and npm are needed for the npm `soap` interoperability test "
            "(install Node.js 20 or newer with npm)"
        )
    lock = Path(tempfile.gettempdir()) / "passport-xkms-npm-install.lock"
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if not (NODE_DIR / "node_modules" / "soap" / "package.json").exists():
            installed = subprocess.run(
                [npm, "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund"],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert installed.returncode == 0, f"npm ci failed:\n{installed.stderr}"
    return Path(node)


def test_the_npm_soap_package_locates_and_validates(
    running: RunningXkms, client_keys: ClientKeys
) -> None:
    node = npm_soap_installed()
    key = client_keys.rsa2048[4]
    pair = ("urn:ietf:rfc:2633", "nora@example.com")
    running.add_user("nora")
    passcode = running.authorize("nora", [pair])
    with running.client() as client:
        registered = send_sync(
            client,
            register_request(running.service_url, key, passcode, [pair]),
            running.service_certificate,
        )
    assert registered.codes == ("Success", None)

    completed = subprocess.run(
        [str(node), str(NODE_DIR / "client.js"), f"{running.server.base_url}/xkms?wsdl", *pair],
        env={
            **e2e_server().passport_environment(running.home),
            "NODE_EXTRA_CA_CERTS": str(running.server.cert),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    answer = json.loads(completed.stdout)
    assert answer["address"] == running.service_url
    located, validated = answer["locate"], answer["validate"]
    assert (located["major"], located["minor"]) == (XKMS + "Success", None)
    assert located["requestId"] == "Inode-locate"
    assert located["signed"] is True
    assert located["bindings"] == [
        {
            "id": registered.binding().id,
            "useKeyWith": [list(pair)],
            "modulus": modulus_b64(key),
            "status": None,
        }
    ]
    assert (validated["major"], validated["minor"]) == (XKMS + "Success", None)
    assert [(b["id"], b["status"]) for b in validated["bindings"]] == [
        (registered.binding().id, XKMS + "Valid")
    ]


# The trace file ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceRecord:
    direction: str
    when: datetime
    client: str
    path: str
    request: str
    message: bytes


def trace_records(content: bytes) -> list[TraceRecord]:
    """Every record of a trace file; each message is `bytes=` long, then the end line."""
    records = []
    position = 0
    while position < len(content):
        header = RECORD_HEADER.match(content, position)
        assert header is not None, content[position : position + 200]
        start = header.end()
        end = start + int(header["bytes"])
        message = content[start:end]
        rest = content[end:]
        newline = b"" if message.endswith(b"\n") else b"\n"
        assert rest.startswith(newline + END_LINE), rest[:200]
        position = end + len(newline) + len(END_LINE)
        records.append(
            TraceRecord(
                direction=header["direction"].decode(),
                when=datetime.fromisoformat(header["when"].decode()),
                client=header["client"].decode(),
                path=header["path"].decode(),
                request=header["request"].decode(),
                message=message,
            )
        )
    return records


def test_the_trace_file_records_a_locate_received_and_sent(running: RunningXkms) -> None:
    request = query_request("LocateRequest", running.service_url, key_name="traced-" + new_id())
    sent = soap_envelope("1.1", etree.tostring(request))
    before = datetime.now(UTC)

    with running.client() as client:
        response = post_sync(client, request)

    after = datetime.now(UTC)
    assert response.status_code == 200
    assert stat.S_IMODE(running.trace.stat().st_mode) == 0o600
    records = trace_records(running.trace.read_bytes())
    (received,) = [r for r in records if r.direction == "received" and r.message == sent]
    (answered,) = [r for r in records if r.direction == "sent" and r.request == received.request]
    assert answered.message == response.content
    for record in (received, answered):
        assert record.client == "127.0.0.1"
        assert record.path == "/xkms"
        assert record.when.utcoffset() == UTC.utcoffset(None)
        assert before <= record.when <= after
    result = etree.fromstring(answered.message).find(".//" + x("LocateResult"))
    assert result is not None
    assert result.get("RequestId") == request.get("Id")
