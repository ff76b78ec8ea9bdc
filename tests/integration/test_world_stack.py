"""The world gazetteer in the running stack: a broker, a `sitrep worker` and a `sitrep api`
process as users run them (the whole world, not the seed places alone), fed reports from
Ukraine and Sudan through ``POST /v1/events`` with only a name and a country, in whichever
script each outlet writes.

Kherson and Wad Madani reach the map's GeoJSON with GeoNames' coordinates, each found by every
spelling; one strike on Kharkiv reported in English and in Ukrainian is one strike, on the
worker's view topics and in the API alike; and the worker's views are byte for byte what the
pure core makes of the same reports over the same gazetteer. A toll for a whole war, which
names no place, is filed and listed all the same. A misspelt place and actor are accepted, and
the publish receipt, the event's fate and `sitrep publish`'s summary warn of each with the name
it likely meant.

Uses the world index in the cache directory (``make test`` builds it first; otherwise the first
process that needs it builds it, once per machine).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from sitrep.contract import Event, encode_event
from sitrep.kafka.ports import free_port_block
from sitrep.publishing.known import latest_registry
from sitrep.resolution.geonames import build_gazetteer
from sitrep.resolution.places import Gazetteer
from tests.integration.stack import (
    Stack,
    all_views,
    api_answering,
    new_stack,
    wait_for,
    wait_for_views,
)
from tests.seeded import SEEDS
from tests.world import (
    KHARKIV,
    KHERSON,
    UKRAINE_ARMY,
    WAD_MADANI,
    WHERE,
    kharkiv_strike,
    sudan_toll,
    world_events,
)

pytestmark = pytest.mark.integration

WITHIN_S = 90.0
TOKEN = "token-of-the-world"
AFTER = {"at": "2025-02-01"}


@dataclass
class World:
    """The running stack, a client of its API, and the reports published through it."""

    stack: Stack
    client: httpx.AsyncClient
    events: list[Event]
    gazetteer: Gazetteer


@pytest_asyncio.fixture(scope="module")
async def world(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    stack = new_stack(kafka_bootstrap, tmp_path_factory.mktemp("world-stack"))
    await stack.create_topics()
    port = free_port_block(1)
    tokens = f"desk:publisher:{hashlib.sha256(TOKEN.encode()).hexdigest()}"
    try:
        stack.start_worker(world=True)
        api = stack.start_api(port, {"SITREP_API_TOKENS": tokens}, world=True)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await api_answering(stack, api, client, within=WITHIN_S)
            events = world_events()
            # As a scraper posts them: the JSON of each report, not a model.
            posted = [orjson.loads(encode_event(e)) for e in events]
            response = await client.post(
                "/v1/events", json=posted, headers={"Authorization": f"Bearer {TOKEN}"}
            )
            assert response.status_code == 200, response.text
            assert response.json()["accepted"] == len(events), response.text
            running = World(stack, client, events, build_gazetteer(SEEDS))
            await wait_for_views(stack, events, within=WITHIN_S, gazetteer=running.gazetteer)
            await _api_folded(running, len(events))
            yield running
    finally:
        stack.stop_all()


async def _api_folded(world: World, count: int) -> None:
    """Wait until the API has folded ``count`` records of the log."""

    async def folded() -> bool:
        ready = await world.client.get("/readyz")
        if ready.status_code != 200:
            return False
        position: dict[str, int] = ready.json()["freshness"]["position"]
        return sum(position.values()) >= count

    await wait_for(folded, within=WITHIN_S, every=0.1)


async def _get(world: World, path: str, **params: str) -> Any:
    response = await world.client.get(path, params={**AFTER, **params})
    assert response.status_code == 200, f"GET {path}: {response.text[:300]}"
    return response.json()


async def test_a_ukrainian_and_a_sudanese_place_are_on_the_map_with_coordinates(
    world: World,
) -> None:
    geo = await _get(world, "/v1/places", format="geojson")
    features = {f["id"]: f for f in geo["features"]}
    for name in ("Kherson", "Wad Madani"):
        view = (await _get(world, f"/v1/places/{name}"))["view"]
        feature = features[view["place"]["id"]]
        lon, lat = feature["geometry"]["coordinates"]
        assert (lat, lon) == (
            pytest.approx(WHERE[name][0], abs=0.05),
            pytest.approx(WHERE[name][1], abs=0.05),
        )
        # Three outlets, three spellings: one place, its capture reported three times.
        assert feature["properties"]["corroboration"] == 3
    assert len(features) == 3  # Kherson, Wad Madani and Kharkiv, whatever the spelling


@pytest.mark.parametrize("spellings", [KHERSON, WAD_MADANI, KHARKIV])
async def test_each_place_is_found_by_every_spelling(
    world: World, spellings: tuple[str, ...]
) -> None:
    views = [(await _get(world, f"/v1/places/{name}"))["view"] for name in spellings]
    assert views[0]["place"]["lat"] is not None
    assert all(view == views[0] for view in views)


async def test_one_strike_reported_in_two_scripts_is_one_strike_on_the_topic_and_in_the_api(
    world: World,
) -> None:
    reports = {r.id for r in kharkiv_strike()}
    strikes = (await _get(world, "/v1/strikes"))["items"]
    [strike] = strikes
    assert {s["event_id"] for s in strike["sources"]} == reports
    assert (await _get(world, "/v1/strikes", place="Харків"))["items"] == strikes
    [record] = (await all_views(world.stack))["strikes"].values()
    view = orjson.loads(record)["view"]
    assert {s["event_id"] for s in view["sources"]} == reports
    assert view["place"]["id"] == strike["place"]["id"]


async def test_a_toll_with_no_place_is_on_the_casualties_topic_and_in_the_api(
    world: World,
) -> None:
    toll = sudan_toll()
    [item] = (await _get(world, "/v1/casualties"))["items"]
    [record] = (await all_views(world.stack))["casualties"].values()
    for reports in (item["reports"], orjson.loads(record)["view"]["reports"]):
        assert [(r["source"]["event_id"], r["place"]) for r in reports] == [(toll.id, None)]


MISSPELT: dict[str, Any] = {
    "id": "world-misspelt",
    "type": "control.changed",
    "occurred_at": "2023-06-01",
    "reported_at": "2023-06-01T12:00:00Z",
    "source": {"name": "Reuters", "kind": "news_agency"},
    "location": {"name": "Kramatorks", "country": "UA"},
    "data": {"controller": "Armed Forces of Ukrane", "method": "baseline"},
}
"""Kramatorsk and Ukraine's army, each misspelt as a scraper might."""


