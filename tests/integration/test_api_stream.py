"""GET /v1/stream on a real broker, over real HTTP: view records produced onto the view topics
(as a worker would) reach the clients that want them, and a client that comes back with
Last-Event-ID gets what it missed and nothing it had."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer

from sitrep.api.app import create_api
from sitrep.api.readmodel import ReadModel
from sitrep.kafka.ports import free_port_block
from sitrep.settings import Settings
from tests.integration.stack import Stack, new_stack, wait_for
from tests.seeded import seed_gazetteer

pytestmark = pytest.mark.integration

WITHIN_S = 30.0


@asynccontextmanager
async def api_on(stack: Stack, **more: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The API on the stack's topics (with the settings ``more`` gives), served by uvicorn on
    a free port, and a client of it."""
    settings = Settings.model_validate(
        {
            "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap,
            "topic_namespace": stack.names.namespace,
            **more,
        }
    )
    app = create_api(settings, ReadModel(seed_gazetteer()))
    port = free_port_block(1)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none")
    )
    serving = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    try:
        await wait_for(started, within=30, every=0.05)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        await serving


class Events:
    """The server-sent events of one open stream, one at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self._next(), WITHIN_S)

    async def during(self, seconds: float) -> list[dict[str, Any]]:
        """Every event that comes within ``seconds``."""
        got: list[dict[str, Any]] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    got.append(await self._next())
        return got

    async def _next(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        async for line in self._lines:
            if line == "" and fields:
                fields["data"] = orjson.loads(fields["data"])
                return fields
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
        raise AssertionError("the stream ended")


@asynccontextmanager
async def streaming(client: httpx.AsyncClient, **params: Any) -> AsyncIterator[Events]:
    headers = {}
    if "last_event_id" in params:
        headers["Last-Event-ID"] = params.pop("last_event_id")
    async with client.stream("GET", "/v1/stream", params=params, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Events(response)


def _place(place_id: str, country: str) -> dict[str, Any]:
    return {"id": place_id, "name": place_id, "country": country, "admin1": None, "parent": None}


def control(place_id: str, country: str = "SY", holder: str = "hayat-tahrir-al-sham") -> bytes:
    view = {"place": _place(place_id, country), "controller": {"id": holder, "name": holder}}
    return orjson.dumps({"as_of": {"at": "2024-12-01T23:59:59Z"}, "view": view})


def strike(place_id: str, country: str = "SY") -> bytes:
    view = {"place": _place(place_id, country), "perpetrator": None}
    return orjson.dumps({"as_of": {"at": "2024-12-01T23:59:59Z"}, "view": view})


@pytest.fixture
async def stack(kafka_bootstrap: str, tmp_path: Path) -> Stack:
    created = new_stack(kafka_bootstrap, tmp_path)
    await created.create_topics()
    return created


@asynccontextmanager
async def producing(stack: Stack) -> AsyncIterator[Any]:
    """``send(kind, key, value)``: one view record onto the stack's view topic, acknowledged."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    await producer.start()
    topics = stack.names.views()

    async def send(kind: str, key: str, value: bytes | None) -> None:
        await producer.send_and_wait(topics[kind], value, key=key.encode())

    try:
        yield send
    finally:
        await producer.stop()


async def test_a_client_receives_changes_made_after_it_connected(stack: Stack) -> None:
    async with producing(stack) as send, api_on(stack) as client:
        await send("control", "sy-before", control("sy-before"))
        async with streaming(client) as events:
            await send("control", "sy-aleppo", control("sy-aleppo"))
            await send("strikes", "sy-homs/2024-12-01/air/x", None)
            # Two topics: no order between them.
            got = {e["event"]: e for e in [await events.next(), await events.next()]}
    first, second = got["control"], got["strikes"]
    assert first["data"]["key"] == "sy-aleppo"
    assert first["data"]["value"]["view"]["controller"]["id"] == "hayat-tahrir-al-sham"
    assert first["id"]
    assert second["data"] == {"kind": "strikes", "key": "sy-homs/2024-12-01/air/x", "value": None}


async def test_a_filter_leaves_out_the_changes_it_does_not_match(stack: Stack) -> None:
    async with (
        producing(stack) as send,
        api_on(stack) as client,
        streaming(client, kind="control", country="SY") as events,
    ):
        await send("control", "lb-beirut", control("lb-beirut", country="LB"))
        await send("strikes", "sy-idlib/2024-12-01/air/x", strike("sy-idlib"))
        await send("control", "sy-hama", control("sy-hama"))
        got = await events.during(3.0)
    assert [(e["event"], e["data"]["key"]) for e in got] == [("control", "sy-hama")]


async def test_resuming_replays_what_was_missed_and_nothing_that_was_had(stack: Stack) -> None:
    async with producing(stack) as send, api_on(stack) as client:
        async with streaming(client) as events:
            await send("control", "sy-a", control("sy-a"))
            had = await events.next()
        assert had["data"]["key"] == "sy-a"
        # Missed while away: on several topics and partitions.
        await send("control", "sy-b", control("sy-b"))
        await send("strikes", "sy-c/2024-12-01/air/x", strike("sy-c"))
        await send("actors", "hts", orjson.dumps({"as_of": {}, "view": {"id": "hts"}}))

        async with streaming(client, last_event_id=had["id"]) as events:
            missed = [await events.next() for _ in range(3)]
            await send("control", "sy-d", control("sy-d"))
            live = await events.next()
    keys = sorted(e["data"]["key"] for e in missed)
    assert keys == ["hts", "sy-b", "sy-c/2024-12-01/air/x"]
    assert live["data"]["key"] == "sy-d"

    async with producing(stack) as send:
        await send("control", "sy-a", control("sy-a", holder="syrian-army"))  # a's latest
        await send("control", "sy-b", None)  # b is gone
    async with api_on(stack) as client, streaming(client, **{"from": "beginning"}) as events:
        current = [await events.next() for _ in range(4)]
        extra = await events.during(1.0)
    # Each entity as it stands, once: not every record the topics still hold.
    keys = sorted(e["data"]["key"] for e in current)
    assert keys == ["hts", "sy-a", "sy-c/2024-12-01/air/x", "sy-d"]
    a = next(e for e in current if e["data"]["key"] == "sy-a")
    assert a["data"]["value"]["view"]["controller"]["id"] == "syrian-army"
    assert extra == []


async def test_past_the_most_streams_a_client_is_told_to_come_back_and_a_leaving_one_frees_room(
    stack: Stack,
) -> None:
    async with api_on(stack, api_max_streams=2) as client:
        async with streaming(client), streaming(client):
            third = await client.get("/v1/stream")
            assert third.status_code == 503
            assert "2 clients follow the stream already" in third.json()["detail"]
            assert int(third.headers["Retry-After"]) > 0
        # Both left: room again.
        async with streaming(client) as events:
            assert await events.during(0.2) == []
