"""The API over the world gazetteer: reports from Ukraine and Sudan, a name and a country each
in whichever script the outlet writes, are on the map with their coordinates, found by every
spelling, and one strike reported in two scripts is one strike.

Uses the world index in the cache directory (``make unit`` builds it first; otherwise the first
test that needs it builds it, once per machine).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

import pytest

from sitrep.api.readmodel import ReadModel
from sitrep.contract import Event, encode_event
from sitrep.resolution.geonames import build_gazetteer
from sitrep.resolution.places import Gazetteer
from tests.seeded import SEEDS
from tests.unit.test_api_app import serving
from tests.world import (
    KHARKIV,
    KHERSON,
    WAD_MADANI,
    WHERE,
    kharkiv_strike,
    sudan_toll,
    world_events,
)

AFTER = {"at": "2025-02-01"}


@cache
def world() -> Gazetteer:
    return build_gazetteer(SEEDS)


def fed_world(events: Iterable[Event]) -> ReadModel:
    model = ReadModel(world())
    for offset, event in enumerate(events):
        model.apply(0, offset, encode_event(event))
    return model


def _feature(features: list[dict[str, Any]], place_id: str) -> dict[str, Any]:
    [feature] = [f for f in features if f["id"] == place_id]
    return feature


async def test_kherson_and_wad_madani_are_on_the_map_with_their_coordinates() -> None:
    async with serving(fed_world(world_events())) as client:
        geo = (await client.get("/v1/places", params={**AFTER, "format": "geojson"})).json()
        kherson = (await client.get("/v1/places/Kherson", params=AFTER)).json()["view"]
        madani = (await client.get("/v1/places/Wad Madani", params=AFTER)).json()["view"]
        kharkiv = (await client.get("/v1/places/Kharkiv", params=AFTER)).json()["view"]
    # Eight reports naming three places in seven spellings: three places on the map.
    assert sorted(f["id"] for f in geo["features"]) == sorted(
        view["place"]["id"] for view in (kherson, madani, kharkiv)
    )
    for view, name in ((kherson, "Kherson"), (madani, "Wad Madani")):
        lon, lat = _feature(geo["features"], view["place"]["id"])["geometry"]["coordinates"]
        assert (lat, lon) == (
            pytest.approx(WHERE[name][0], abs=0.05),
            pytest.approx(WHERE[name][1], abs=0.05),
        )
        assert view["corroboration"] == 3
    assert kherson["place"]["country"] == "UA"
    assert kherson["controller"]["name"] == "Armed Forces of Ukraine"
    assert madani["place"]["country"] == "SD"
    assert madani["controller"]["name"] == "Sudanese Armed Forces"


@pytest.mark.parametrize(
    ("place", "spellings"),
    [("Kherson", (*KHERSON, "Херсон", "خيرسون")), ("Wad Madani", (*WAD_MADANI, "Вад Медани"))],
)
async def test_a_ukrainian_and_a_sudanese_place_are_found_by_every_spelling(
    place: str, spellings: tuple[str, ...]
) -> None:
    async with serving(fed_world(world_events())) as client:
        named = (await client.get(f"/v1/places/{place}", params=AFTER)).json()["view"]
        views = [
            (await client.get(f"/v1/places/{spelling}", params=AFTER)).json()["view"]
            for spelling in spellings
        ]
    assert named["place"]["lat"] is not None
    assert all(view == named for view in views)


async def test_one_strike_reported_in_two_scripts_is_one_strike() -> None:
    reports = kharkiv_strike()
    assert [r.location.name for r in reports if r.location is not None] == list(KHARKIV)
    async with serving(fed_world(reports)) as client:
        strikes = (await client.get("/v1/strikes", params=AFTER)).json()["items"]
        in_kharkiv = (await client.get("/v1/strikes", params={**AFTER, "place": "Харків"})).json()
    [strike] = strikes
    assert sorted(s["event_id"] for s in strike["sources"]) == sorted(r.id for r in reports)
    assert (strike["place"]["lat"], strike["place"]["lon"]) == (
        pytest.approx(WHERE["Kharkiv"][0], abs=0.05),
        pytest.approx(WHERE["Kharkiv"][1], abs=0.05),
    )
    assert in_kharkiv["items"] == strikes


async def test_a_toll_for_a_whole_war_is_listed_with_no_place() -> None:
    toll = sudan_toll()
    async with serving(fed_world(world_events())) as client:
        listed = (await client.get("/v1/casualties", params=AFTER)).json()["items"]
        in_kherson = await client.get("/v1/casualties", params={**AFTER, "place": "Kherson"})
        fate = (await client.get(f"/v1/events/{toll.id}")).json()["view"]
    [party] = listed
    assert [(r["source"]["event_id"], r["place"]) for r in party["reports"]] == [(toll.id, None)]
    assert party["killed"]["low"] == 28700
    assert in_kherson.json()["items"] == []
    assert fate["status"] == "applied"

