"""How much one request may make the API hold: its header and its body.

A header is read before any ASGI code sees the request, so its limit is the HTTP protocol's:
uvicorn's httptools protocol, counting what arrives until the header ends, answers 431 and
closes the connection past ``max_header_bytes`` (httptools itself would buffer a header of any
size). A body is limited here, in ASGI: a declared length over the limit is a 413 before a byte
of it is read, and a chunked body is counted as it is read.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from sitrep.api.problems import PROBLEM_JSON, Problem

LINGER_S = 1.0
"""How long a connection refused for its header stays open, dropping what still comes."""


class HeaderLimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a request whose header outgrows
    ``max_header_bytes`` with a 431."""

    max_header_bytes = 64 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_header = True
        self._header_bytes = 0
        self._refused = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_header, self._header_bytes = True, 0

    def on_headers_complete(self) -> None:
        self._in_header = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # what the client still sends after the 431 is read and dropped
        # A chunk in which a message began may hold the end of the one before: not counted.
        counted = self._in_header
        super().data_received(data)
        if not (counted and self._in_header) or self.transport.is_closing():
            return
        self._header_bytes += len(data)
        if self._header_bytes > self.max_header_bytes:
            self._refuse_header()

    def _refuse_header(self) -> None:
        detail = f"the request's header is over {self.max_header_bytes} bytes"
        body = Problem(431, "Request header too large", detail).body()
        head = [
            STATUS_LINE[431],
            b"content-type: " + PROBLEM_JSON.encode() + b"\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        # Closed a moment later, not at once: closing with the client's bytes unread would
        # reset the connection, and the client might never read the answer.
        self._refused = True
        asyncio.get_running_loop().call_later(LINGER_S, self.transport.close)


def header_limited(max_header_bytes: int) -> type[HeaderLimitedProtocol]:
    """The protocol class for uvicorn's ``http`` option, with this limit."""
    return type("HeaderLimited", (HeaderLimitedProtocol,), {"max_header_bytes": max_header_bytes})


class BodyTooLarge(Exception):
    """A chunked body outgrew the limit while being read."""


class BodyLimit:
    """Answers 413 for a request body over ``max_bytes`` (pure ASGI)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refused()(scope, receive, send)
            return
        read = 0
        started = False

        async def receiving() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        except BodyTooLarge:
            if started:
                raise
            await self._refused()(scope, receive, send)

    def _refused(self) -> ASGIApp:
        detail = f"a request's body may hold {self.max_bytes} bytes"
        return Problem(413, "Request body too large", detail).response()
