"""The API and the view topics say the same thing of a place, a strike, a party or a
speaker: asked for the moment a view record is published for, the API answers its ``view``."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from sitrep.engine.projection import project_all
from sitrep.topics import TopicNames
from sitrep.views.actors import registry_of
from sitrep.views.routing import REGISTRY_KEY
from tests.seeded import seeded
from tests.unit.test_api_app import serving

NAMES = TopicNames()


def _records(topic: str) -> dict[str, dict[str, Any]]:
    situation = seeded()
    registry = registry_of(situation.ledgers.get(REGISTRY_KEY))
    return {
        key: orjson.loads(value)
        for (on, key), value in project_all(situation.ledgers.values(), registry, NAMES).items()
        if on == topic
    }


@pytest.mark.parametrize("place_id", ["sy-aleppo", "sy-hama", "sy-maarat-al-numan"])
async def test_a_place_reads_as_its_control_record(place_id: str) -> None:
    record = _records(NAMES.view_control)[place_id]
    async with serving() as client:
        response = await client.get(f"/v1/places/{place_id}", params=record["as_of"])
    assert response.json()["view"] == record["view"]


async def test_strikes_read_as_their_records() -> None:
    records = _records(NAMES.view_strikes)
    async with serving() as client:
        for record in records.values():
            body = (await client.get("/v1/strikes", params=record["as_of"])).json()
            assert record["view"] in body["items"]
