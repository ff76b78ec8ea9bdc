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
from sitrep.contract import Event, encode_event, parse_event
from sitrep.resolution.geonames import build_gazetteer
from sitrep.resolution.places import Gazetteer
from tests.seeded import SEEDS
from tests.unit.test_api_app import serving
from tests.world import (
    KHARKIV,
    KHERSON,
    UKRAINE_ARMY,
    WAD_MADANI,
    WHERE,
    kharkiv_strike,
    sudan_toll,
    ukraine_army,
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
    # An actor first named by a report is shown by the name reported, not by its id.
    controller = madani["controller"]
    assert (controller["id"], controller["name"]) == (
        "sudanese-armed-forces",
        "Sudanese Armed Forces",
    )


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


def _control(
    event_id: str, where: dict[str, Any], controller: str = "Government of National Unity"
) -> Event:
    return parse_event(
        {
            "id": event_id,
            "type": "control.changed",
            "occurred_at": "2025-01-20",
            "reported_at": "2025-01-20T12:00:00Z",
            "source": {"name": "Reuters", "kind": "news_agency"},
            "location": where,
            "data": {"controller": controller, "method": "baseline"},
        }
    )


async def test_a_fate_says_which_place_was_chosen_and_which_others_were_possible() -> None:
    bare = _control("world-tripoli", {"name": "Tripoli"})
    hinted = _control("world-tripoli-lb", {"name": "Tripoli", "country": "LB"})
    async with serving(fed_world([bare, hinted])) as client:
        chosen = (await client.get(f"/v1/events/{bare.id}")).json()["view"]["placed"]
        only = (await client.get(f"/v1/events/{hinted.id}")).json()["view"]["placed"]
        listed = (await client.get("/v1/places", params=AFTER)).json()["items"]
    # Libya's capital, the most populous Tripoli; the Lebanese city was possible too.
    assert (chosen["given"], chosen["place"]["country"], chosen["chosen_by"]) == (
        "Tripoli",
        "LY",
        "ranked",
    )
    assert "LB" in {other["country"] for other in chosen["others"]}
    assert chosen["other_count"] == len(chosen["others"]) >= 1
    assert chosen["flag"] is None
    assert chosen["place"]["id"] in {item["place"]["id"] for item in listed}
    # A country given leaves one Tripoli: no choice was made.
    assert (only["place"]["country"], only["chosen_by"], only["others"]) == ("LB", None, [])


async def test_a_place_nothing_fits_is_kept_as_given_and_flagged() -> None:
    nowhere = _control("world-nowhere", {"name": "Xyzzyvillka", "country": "UA"})
    async with serving(fed_world([nowhere])) as client:
        fate = (await client.get(f"/v1/events/{nowhere.id}")).json()["view"]
        listed = (await client.get("/v1/places", params=AFTER)).json()["items"]
    placed = fate["placed"]
    assert fate["status"] == "applied"
    assert placed["place"]["name"] == "Xyzzyvillka"
    assert (placed["place"]["lat"], placed["place"]["lon"]) == (None, None)
    assert "Xyzzyvillka" in placed["flag"]
    assert "kept as given" in placed["flag"]
    # Kept, never dropped: the place is listed.
    [item] = listed
    assert item["place"]["id"] == placed["place"]["id"]


async def test_a_fate_of_a_report_with_no_place_has_none() -> None:
    async with serving(fed_world([sudan_toll()])) as client:
        fate = (await client.get(f"/v1/events/{sudan_toll().id}")).json()["view"]
    assert fate["placed"] is None


async def test_a_fate_carries_the_warnings_of_names_nobody_knows() -> None:
    where = {"name": "Kramatorks", "country": "UA"}
    misspelt = _control("world-misspelt", where, "Armed Forces of Ukrane")
    spelt = _control("world-spelt", {"name": "Kramatorsk", "country": "UA"}, UKRAINE_ARMY)
    async with serving(fed_world([ukraine_army(), misspelt, spelt])) as client:
        warned = (await client.get(f"/v1/events/{misspelt.id}")).json()["view"]
        clean = (await client.get(f"/v1/events/{spelt.id}")).json()["view"]
    place, actor = warned["warnings"]
    assert "did you mean 'Kramatorsk'" in place
    assert f"did you mean {UKRAINE_ARMY!r}" in actor
    assert warned["status"] == "applied"  # accepted all the same: somebody reported it
    assert clean["warnings"] == []


def test_the_places_of_a_batch_are_looked_up_before_it_is_folded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reader resolves a batch's places off the event loop; folding finds them known."""
    from sitrep.api.readmodel import look_up_places

    gazetteer = build_gazetteer(SEEDS)
    resolve = gazetteer._resolve
    asked: list[str] = []

    def counted(location: Any) -> Any:
        asked.append(location.name)
        return resolve(location)

    monkeypatch.setattr(gazetteer, "_resolve", counted)
    strike = kharkiv_strike()[0]
    assert strike.location is not None
    # Junk and events without a place are left to the fold, which says what is wrong.
    look_up_places(gazetteer, [encode_event(strike), b"{not json", None, b'{"location": 3}'])
    assert asked == [strike.location.name]
    model = ReadModel(gazetteer)
    model.apply(0, 0, encode_event(strike))
    assert asked == [strike.location.name]
    assert model.folded == 1
