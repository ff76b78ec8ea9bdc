"""The HTTP API on a real broker, over real HTTP: publishing through it, and reading back what
its read model folded from the log."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from sitrep.api.app import create_api
from sitrep.api.readmodel import ReadModel, open_read_model
from sitrep.kafka.ports import free_port_block
from sitrep.publishing import Publisher
from sitrep.settings import Settings
from tests.integration.stack import Stack, new_stack, wait_for
from tests.seeded import seed_events, seed_gazetteer

pytestmark = pytest.mark.integration

TOKENS = {"alice": "token-of-alice", "bob": "token-of-bob"}
"""Two publishers; the client of :func:`api_on` is alice."""


def _settings(bootstrap: str, namespace: str) -> Settings:
    tokens = ",".join(
        f"{name}:publisher:{hashlib.sha256(token.encode()).hexdigest()}"
        for name, token in TOKENS.items()
    )
    return Settings.model_validate(
        {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "topic_namespace": namespace, "api_tokens": tokens}
    )


def _as(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


@asynccontextmanager
async def api_on(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API served by uvicorn on a free port, and a client of it publishing as alice."""
    names = settings.topics()
    app = create_api(
        settings,
        ReadModel(seed_gazetteer()),
        Publisher(settings.bootstrap_servers(), topic=names.events, request_timeout_ms=5_000),
    )
    port = free_port_block(1)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none")
    )
    serving = asyncio.create_task(server.serve())
    try:
        await wait_for(lambda: _started(server), within=30, every=0.05)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=30, headers=_as("alice")
        ) as client:
            yield client
    finally:
        server.should_exit = True
        await serving


async def _started(server: uvicorn.Server) -> bool:
    return server.started


def _as_published() -> list[dict[str, Any]]:
    return [e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in seed_events()]


async def _stack(bootstrap: str, tmp_path: Path) -> Stack:
    stack = new_stack(bootstrap, tmp_path)
    await stack.create_topics()
    return stack


