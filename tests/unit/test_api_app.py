"""The HTTP API over a read model fed the seed events directly (no broker): what every
endpoint shares — the two clocks, freshness, paging, errors as problem details, health."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from sitrep.api import app as app_module
from sitrep.api.app import create_api
from sitrep.api.readmodel import ReadModel
from sitrep.contract import Event, encode_event
from sitrep.kafka.ports import free_port_block
from sitrep.memory import FREEZE_EVERY_S, Ageing
from sitrep.publishing import Publisher
from sitrep.resolution.places import Gazetteer
from sitrep.settings import Settings
from tests.seeded import seed_events, seed_gazetteer

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PARTITIONS = 3
TOKEN = "token-of-the-tests"
"""An admin token: publishing needs one (reading, by default, does not)."""


def fed(
    events: Iterable[Event] | None = None,
    gazetteer: Gazetteer | None = None,
    model: ReadModel | None = None,
    offset: int = 0,
) -> ReadModel:
    """A read model that has folded ``events`` (the seed events by default), spread over
    partitions as the log would hold them; ``model`` goes on from the ``offset``-th record."""
    if model is None:
        model = ReadModel(gazetteer or seed_gazetteer())
    for number, event in enumerate(events if events is not None else seed_events(), offset):
        partition = number % PARTITIONS
        model.apply(partition, number // PARTITIONS, encode_event(event))
    return model


@asynccontextmanager
async def serving(model: ReadModel | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the API over ``model``, its lifespan run against a broker that is down;
    it sends an admin token."""
    closed = f"127.0.0.1:{free_port_block(1)}"
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    settings = Settings.model_validate(
        {"KAFKA_BOOTSTRAP_SERVERS": closed, "api_tokens": f"tests:admin:{digest}"}
    )
    app = create_api(settings, model or fed(), Publisher(closed, topic="unused"), clock=lambda: NOW)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://sitrep",
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as client:
            yield client


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    return body


async def test_a_bad_at_is_a_422_naming_at() -> None:
    async with serving() as client:
        body = problem(await client.get("/v1/places", params={"at": "1 Dec 2024"}), 422)
    assert [e["field"] for e in body["errors"]] == ["at"]
    assert "RFC 3339" in body["errors"][0]["reason"]


async def test_moments_outside_the_supported_range_are_a_422_naming_the_parameter() -> None:
    async with serving() as client:
        place = await client.get("/v1/places/Aleppo", params={"at": "0001-01-01"})
        situation = await client.get("/v1/situation", params={"at": "0001-01-01T00:00:00+01:00"})
        known = await client.get("/v1/places", params={"known_at": "9999-12-31"})
        since = await client.get("/v1/strikes", params={"since": "1799-12-31"})
    for response, name in ((place, "at"), (situation, "at"), (known, "known_at"), (since, "since")):
        errors = problem(response, 422)["errors"]
        assert [e["field"] for e in errors] == [name]
        assert "must lie between 1800-01-01 and 2199-12-31" in errors[0]["reason"]


async def test_a_date_time_without_offset_is_refused_for_known_at() -> None:
    async with serving() as client:
        response = await client.get("/v1/places/Aleppo", params={"known_at": "2024-12-01T12:00"})
    assert [e["field"] for e in problem(response, 422)["errors"]] == ["known_at"]


async def test_bad_query_parameters_are_problems_naming_them() -> None:
    async with serving() as client:
        limit = problem(await client.get("/v1/strikes", params={"limit": "0"}), 422)
        cursor = problem(await client.get("/v1/actors", params={"cursor": "nonsense"}), 422)
        status = problem(await client.get("/v1/places", params={"status": "won"}), 422)
        since = problem(await client.get("/v1/casualties", params={"since": "yesterday"}), 422)
    assert [e["field"] for e in limit["errors"]] == ["limit"]
    assert [e["field"] for e in cursor["errors"]] == ["cursor"]
    assert [e["field"] for e in status["errors"]] == ["status"]
    assert [e["field"] for e in since["errors"]] == ["since"]


async def test_a_country_that_is_no_code_is_refused_not_answered_with_nothing() -> None:
    async with serving() as client:
        for path in ("/v1/places", "/v1/strikes", "/v1/statements", "/v1/situation"):
            body = problem(await client.get(path, params={"country": "Syria"}), 422)
            assert [e["field"] for e in body["errors"]] == ["country"], path
            assert "ISO 3166-1 alpha-2" in body["errors"][0]["reason"]
        lower = await client.get("/v1/places", params={"country": "sy", "at": "2024-12-01"})
    assert lower.status_code == 200
    assert "sy-aleppo" in {item["place"]["id"] for item in lower.json()["items"]}


