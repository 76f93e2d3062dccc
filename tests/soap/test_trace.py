"""The trace file records every message received and sent, whole, readable only by its owner."""

from __future__ import annotations

import os
import re
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from starlette.routing import Route

from passport.app import create_app
from passport.config import Settings
from passport.soap.trace import Trace
from passport.web.soap import SoapEndpoint

from .conftest import CLIENT_ADDRESS, client_for
from .support import envelope, post

HEADER = re.compile(
    rb"===== (received|sent) (\S+) client=(\S+) path=(\S+) request=(\S+) bytes=(\d+) =====\n"
)
END = b"===== end =====\n"


@dataclass(frozen=True)
class Record:
    """One message in the trace file."""

    direction: str
    time: datetime
    client: str
    path: str
    request_id: str
    message: bytes


def read_trace(path: Path) -> list[Record]:
    """Every record in the file; fails on anything that is not a whole record."""
    data = path.read_bytes()
    records: list[Record] = []
    position = 0
    while position < len(data):
        match = HEADER.match(data, position)
        assert match is not None, data[position : position + 200]
        direction, when, client, path_, request_id, size = match.groups()
        start = match.end()
        message = data[start : start + int(size)]
        position = start + int(size)
        if not message.endswith(b"\n"):
            assert data[position : position + 1] == b"\n"
            position += 1
        assert data[position : position + len(END)] == END
        position += len(END)
        records.append(
            Record(
                direction.decode(),
                datetime.fromisoformat(when.decode()),
                client.decode(),
                path_.decode(),
                request_id.decode(),
                message,
            )
        )
    return records


async def test_trace_records_each_message_received_and_sent(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    trace_file = tmp_path / "trace.log"
    app = create_app(make_settings(trace_file=trace_file))
    before = datetime.now(UTC)
    async with client_for(app) as client:
        good = await post(client, "1.2", envelope("1.2"))
        bad = await post(client, "1.1", b"not xml\n===== end =====\n")
    received_good, sent_good, received_bad, sent_bad = read_trace(trace_file)
    assert [r.direction for r in (received_good, sent_good, received_bad, sent_bad)] == [
        "received",
        "sent",
        "received",
        "sent",
    ]
    assert received_good.message == envelope("1.2")
    assert sent_good.message == good.content
    assert received_bad.message == b"not xml\n===== end =====\n"
    assert sent_bad.message == bad.content
    assert received_good.request_id == sent_good.request_id == good.headers["x-request-id"]
    for record in (received_good, sent_good, received_bad, sent_bad):
        assert record.client == CLIENT_ADDRESS
        assert record.path == "/echo"
        assert record.time.tzinfo == UTC
        assert before <= record.time <= datetime.now(UTC)


async def test_trace_file_is_created_private(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    trace_file = tmp_path / "trace.log"
    old_umask = os.umask(0)
    try:
        create_app(make_settings(trace_file=trace_file))
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(trace_file.stat().st_mode) == 0o600


def test_existing_trace_file_is_narrowed_to_its_owner(tmp_path: Path) -> None:
    trace_file = tmp_path / "trace.log"
    trace_file.write_bytes(b"")
    trace_file.chmod(0o644)
    trace = Trace(trace_file)
    trace.close()
    assert stat.S_IMODE(trace_file.stat().st_mode) == 0o600


async def test_refused_oversized_message_records_the_fault_sent(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    trace_file = tmp_path / "trace.log"
    app = create_app(make_settings(trace_file=trace_file, soap_max_bytes=1024))
    async with client_for(app) as client:
        response = await post(client, "1.1", b"x" * 2000)
    assert response.status_code == 413
    (record,) = read_trace(trace_file)
    assert record.direction == "sent"
    assert record.message == response.content


def test_records_from_many_threads_never_interleave(tmp_path: Path) -> None:
    trace_file = tmp_path / "trace.log"
    trace = Trace(trace_file)
    threads = 8
    per_thread = 50
    start = threading.Barrier(threads)

    def write(number: int) -> None:
        start.wait()
        for index in range(per_thread):
            message = f"<m thread='{number}' index='{index}'>".encode() + b"y" * 5000 + b"</m>"
            trace.record(
                "received", message, client_address="192.0.2.1", path="/echo", request_id="r"
            )

    workers = [threading.Thread(target=write, args=(number,)) for number in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    trace.close()
    records = read_trace(trace_file)
    assert len(records) == threads * per_thread
    expected = {
        f"<m thread='{number}' index='{index}'>".encode() + b"y" * 5000 + b"</m>"
        for number in range(threads)
        for index in range(per_thread)
    }
    assert {record.message for record in records} == expected


def test_no_trace_file_without_the_setting(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    create_app(make_settings())
    assert not list(tmp_path.glob("*.log"))


async def test_a_trace_that_cannot_be_written_does_not_stop_the_service(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    app = create_app(make_settings(trace_file=tmp_path / "trace.log"))
    echo_endpoint = next(
        route.endpoint.endpoint
        for route in app.routes
        if isinstance(route, Route) and isinstance(route.endpoint, SoapEndpoint)
    )
    assert echo_endpoint.trace is not None
    echo_endpoint.trace.close()
    async with client_for(app) as client:
        response = await post(client, "1.1", envelope("1.1"))
    assert response.status_code == 200
