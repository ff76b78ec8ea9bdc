"""Did you mean: a name nobody knows is accepted, with a warning naming the closest known ones.

Uses the world index in the cache directory (``make unit`` builds it first).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sitrep.contract import Event, parse_event
from sitrep.resolution.actors import ActorRegistry
from sitrep.resolution.geonames import build_gazetteer
from sitrep.resolution.places import Gazetteer
from sitrep.resolution.suggestions import Closest, name_warnings
from tests.seeded import SEEDS
from tests.world import UKRAINE_ARMY, ukraine_army


@cache
def world() -> Gazetteer:
    return build_gazetteer(SEEDS)


def registry() -> ActorRegistry:
    army = ukraine_army()
    assert army.type == "actor.described"
    return ActorRegistry().describe(army)


def control(where: dict[str, Any], controller: str = UKRAINE_ARMY, **more: Any) -> Event:
    return parse_event(
        {
            "id": "suggested-1",
            "type": "control.changed",
            "occurred_at": "2023-06-01",
            "reported_at": "2023-06-01T12:00:00Z",
            "source": {"name": "Reuters", "kind": "news_agency"},
            "location": where,
            "data": {"controller": controller, "method": "captured"},
            **more,
        }
    )


def test_the_closest_known_names_come_first_and_unlike_ones_not_at_all() -> None:
    known = Closest(["Kramatorsk", "Sloviansk", "Kostiantynivka", "Kharkiv", "Харків"])
    assert len(known) == 4  # Харків is Kharkiv, once
    assert known.to("Kramatorks") == ["Kramatorsk"]
    assert known.to("Слов'янськ") == ["Sloviansk"]  # across scripts
    assert known.to("Xyzzyvillka") == []
    assert known.to("...") == []


def test_a_misspelt_place_and_actor_are_warned_of_with_the_names_meant() -> None:
    warnings = name_warnings(
        control({"name": "Kramatorks", "country": "UA"}, "Armed Forces of Ukrane"),
        world(),
        registry(),
    )
    place, actor = warnings
    assert place.startswith("location: ")
    assert "'Kramatorks'" in place
    assert "not on the map" in place
    assert "did you mean 'Kramatorsk'" in place
    assert actor.startswith("data.controller: 'Armed Forces of Ukrane' is no known actor")
    assert f"did you mean {UKRAINE_ARMY!r}" in actor


def test_names_that_are_known_by_any_spelling_or_alias_warn_of_nothing() -> None:
    for where in ({"name": "Херсон", "country": "UA"}, {"name": "Izjum"}):
        for controller in (UKRAINE_ARMY, "ZSU", "ukrainian ARMY"):
            assert name_warnings(control(where, controller), world(), registry()) == []


def test_a_new_actor_unlike_any_known_is_named_without_a_warning() -> None:
    event = control({"name": "Kherson", "country": "UA"}, "Kherson partisans")
    assert name_warnings(event, world(), registry()) == []


def test_an_unknown_place_like_no_known_one_is_warned_of_without_suggestions() -> None:
    [warning] = name_warnings(
        control({"name": "Xyzzyvillka", "country": "UA"}), world(), registry()
    )
    assert "'Xyzzyvillka'" in warning
    assert "did you mean" not in warning


def test_a_place_far_from_every_namesake_is_a_new_place_and_warned_of() -> None:
    where = {"name": "Kherson", "country": "UA", "lat": 50.45, "lon": 30.52}  # in Kyiv
    [warning] = name_warnings(control(where), world(), registry())
    assert "within 50 km" in warning
    assert "kept as a new place there" in warning


def test_a_misspelt_parent_and_destination_are_warned_of_too() -> None:
    where = {"name": "Shumenskyi", "country": "UA", "parent": "Khersom", "kind": "neighbourhood"}
    withdrew = parse_event(
        {
            "id": "suggested-withdrawal",
            "type": "forces.withdrew",
            "occurred_at": "2022-11-11",
            "reported_at": "2022-11-11T12:00:00Z",
            "source": {"name": "Reuters", "kind": "news_agency"},
            "location": {"name": "Nova Kakhovka", "country": "UA"},
            "data": {"actor": "Russian Armed Forces", "to": "Kherzon"},
        }
    )
    warnings = name_warnings(control(where), world(), registry())
    [parent] = [w for w in warnings if w.startswith("location.parent: ")]
    assert "did you mean 'Kherson'" in parent
    [to] = name_warnings(withdrew, world(), registry())
    assert to.startswith("data.to: ")
    assert "did you mean 'Kherson'" in to


def test_who_claims_it_is_checked_too_and_civilians_are_no_actor() -> None:
    claimed = control({"name": "Kherson"}, claimed_by="Armed Forces of Ukraina")
    [warning] = name_warnings(claimed, world(), registry())
    assert warning.startswith("claimed_by: ")
    toll = parse_event(
        {
            "id": "suggested-toll",
            "type": "casualties.reported",
            "occurred_at": "2023-06-01",
            "reported_at": "2023-06-02T12:00:00Z",
            "source": {"name": "OHCHR", "kind": "ngo"},
            "data": {"party": "Civilians", "killed": 10},
        }
    )
    assert name_warnings(toll, world(), registry()) == []
