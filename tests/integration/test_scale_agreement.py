"""On a log the size of a small conflict, the worker, the API and the pure core agree.

20,000 events of the benchmark's history (:mod:`bench.history`: thousands of places, well over
a hundred actors with aliases, four years, reports late and from several sources, denials and
retractions, some before what they answer, and registry changes), published on a real broker:
every view record the worker publishes must be what the pure core projects from the same
events, and the API, asked of each place at the moment of its control record, must answer
that record. The seeds alone make every view too small to show what only a busy party, a
place with hundreds of reports or an actor holding dozens of places shows.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import httpx
import orjson
import pytest
from bench.history import History

from sitrep.contract import parse_event
from sitrep.kafka.ports import free_port_block
from tests.integration.stack import all_views, new_stack, wait_for, wait_for_views

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1_500)]

EVENTS = 20_000
WITHIN_S = 900.0
"""A shared two-core machine folds this log in a minute or two; the rest is margin."""


async def test_the_views_and_the_api_agree_with_the_pure_core_on_20000_events(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    raw = list(History(seed=20261207).events(EVENTS))
    events = [parse_event(r) for r in raw]
    stack = new_stack(kafka_bootstrap, tmp_path)
    await stack.create_topics()
    port = free_port_block(1)
    try:
        await stack.publish(raw)
        stack.start_worker()
        api = stack.start_api(port, {"SITREP_API_RATE_PER_ADDRESS": ""})  # asks every place
        await wait_for_views(stack, events, within=WITHIN_S)
        views = await all_views(stack)
        assert len(views["control"]) > 1_000
        assert len(views["casualties"]) > 20
        assert len(views["actors"]) > 100
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:

            async def caught_up() -> bool:
                if api.poll() is not None:
                    raise AssertionError(f"`sitrep api` ended:\n{stack.log_tails()}")
                try:
                    ready = await client.get("/readyz")
                except httpx.TransportError:
                    return False
                if ready.status_code != 200:
                    return False
                return sum(ready.json()["freshness"]["position"].values()) >= len(raw)

            await wait_for(caught_up, within=WITHIN_S, every=0.5)
            differ = []
            for place_id, value in sorted(views["control"].items()):
                record = orjson.loads(value)
                response = await client.get(
                    f"/v1/places/{quote(place_id.decode(), safe='')}", params=record["as_of"]
                )
                if response.status_code != 200 or response.json()["view"] != record["view"]:
                    differ.append(f"{place_id.decode()}: {response.text[:300]}")
            assert not differ, f"{len(differ)} places differ from their control records:\n" + (
                "\n".join(differ[:10])
            )
    finally:
        stack.stop_all()
