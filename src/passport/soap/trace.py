"""The trace file: every SOAP message received and sent, as written on the wire.

A record is a header line, the message bytes, and an end line:

    ===== received 2025-01-02T03:04:05.678901+00:00 client=203.0.113.7 path=/xkms
    request=1f2e3d4c5b6a7980 bytes=312 =====
    <message bytes>
    ===== end =====

(the header is one line). `bytes` tells a reader where the message ends even if the message
itself contains a line that looks like a separator. The file is created with mode 0600, as
messages may carry passcodes. Each record is one write() on a descriptor opened with
O_APPEND, so records from several threads or worker processes never interleave.
"""

from __future__ import annotations

import os
import threading
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

Direction = Literal["received", "sent"]
FILE_MODE = 0o600
END_LINE = b"===== end =====\n"


class Trace:
    """Appends message records to one file; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        self._fd = os.open(path, flags, FILE_MODE)
        try:
            # A file that already existed keeps its mode on open; narrow it.
            os.fchmod(self._fd, FILE_MODE)
        except OSError:
            os.close(self._fd)
            raise
        self._lock = threading.Lock()
        self._closer = weakref.finalize(self, os.close, self._fd)

    def record(
        self,
        direction: Direction,
        message: bytes,
        *,
        client_address: str,
        path: str,
        request_id: str,
    ) -> None:
        """Append one record."""
        when = datetime.now(UTC).isoformat()
        header = (
            f"===== {direction} {when} client={client_address or '-'} path={path} "
            f"request={request_id} bytes={len(message)} =====\n"
        ).encode()
        newline = b"" if message.endswith(b"\n") else b"\n"
        data = b"".join((header, message, newline, END_LINE))
        with self._lock:
            written = os.write(self._fd, data)
            # A regular file takes the whole record at once; a short write (a full disk)
            # still finishes the record rather than leave it cut.
            while written < len(data):
                written += os.write(self._fd, data[written:])

    def close(self) -> None:
        """Close the file; later records raise."""
        self._closer()
