"""The scale benchmark's history (bench/history.py): valid, reproducible, spread, in log order."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import pytest
from bench.history import COUNTRIES, MAX_LATE, History

from sitrep.contract import parse_event
from sitrep.contract.events import ClaimDeniedEvent, EventRetractedEvent, start_of
from sitrep.contract.values import Location
from sitrep.resolution.geonames import build_gazetteer
from sitrep.resolution.names import fold
from sitrep.resolution.places import Gazetteer
from sitrep.views.routing import destinations

EVENTS = 20_000
ANSWERS = ("claim.denied", "event.retracted")


@pytest.fixture(scope="module")
def history() -> History:
    return History(seed=7)


@pytest.fixture(scope="module")
def events(history: History) -> list[dict[str, Any]]:
    return list(history.events(EVENTS))


def test_a_seed_gives_the_same_history_and_another_seed_another() -> None:
    first = list(History(seed=11).events(3_000))
    again = list(History(seed=11).events(3_000))
    other = list(History(seed=12).events(3_000))
    assert first == again
    assert first != other


def test_exactly_the_events_asked_for_with_unique_ids(events: list[dict[str, Any]]) -> None:
    assert len(events) == EVENTS
    assert len({e["id"] for e in events}) == EVENTS


def test_the_contract_accepts_every_event(events: list[dict[str, Any]]) -> None:
    now = datetime.now(UTC)
    for event in events:
        parse_event(event, now=now)  # raises InvalidEvent naming the field


def test_the_mix_has_every_type_and_no_type_dominates(events: list[dict[str, Any]]) -> None:
    types = Counter(e["type"] for e in events)
    assert set(types) == {
        "actor.described",
        "strike.reported",
        "clash.reported",
        "casualties.reported",
        "statement.issued",
        "control.changed",
        "forces.withdrew",
        "claim.denied",
        "event.retracted",
    }
    assert max(types.values()) < 0.4 * EVENTS


def test_reports_are_spread_over_thousands_of_places_none_holding_much(
    history: History, events: list[dict[str, Any]]
) -> None:
    assert len(history.sites) >= 3_000
    located = [e for e in events if "location" in e]
    assert sum(history.place_counts.values()) == len(located)
    assert len(history.place_counts) >= 1_500
    busiest = history.place_counts.most_common(1)[0][1]
    assert busiest / len(located) < 0.015
    countries = Counter(e["location"]["country"] for e in located)
    assert {"SY", "IQ"} <= set(countries)
    assert countries.most_common(1)[0][0] == "SY"


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return build_gazetteer(countries=COUNTRIES)


def test_no_ledger_holds_more_than_about_one_percent_of_the_log(
    gazetteer: Gazetteer, events: list[dict[str, Any]]
) -> None:
    parsed = [parse_event(e) for e in events]
    answers = (ClaimDeniedEvent, EventRetractedEvent)
    filed = {
        e.id: [d.key for d in destinations(e, gazetteer)]
        for e in parsed
        if not isinstance(e, answers)
    }
    # A denial or retraction goes where the event it answers went.
    ledgers = Counter(k for e in parsed for k in filed[e.subject_id])
    assert len(ledgers) > 2_000
    biggest, count = ledgers.most_common(1)[0]
    assert count / EVENTS < 0.015, biggest


def test_every_site_resolves_to_its_own_place_by_every_spelling(
    history: History, gazetteer: Gazetteer
) -> None:
    for site in history.sites[::7]:
        for name in (site.location["name"], *site.spellings):
            location = Location.model_validate({**site.location, "name": name})
            assert gazetteer.resolve(location).id == site.place_id, (name, site.place_id)


def test_reports_come_0_to_5_days_late_in_log_order_over_years(
    events: list[dict[str, Any]],
) -> None:
    reported = [datetime.fromisoformat(e["reported_at"]) for e in events]
    assert reported == sorted(reported)
    assert (reported[-1] - reported[0]).days > 3 * 365
    for event, at in zip(events, reported, strict=True):
        occurred = parse_event(event).occurred_at
        assert 0 <= (at - start_of(occurred)).total_seconds() <= MAX_LATE.total_seconds()


def test_the_same_incident_is_reported_by_several_sources(events: list[dict[str, Any]]) -> None:
    incidents: dict[tuple[str, str, float], set[str]] = {}
    for event in events:
        if "location" in event:
            what = (event["type"], event["occurred_at"][:10], event["location"]["lat"])
            incidents.setdefault(what, set()).add(event["source"]["name"])
    assert sum(len(sources) > 1 for sources in incidents.values()) > 0.2 * len(incidents)


def test_answers_point_at_events_of_the_history_some_before_them(
    events: list[dict[str, Any]],
) -> None:
    position = {e["id"]: i for i, e in enumerate(events)}
    answers = [e for e in events if e["type"] in ANSWERS]
    assert answers
    assert all(a["data"]["event_id"] in position for a in answers)
    early = [a for a in answers if position[a["data"]["event_id"]] > position[a["id"]]]
    assert 0 < len(early) < len(answers) / 3
    answered = {a["data"]["event_id"] for a in answers}
    assert all(events[position[i]]["type"] not in ANSWERS for i in answered)


def test_the_registry_comes_first_with_aliases_and_changes_rarely(
    history: History, events: list[dict[str, Any]]
) -> None:
    registry = list(islice(events, len(history.actors)))
    assert all(e["type"] == "actor.described" for e in registry)
    assert len(registry) == 150
    assert sum(bool(e["data"]["aliases"]) for e in registry) > 0.9 * len(registry)
    owners: dict[str, set[str]] = {}
    for e in registry:
        for name in (e["data"]["name"], *e["data"]["aliases"]):
            owners.setdefault(fold(name), set()).add(e["data"]["name"])
    assert all(len(actors) == 1 for actors in owners.values()), "no name is two actors'"
    later = [e for e in events[len(registry) :] if e["type"] == "actor.described"]
    assert 1 <= len(later) <= 3
    described = {e["data"]["name"] for e in registry}
    assert all(e["data"]["name"] in described for e in later)


def test_the_stream_holds_only_a_few_days_of_reports() -> None:
    history = History(seed=3)
    for _ in islice(history.events(2_000_000), 30_000):
        pass
    assert 0 < len(history.pending) < 5_000
