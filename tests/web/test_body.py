"""Reading a request body up to a limit, whatever the Content-Length header claims."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.types import Message, Receive, Scope

from passport.web.body import BodyTooLargeError, read_body


def receiver(chunks: list[bytes]) -> Receive:
    messages: Iterator[Message] = iter(
        [
            *({"type": "http.request", "body": c, "more_body": True} for c in chunks),
            {"type": "http.request", "body": b"", "more_body": False},
        ]
    )

    async def receive() -> Message:
        return next(messages)

    return receive


def scope(content_length: bytes | None) -> Scope:
    headers = [] if content_length is None else [(b"content-length", content_length)]
    return {"type": "http", "headers": headers}


async def test_body_in_chunks_is_read_whole() -> None:
    body = await read_body(scope(None), receiver([b"ab", b"cd"]), 10)
    assert body == b"abcd"


async def test_declared_length_over_the_limit_is_refused_before_reading() -> None:
    async def receive() -> Message:
        raise AssertionError("the body was read")

    with pytest.raises(BodyTooLargeError):
        await read_body(scope(b"11"), receive, 10)


async def test_more_bytes_than_the_limit_are_refused_whatever_was_declared() -> None:
    with pytest.raises(BodyTooLargeError):
        await read_body(scope(b"4"), receiver([b"x" * 6, b"x" * 6]), 10)


@pytest.mark.parametrize(
    "declared", ["²".encode("latin-1"), b"-1", b"1e3", b" 5", b"", b"abc", b"9" * 40]
)
async def test_odd_content_length_values_never_crash(declared: bytes) -> None:
    try:
        body = await read_body(scope(declared), receiver([b"abc"]), 10)
    except BodyTooLargeError:
        assert declared == b"9" * 40
    else:
        assert body == b"abc"