async def test_published_events_are_acknowledged_then_served(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    stack = await _stack(kafka_bootstrap, tmp_path)
    events = _as_published()
    capture = next(e for e in events if e["type"] == "control.changed")
    invalid = {**capture, "id": "seed-broken", "data": {"controller": ""}}
    async with api_on(_settings(kafka_bootstrap, stack.names.namespace)) as client:
        first = await client.post("/v1/events", json=[*events, invalid])
        assert first.status_code == 200, first.text
        results = first.json()["results"]
        assert [r["status"] for r in results] == ["accepted"] * len(events) + ["rejected"]
        assert all(r["offset"] >= 0 for r in results[:-1])
        assert [e["field"] for e in results[-1]["errors"]] == ["data.controller"]

        again = await client.post("/v1/events", json=events[:3])
        assert [r["status"] for r in again.json()["results"]] == ["duplicate"] * 3
        # Known from the acknowledgement, before the read model has folded them: the same
        # id with other content is a conflict, and a new id sent twice differently too.
        edited = {**events[0], "notes": "edited"}
        new = {**capture, "id": "seed-new-1"}
        mixed = await client.post("/v1/events", json=[edited, new, {**new, "notes": "twice"}])
        statuses = [r["status"] for r in mixed.json()["results"]]
        assert statuses == ["conflict", "accepted", "conflict"], mixed.text
        assert [e["field"] for e in mixed.json()["results"][2]["errors"]] == ["notes"]
        events = [*events, new]

        async def aleppo() -> dict[str, Any] | None:
            # Served once the read model has folded everything published (not only the
            # baseline, which would answer the government).
            response = await client.get("/v1/places/Aleppo", params={"at": "2024-12-01"})
            if response.status_code != 200:
                return None
            answer: dict[str, Any] = response.json()
            folded = sum(answer["freshness"]["position"].values())
            return answer if folded >= len(events) and not answer["freshness"]["behind"] else None

        body = await wait_for(aleppo, within=30)
        assert body["view"]["controller"]["name"] == "Hayat Tahrir al-Sham"
        assert body["view"]["status"] == "partial"

        async def ready() -> bool:
            return (await client.get("/readyz")).status_code == 200

        await wait_for(ready, within=30)
        fresh = (await client.get("/v1/actors/Nusra Front")).json()
        assert fresh["view"]["name"] == "Hayat Tahrir al-Sham"
        assert sum(fresh["freshness"]["position"].values()) == len(events)
        assert fresh["freshness"]["behind"] == 0
        fate = (await client.get("/v1/events/seed-000-hama-army-withdrew")).json()["view"]
        assert fate["status"] == "denied"


async def test_a_second_api_process_sees_the_duplicates_on_the_log(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    stack = await _stack(kafka_bootstrap, tmp_path)
    events = _as_published()
    await stack.publish(events)
    async with api_on(_settings(kafka_bootstrap, stack.names.namespace)) as client:

        async def caught_up() -> bool:
            return (await client.get("/readyz")).status_code == 200

        await wait_for(caught_up, within=30)
        answer = (await client.post("/v1/events", json=events[:2])).json()
    assert [r["status"] for r in answer["results"]] == ["duplicate", "duplicate"]


async def test_only_its_publisher_may_retract_an_event_even_after_a_restart(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    stack = await _stack(kafka_bootstrap, tmp_path)
    settings = _settings(kafka_bootstrap, stack.names.namespace)
    capture = next(e for e in _as_published() if e["type"] == "control.changed")
    retraction = {
        "type": "event.retracted",
        "occurred_at": "2024-12-02",
        "reported_at": "2024-12-02T12:00:00Z",
        "source": {"name": "Sitrep desk", "kind": "monitor"},
        "data": {"event_id": capture["id"], "reason": "The report was mistaken."},
    }
    async with api_on(settings) as client:
        published = await client.post("/v1/events", json=capture)
        assert published.json()["accepted"] == 1, published.text
    # A new API process knows who published the event only from the record on the log.
    async with api_on(settings) as client:

        async def caught_up() -> bool:
            return (await client.get("/readyz")).status_code == 200

        await wait_for(caught_up, within=30)
        bob = await client.post(
            "/v1/events", json={**retraction, "id": "retract-by-bob"}, headers=_as("bob")
        )
        alice = await client.post("/v1/events", json={**retraction, "id": "retract-by-alice"})

        async def retracted() -> bool:
            fate = await client.get(f"/v1/events/{capture['id']}")
            return fate.json()["view"]["status"] == "retracted"

        await wait_for(retracted, within=30)
    assert bob.status_code == 403, bob.text
    assert bob.headers["content-type"] == "application/problem+json"
    assert alice.json()["accepted"] == 1, alice.text


async def test_a_broker_out_of_reach_is_a_503_with_retry_after() -> None:
    closed = f"127.0.0.1:{free_port_block(1)}"
    async with api_on(_settings(closed, "unreachable")) as client:
        response = await client.post("/v1/events", json=_as_published()[:1])
        ready = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    assert ready.status_code == 503


async def test_the_sitrep_api_command_serves_the_log(kafka_bootstrap: str, tmp_path: Path) -> None:
    stack = await _stack(kafka_bootstrap, tmp_path)
    await stack.publish(list(seed_events()))
    port = free_port_block(1)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "SITREP_TOPIC_NAMESPACE": stack.names.namespace,
    }
    command = [sys.executable, "-m", "sitrep.cli.main", "api", "--seeds-only", "--port", str(port)]
    log = (tmp_path / "api.log").open("wb")
    proc = await asyncio.create_subprocess_exec(*command, env=env, stdout=log, stderr=log)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:

            async def ready() -> bool:
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_for(ready, within=60)
            hama = (await client.get("/v1/places/Hama", params={"at": "2024-12-01"})).json()
        assert hama["view"]["status"] == "disputed"
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=30)
        log.close()
    # uvicorn shuts down gracefully on SIGTERM, then ends by that signal as the convention is.
    said = (tmp_path / "api.log").read_text()
    assert proc.returncode in (0, -signal.SIGTERM), said
    assert "Application shutdown complete" in said


async def test_a_restarted_read_model_reads_on_from_its_store_not_from_the_start(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    stack = await _stack(kafka_bootstrap, tmp_path)
    events = list(seed_events())
    await stack.publish(events[:-1])
    root = tmp_path / "api"

    async def caught_up(model: ReadModel) -> bool:
        return model.caught_up and model.folded + model.rejected > 0

    first = open_read_model(root, seed_gazetteer())
    await first.start(kafka_bootstrap, stack.names.events)
    await wait_for(lambda: caught_up(first), within=30)
    position = first.freshness().position
    await first.stop()

    again = open_read_model(root, seed_gazetteer())
    # Before reading anything, it stands where the last one stopped.
    assert again.freshness().position == position
    assert again.folded == len(events) - 1
    await stack.publish(events)  # the last event, and every other one again
    await again.start(kafka_bootstrap, stack.names.events)
    try:
        await wait_for(lambda: caught_up(again), within=30)
        assert again.folded == len(events)
        aleppo = again.situation.ledgers.keys_of("place:")
        assert next(aleppo, None) is not None
        # Each event was read once before the restart and once since: never twice by one.
        first_event = again.published(events[0].id)
        assert first_event is not None
        assert len(first_event.copies) == 2
    finally:
        await again.stop()


async def test_a_store_further_on_than_a_recreated_log_is_never_ready(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    events = list(seed_events())
    old = await _stack(kafka_bootstrap, tmp_path / "old")
    await old.publish(events)
    root = tmp_path / "api"
    first = open_read_model(root, seed_gazetteer())
    await first.start(kafka_bootstrap, old.names.events)
    await wait_for(lambda: _caught_up(first), within=30)
    await first.stop()

    # The same state directory, and a log that holds less than the store has read.
    recreated = await _stack(kafka_bootstrap, tmp_path / "new")
    await recreated.publish(events[:3])
    again = open_read_model(root, seed_gazetteer())
    await again.start(kafka_bootstrap, recreated.names.events)
    try:
        await asyncio.sleep(4)
        assert not again.caught_up  # so /readyz keeps it out of a load balancer's rotation
        assert again.folded == len(events)  # and nothing of the new log was filed over it
    finally:
        await again.stop()


async def _caught_up(model: ReadModel) -> bool:
    return model.caught_up and model.folded > 0