async def test_query_errors_are_worded_like_the_contracts() -> None:
    async with serving() as client:
        low = problem(await client.get("/v1/strikes", params={"limit": "-1"}), 422)
        word = problem(await client.get("/v1/strikes", params={"limit": "ten"}), 422)
    assert low["errors"] == [{"field": "limit", "reason": "must be at least 1 (got '-1')"}]
    assert word["errors"] == [{"field": "limit", "reason": "must be a whole number (got 'ten')"}]


async def test_a_query_parameter_a_route_does_not_take_is_refused_by_name() -> None:
    async with serving() as client:
        misspelt = problem(await client.get("/v1/places", params={"contry": "SY"}), 422)
        strikes = await client.get(
            "/v1/strikes", params={"perpetrator": "Russia", "at": "2024-12-01"}
        )
        one = await client.get("/v1/places/Aleppo", params={"day": "2024-12-01"})
        health = await client.get("/healthz", params={"verbose": "1"})
        fine = await client.get("/v1/strikes", params={"actor": "Russia", "limit": "5"})
    assert [e["field"] for e in misspelt["errors"]] == ["contry"]
    reason = misspelt["errors"][0]["reason"]
    assert "is not a parameter of /v1/places" in reason
    assert "country" in reason  # what it takes: its own...
    assert "known_at" in reason  # ... and those every read shares
    assert [e["field"] for e in problem(strikes, 422)["errors"]] == ["perpetrator"]
    assert [e["field"] for e in problem(one, 422)["errors"]] == ["day"]  # past the fast lane
    assert problem(health, 422)["errors"][0]["reason"].endswith("(it takes none)")
    assert fine.status_code == 200


async def test_unknown_paths_are_problems_too() -> None:
    async with serving() as client:
        problem(await client.get("/v1/nowhere"), 404)
        problem(await client.delete("/v1/places"), 405)


async def test_every_answer_says_what_was_asked_and_how_fresh_it_is() -> None:
    events = list(seed_events())
    async with serving(fed(events)) as client:
        body = (await client.get("/v1/places/Aleppo", params={"at": "2024-12-01"})).json()
    assert body["asked"] == {"at": "2024-12-01T23:59:59.999999+00:00", "known_at": NOW.isoformat()}
    position = body["freshness"]["position"]
    assert sum(position.values()) == len(events)
    # The broker of these tests is down: how much waits on the log is not known, and the
    # answer does not pretend it is nothing.
    assert body["freshness"]["behind"] is None
    assert body["freshness"]["log_reached_at"] is None


async def test_freshness_counts_the_records_not_folded_yet() -> None:
    model = fed()
    model.note_ends({0: model.freshness().position["0"] + 5})
    assert model.freshness().behind == 5  # as a reader that reaches the log would say
    async with serving(model) as client:
        ready = await client.get("/readyz")
    assert problem(ready, 503)


