"""The seed data is valid, hangs together, and names its places and actors consistently."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import pytest

from sitrep.contract import InvalidEvent, parse_event
from sitrep.contract.vocabulary import COUNTRY_CODES, PlaceKind

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
ARTICLE = SEEDS / "000_d8d2ad98a00a5d45.txt"
ARTICLE_SHA256 = "b0bb70c190545f941dfe85502ba8d2d6431aa20c8de3c57b02c4e6cfec0ffda6"
ARTICLE_EVENTS = SEEDS / "events" / "000_aleppo_offensive.jsonl"
PLACES = SEEDS / "places.json"

# Locations coarser than any gazetteer entry: the article names no place for these events.
COUNTRY_LEVEL_LOCATIONS = frozenset({"Syria"})
PLACE_KEYS = frozenset({"id", "name", "alternate_names", "kind", "country", "admin1", "lat", "lon"})
OPTIONAL_PLACE_KEYS = frozenset({"parent"})
QUOTED = re.compile(r'"([^"]+)"')


@dataclass(frozen=True)
class SeedLine:
    """One line of a seed file, and where it is."""

    path: Path
    number: int
    text: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(SEEDS)}:{self.number}"


def _seed_lines() -> list[SeedLine]:
    return [
        SeedLine(path, number, text)
        for path in sorted(SEEDS.rglob("*.jsonl"))
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
    ]


LINES = _seed_lines()


def _decoded(lines: list[SeedLine]) -> list[tuple[SeedLine, dict[str, Any]]]:
    decoded: list[tuple[SeedLine, dict[str, Any]]] = []
    for line in lines:
        try:
            obj = json.loads(line.text)
        except json.JSONDecodeError:
            continue  # reported by test_every_seed_line_is_a_valid_event
        if isinstance(obj, dict):
            decoded.append((line, obj))
    return decoded


EVENTS = _decoded(LINES)


def _places() -> list[dict[str, Any]]:
    places = json.loads(PLACES.read_text(encoding="utf-8"))
    assert isinstance(places, list), "seeds/places.json must be a JSON list"
    assert all(isinstance(place, dict) for place in places), "every place must be an object"
    return places


def _place_names() -> set[str]:
    return {
        name
        for place in _places()
        for name in [place["name"], *place.get("alternate_names", [])]
        if isinstance(name, str)
    }


def _actor_names(event: dict[str, Any]) -> list[str]:
    """Every actor name an event mentions, wherever the contract puts one."""
    data: dict[str, Any] = event.get("data", {})
    names: list[str] = []
    if "claimed_by" in event:
        names.append(event["claimed_by"])
    for key in (
        "controller",
        "previous_controller",
        "actor",
        "perpetrator",
        "party",
        "speaker",
        "denied_by",
    ):
        if key in data:
            names.append(data[key])
    for key in ("parties", "about", "allies"):
        names.extend(data.get(key, []))
    names.extend(d["by"] for d in data.get("designations", []))
    return names


def test_the_seed_files_are_there() -> None:
    found = {line.path.relative_to(SEEDS).as_posix() for line in LINES}
    assert found >= {
        "actors.jsonl",
        "events/000_aleppo_offensive.jsonl",
        "events/001_baseline_2024-11-27.jsonl",
    }


def test_the_article_copy_is_unchanged() -> None:
    assert hashlib.sha256(ARTICLE.read_bytes()).hexdigest() == ARTICLE_SHA256


@pytest.mark.parametrize("line", LINES, ids=str)
def test_every_seed_line_is_a_valid_event(line: SeedLine) -> None:
    try:
        parse_event(line.text)
    except InvalidEvent as exc:
        error = str(exc)
    else:
        return
    pytest.fail(f"{line}: {error}")  # outside the except block, so without pydantic's traceback


def test_ids_are_unique_across_seed_files() -> None:
    where: dict[str, list[str]] = {}
    for line, event in EVENTS:
        where.setdefault(str(event.get("id")), []).append(str(line))
    duplicates = {event_id: lines for event_id, lines in where.items() if len(lines) > 1}
    assert not duplicates, f"ids used more than once: {duplicates}"


def test_denials_and_retractions_point_to_an_earlier_seed_event() -> None:
    seen: set[str] = set()
    dangling: list[str] = []
    for line, event in EVENTS:
        if event["type"] in ("claim.denied", "event.retracted"):
            target = event["data"]["event_id"]
            if target not in seen:
                dangling.append(f"{line}: {event['id']} -> {target}")
        seen.add(event["id"])
    assert not dangling, "denials or retractions of no earlier seed event: " + "; ".join(dangling)


def test_the_article_has_denials() -> None:
    types = Counter(event["type"] for line, event in EVENTS if line.path == ARTICLE_EVENTS)
    assert types["claim.denied"] >= 1


def test_both_spellings_of_maarat_al_numan_are_kept() -> None:
    names = {
        event["location"]["name"]
        for line, event in EVENTS
        if line.path == ARTICLE_EVENTS and "location" in event
    }
    assert {"Maarat al-Numan", "Maraat al Numan"} <= names


def test_article_events_quote_the_article_verbatim() -> None:
    article = ARTICLE.read_text(encoding="utf-8")
    problems: list[str] = []
    for line, event in EVENTS:
        if line.path != ARTICLE_EVENTS:
            continue
        quotes = QUOTED.findall(event.get("notes", ""))
        if not quotes:
            problems.append(f"{line}: notes quote no sentence of the article")
        problems.extend(f"{line}: not in the article: {q!r}" for q in quotes if q not in article)
    assert not problems, "\n".join(problems)


def test_every_actor_named_in_a_seed_is_registered() -> None:
    registered: set[str] = set()
    for _, event in EVENTS:
        if event["type"] == "actor.described":
            registered.add(event["data"]["name"])
            registered.update(event["data"].get("aliases", []))
    unknown = [
        f"{name!r} ({line})"
        for line, event in EVENTS
        for name in _actor_names(event)
        if name not in registered
    ]
    assert not unknown, "actor names no actor.described names or aliases: " + ", ".join(unknown)


def test_every_seed_location_is_in_the_gazetteer_additions() -> None:
    known = _place_names() | COUNTRY_LEVEL_LOCATIONS
    unknown = [
        f"{line}: {name!r}"
        for line, event in EVENTS
        if "location" in event
        for name in (event["location"]["name"], event["location"].get("parent"))
        if name is not None and name not in known
    ]
    assert not unknown, "locations not in seeds/places.json: " + ", ".join(unknown)


def test_places_have_the_expected_fields() -> None:
    for place in _places():
        keys = set(place)
        assert keys >= PLACE_KEYS, f"{place.get('id')}: missing {sorted(PLACE_KEYS - keys)}"
        extra = keys - PLACE_KEYS - OPTIONAL_PLACE_KEYS
        assert not extra, f"{place['id']}: unknown fields {sorted(extra)}"
        for key in ("id", "name", "admin1"):
            assert isinstance(place[key], str), f"{place['id']}: {key} must be a string"
            assert place[key].strip(), f"{place['id']}: {key} must not be empty"
        names = place["alternate_names"]
        assert isinstance(names, list), f"{place['id']}: alternate_names must be a list"
        assert all(isinstance(n, str) and n.strip() for n in names), place["id"]
        assert len(names) == len(set(names)), f"{place['id']}: repeated alternate names"


def test_place_ids_are_unique_and_readable() -> None:
    ids = Counter(place["id"] for place in _places())
    assert not [i for i, n in ids.items() if n > 1], f"repeated place ids: {ids}"
    for place in _places():
        prefix = str(place["country"]).lower() + "-"
        assert place["id"].startswith(prefix), f"{place['id']} should start with {prefix}"
        assert re.fullmatch(r"[a-z]{2}(-[a-z0-9]+)+", place["id"]), place["id"]


def test_place_countries_are_iso_codes_and_kinds_are_the_contracts() -> None:
    kinds = set(get_args(PlaceKind))
    for place in _places():
        assert place["country"] in COUNTRY_CODES, f"{place['id']}: {place['country']!r}"
        assert place["kind"] in kinds, f"{place['id']}: {place['kind']!r}"


def test_place_coordinates_are_in_range_or_both_unknown() -> None:
    for place in _places():
        lat, lon = place["lat"], place["lon"]
        if lat is None and lon is None:
            continue
        for value in (lat, lon):
            assert not isinstance(value, bool), place["id"]
            assert isinstance(value, int | float), place["id"]
            assert math.isfinite(value), place["id"]
        assert -90 <= lat <= 90, f"{place['id']}: lat {lat}"
        assert -180 <= lon <= 180, f"{place['id']}: lon {lon}"


def test_place_parents_exist() -> None:
    ids = {place["id"] for place in _places()}
    orphans = [
        f"{place['id']} -> {place['parent']}"
        for place in _places()
        if "parent" in place and place["parent"] not in ids
    ]
    assert not orphans, f"parents that are no place id: {orphans}"


def test_no_place_name_belongs_to_two_places() -> None:
    owners: dict[str, set[str]] = {}
    for place in _places():
        for name in {place["name"], *place["alternate_names"]}:
            owners.setdefault(name.casefold(), set()).add(place["id"])
    shared = {name: ids for name, ids in owners.items() if len(ids) > 1}
    assert not shared, f"ambiguous place names: {shared}"


def test_the_maarat_al_numan_spellings_resolve_to_one_place() -> None:
    spellings = {"Maarat al-Numan", "Maraat al Numan", "Ma'arrat al-Nu'man", "Ma‘arrat an Nu‘mān"}
    owners = {
        place["id"] for place in _places() if spellings & {place["name"], *place["alternate_names"]}
    }
    assert owners == {"sy-maarat-al-numan"}
