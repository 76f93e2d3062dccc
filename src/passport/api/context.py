"""What a controller method learns about the request it serves, and what it asks back."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from types import TracebackType

from sqlalchemy import Connection

from passport.identity.groups import Memberships
from passport.identity.sessions import Session
from passport.storage.database import Database


class SharedReads:
    """One reader connection, taken at the first read, for all the reads of one request."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._opened: AbstractContextManager[Connection] | None = None
        self._connection: Connection | None = None

    def connection(self) -> Connection:
        """The shared connection (a kept reader connection, taken the first time)."""
        if self._connection is None:
            opened = self.database.quick_read()
            self._connection = opened.__enter__()
            self._opened = opened
        return self._connection

    def __enter__(self) -> SharedReads:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        opened, self._opened, self._connection = self._opened, None, None
        if opened is not None:
            opened.__exit__(kind, error, traceback)


@dataclass(slots=True)
class RequestContext:
    """The request as the API layer sees it: who asks, from where, with which credentials.

    The dispatcher resolves `session` from the cookie; a method that logs in or out sets
    `new_session_token` or `end_session`, and the HTTP layer turns those into cookies.
    """

    request_id: str
    client_address: str
    http_method: str
    public_url: str
    session_token: str | None = None
    basic_credentials: tuple[str, str] | None = None
    origin: str | None = None
    origin_from_referer: bool = False
    jsonp: bool = False
    session: Session | None = None
    # For `identity` methods: the session's memberships, read with the session.
    memberships: Memberships | None = None
    new_session_token: str | None = None
    end_session: bool = False
    cors_origin: str | None = None
    # Writes a read-only method put off (a session's last-seen time), so that the method can
    # run on the event loop: the HTTP layer runs them in the threadpool before answering.
    deferred: list[Callable[[], None]] = field(default_factory=list)
    # While an inline method runs: the one reader connection its short reads share.
    shared_reads: SharedReads | None = None

    def connection(self) -> Connection | None:
        """The request's shared reader connection, or None: each read opens its own."""
        return None if self.shared_reads is None else self.shared_reads.connection()

    @property
    def logged_in(self) -> bool:
        """Whether the request (or the method, by logging in) holds a live session."""
        return self.session is not None