def _meant(warnings: list[str]) -> None:
    """``warnings`` are MISSPELT's: its place and its actor, each with the name it meant."""
    place, actor = warnings
    assert place.startswith("location: ")
    assert "did you mean 'Kramatorsk'" in place
    assert actor.startswith("data.controller: ")
    assert f"did you mean {UKRAINE_ARMY!r}" in actor


async def test_a_misspelt_place_and_actor_are_accepted_with_warnings_in_receipt_and_fate(
    world: World,
) -> None:
    response = await world.client.post(
        "/v1/events", json=MISSPELT, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert result["status"] == "accepted"
    _meant(result["warnings"])

    async def fate() -> Any:
        found = await world.client.get(f"/v1/events/{MISSPELT['id']}")
        return found.json()["view"] if found.status_code == 200 else None

    folded = await wait_for(fate, within=WITHIN_S, every=0.1)
    assert folded["warnings"] == result["warnings"]
    assert folded["placed"]["flag"] is not None


async def test_the_cli_summary_warns_of_names_nobody_knows(
    world: World, topic_factory: Callable[..., str], tmp_path: Path
) -> None:
    async def described() -> bool:
        registry = await latest_registry(world.stack.bootstrap, world.stack.names.registry)
        return registry.lookup(UKRAINE_ARMY) is not None

    await wait_for(described, within=WITHIN_S)  # the worker wrote the registry topic
    path = tmp_path / "misspelt.jsonl"
    path.write_bytes(orjson.dumps({**MISSPELT, "id": "world-cli-misspelt"}) + b"\n")
    topic = topic_factory(partitions=1)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": world.stack.bootstrap,
        "SITREP_TOPIC_NAMESPACE": world.stack.names.namespace,
    }

    def publish(*options: str) -> subprocess.CompletedProcess[bytes]:
        command = [sys.executable, "-m", "sitrep.cli.main", "publish", str(path), *options]
        return subprocess.run(command, capture_output=True, env=env, timeout=120, check=False)

    as_json = await asyncio.to_thread(publish, "--topic", topic, "--json")
    assert as_json.returncode == 0, as_json.stderr.decode()
    report = orjson.loads(as_json.stdout)
    assert report["published"] == 1
    [warned] = report["warnings"]
    assert (warned["line"], warned["id"]) == (1, "world-cli-misspelt")
    _meant(warned["warnings"])
    readable = await asyncio.to_thread(publish, "--topic", topic)
    assert readable.returncode == 0, readable.stderr.decode()
    assert "Kramatorsk" in readable.stdout.decode()
    unchecked = await asyncio.to_thread(publish, "--topic", topic, "--json", "--no-check-names")
    assert orjson.loads(unchecked.stdout)["warnings"] == []