async def test_pages_follow_each_other_without_overlap() -> None:
    async with serving() as client:
        everything = (await client.get("/v1/places", params={"at": "2024-12-01"})).json()
        seen: list[str] = []
        cursor = None
        while True:
            params = {"at": "2024-12-01", "limit": "2", **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/v1/places", params=params)).json()
            assert len(page["items"]) <= 2
            seen.extend(item["place"]["id"] for item in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert seen == [item["place"]["id"] for item in everything["items"]]
    assert len(seen) > 2


async def test_the_process_is_alive_but_not_ready_without_a_broker() -> None:
    async with serving() as client:
        alive = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert alive.status_code == 200
    assert alive.json() == {"status": "alive"}
    assert "Retry-After" in ready.headers
    problem(ready, 503)


async def test_publishing_without_a_broker_is_a_503_with_retry_after() -> None:
    event = next(iter(seed_events())).model_dump(mode="json", by_alias=True, exclude_none=True)
    event["id"] = "not-on-the-log-yet"
    async with serving() as client:
        response = await client.post("/v1/events", json=[event])
    problem(response, 503)
    assert int(response.headers["Retry-After"]) > 0


async def test_one_invalid_event_is_a_422_naming_each_field() -> None:
    async with serving() as client:
        response = await client.post(
            "/v1/events", json={"id": "x-1", "type": "strike.reported", "data": {"means": "laser"}}
        )
    fields = {e["field"] for e in problem(response, 422)["errors"]}
    assert {"occurred_at", "reported_at", "source", "data.means"} <= fields


async def test_a_body_that_is_not_json_is_a_400_not_a_crash() -> None:
    async with serving() as client:
        problem(await client.post("/v1/events", content=b"{not json"), 400)
        problem(await client.post("/v1/events", json=[]), 422)
        problem(await client.post("/v1/events", json="an event"), 422)
        problem(await client.post("/v1/events", json=[{}] * 1001), 413)


async def test_events_already_on_the_log_are_duplicates_without_the_broker() -> None:
    seed = [e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in seed_events()]
    async with serving() as client:
        response = await client.post(
            "/v1/events", json=[seed[0], seed[1], {"id": "bad", "type": "strike.reported"}]
        )
    body = response.json()
    assert response.status_code == 200, body
    assert [r["status"] for r in body["results"]] == ["duplicate", "duplicate", "rejected"]
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (0, 2, 1)
    assert body["results"][2]["id"] == "bad"
    assert {"source", "data"} <= {e["field"] for e in body["results"][2]["errors"]}


async def test_an_id_published_before_with_other_content_is_a_conflict_naming_the_fields() -> None:
    seed = [e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in seed_events()]
    changed = {**seed[0], "reported_at": "2024-12-02T09:00:00Z", "notes": "resent, edited"}
    async with serving() as client:  # known without the broker (which is down)
        batch = (await client.post("/v1/events", json=[changed, seed[1]])).json()
        one = await client.post("/v1/events", json=changed)
    assert [r["status"] for r in batch["results"]] == ["conflict", "duplicate"]
    assert (batch["accepted"], batch["duplicate"], batch["conflict"]) == (0, 1, 1)
    assert [e["field"] for e in batch["results"][0]["errors"]] == ["notes", "reported_at"]
    assert "already published" in batch["results"][0]["errors"][0]["reason"]
    single = problem(one, 409)
    assert [e["field"] for e in single["errors"]] == ["notes", "reported_at"]
    assert "the first stands" in single["detail"]


async def test_the_openapi_document_describes_every_endpoint() -> None:
    async with serving() as client:
        document = (await client.get("/openapi.json")).json()
    assert set(document["paths"]) >= {
        "/v1/places",
        "/v1/places/{place}",
        "/v1/places/{place}/history",
        "/v1/actors",
        "/v1/actors/{actor}",
        "/v1/strikes",
        "/v1/casualties",
        "/v1/statements",
        "/v1/situation",
        "/v1/events",
        "/v1/events/{event_id}",
        "/healthz",
        "/readyz",
    }
    at = next(p for p in document["paths"]["/v1/places"]["get"]["parameters"] if p["name"] == "at")
    assert "RFC 3339" in at["description"]


async def test_what_the_model_keeps_is_frozen_as_it_goes_but_never_an_open_request() -> None:
    ticks: list[bool] = []
    generations: list[int] = []

    class Counted(Ageing):
        def tick(self, *, full: bool = False, generation: int = 1) -> None:
            ticks.append(full)
            generations.append(generation)

    async def ticks_within(model: ReadModel, in_flight: int) -> int:
        ticks.clear()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(FREEZE_EVERY_S * 2.5):
                await app_module.age(model, lambda: in_flight, Counted())
        assert not any(ticks)  # a young collection, then frozen: never a full one
        return len(ticks)

    behind = fed(list(seed_events()))
    behind.note_ends({2: behind.freshness().position["2"] + 4})  # the log holds more
    assert await ticks_within(behind, in_flight=3) == 2  # catching up: every FREEZE_EVERY_S

    serving = fed(list(seed_events()))
    serving.note_ends({int(p): o for p, o in serving.freshness().position.items()})
    now = datetime(2024, 12, 1, tzinfo=UTC)
    while serving.now.due:
        serving.now.make(now, now, 1.0)
    assert serving.caught_up
    assert serving.now.settled
    assert await ticks_within(serving, in_flight=3) == 0  # their cycles would stay for good
    generations.clear()
    assert await ticks_within(serving, in_flight=0) == 2
    assert generations == [1, 1]  # a fresh run of the task: nothing was skipped in it

    # Requests open for two turns, then none: every unfrozen object is collected before the
    # first freeze after them (what they left has aged past the young generations).
    class Done(Exception):
        pass

    open_now = [3, 3, 0, 0]

    def in_flight() -> int:
        if not open_now:
            raise Done
        return open_now.pop(0)

    generations.clear()
    with pytest.raises(Done):
        await app_module.age(serving, in_flight, Counted())
    assert generations == [2, 1]
