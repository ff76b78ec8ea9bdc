"""What one request may make the API hold: a header past its limit is a 431 before it is
held whole, a body past its limit a 413."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import uvicorn
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from sitrep.api.limits import header_limited
from sitrep.kafka.ports import free_port_block
from tests.unit.test_api_access import _as, _configured, _new_event, serving
from tests.unit.test_api_app import problem


async def _hello(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await PlainTextResponse("hello")(scope, receive, send)


async def _ask(port: int, head: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)  # until the server closes
    writer.close()
    return answer


async def test_a_header_past_the_limit_is_a_431_and_the_connection_closes() -> None:
    port = free_port_block(1)
    config = uvicorn.Config(
        _hello, host="127.0.0.1", port=port, http=header_limited(8192), log_level="error"
    )
    server = uvicorn.Server(config)
    serving_task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.05)
        small = await _ask(port, b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        huge = b"GET / HTTP/1.1\r\nhost: x\r\nx-filler: " + b"a" * 200_000 + b"\r\n\r\n"
        refused = await _ask(port, huge)
        # Two requests on one connection, the second with a long body: not a long header.
        body = b"b" * 150_000
        post = b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n" % len(body) + body
        pipelined = await _ask(
            port, post + b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
        )
    finally:
        server.should_exit = True
        await serving_task
    assert small.startswith(b"HTTP/1.1 200")
    assert refused.startswith(b"HTTP/1.1 431")
    assert b"over 8192 bytes" in refused
    assert pipelined.count(b"HTTP/1.1 200") == 2


async def test_a_body_past_the_limit_is_a_413_declared_or_streamed() -> None:
    big = [_new_event(f"big-{i}") | {"notes": "n" * 5000} for i in range(40)]  # ~250 KB

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 10_000  # JSON whitespace: 200 KB of it, no length declared

    async with serving(_configured(api_max_body_bytes=65536)) as client:
        declared = await client.post("/v1/events", json=big, headers=_as("alice"))
        streamed = await client.post("/v1/events", content=chunks(), headers=_as("alice"))
        small = await client.post("/v1/events", json=_new_event("fits"), headers=_as("alice"))
    assert "65536 bytes" in problem(declared, 413)["detail"]
    problem(streamed, 413)
    assert small.status_code == 200, small.text
