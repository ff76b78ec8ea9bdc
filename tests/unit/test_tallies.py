"""Casualties and statements records kept report by report equal those made from every report.

A party's record adds up periods merged from claims that overlap, counts a claim relayed twice
once, cites the latest reports with their denials, and forgets what is retracted; an actor's
lists its latest statements. Whatever the order reports arrive in, duplicates and answers
before what they answer included, the record kept running must be the one made from nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitrep.contract import Event, parse_event
from sitrep.engine.engine import Engine
from sitrep.engine.keyvalue import KeyValue, MemoryKeyValue
from sitrep.stores.rocks import RocksKeyValue
from sitrep.topics import TopicNames
from sitrep.views import casualties as casualties_view
from tests.seeded import seeded
from tests.unit.test_engine import from_nothing

NAMES = TopicNames()
FIRST_DAY = date(2024, 11, 1)
SOURCES = ["Reuters", "SOHR", "AFP", "Observatory"]


def _day(offset: int) -> str:
    return (FIRST_DAY + timedelta(days=offset)).isoformat()


def _event(
    event_id: str, type_: str, day: int, late: int, data: dict[str, Any], **extra: Any
) -> Event:
    return parse_event(
        {
            "id": event_id,
            "type": type_,
            "occurred_at": _day(day),
            "reported_at": f"{_day(day + late)}T{8 + late:02d}:00:00Z",
            "source": {"name": extra.pop("source", "Reuters"), "kind": "news_agency"},
            "data": data,
            **extra,
        }
    )


counts = st.one_of(
    st.integers(0, 40),
    st.builds(
        lambda low, more: {"low": low, "high": low + more}, st.integers(0, 20), st.integers(0, 20)
    ),
    st.builds(lambda low: {"low": low}, st.integers(0, 30)),
)


@st.composite
def toll(draw: st.DrawFn, number: int) -> Event:
    day = draw(st.integers(0, 30))
    data: dict[str, Any] = {
        "party": draw(st.sampled_from(["Syrian Army", "syrian army"])),
        "killed": draw(counts),
    }
    if draw(st.booleans()):
        data["wounded"] = draw(counts)
    span = draw(st.sampled_from(["day", "period", "from", "until"]))
    length = draw(st.integers(0, 6))
    if span in ("period", "from"):
        data["period_start"] = _day(day)
    if span in ("period", "until"):
        data["period_end"] = _day(day + length)
    return _event(
        f"toll-{number}",
        "casualties.reported",
        day,
        draw(st.integers(0, 3)),
        data,
        location={"name": "Aleppo", "country": "SY"},
        source=draw(st.sampled_from(SOURCES)),
    )


@st.composite
def statement(draw: st.DrawFn, number: int) -> Event:
    day = draw(st.integers(0, 30))
    return _event(
        f"said-{number}",
        "statement.issued",
        day,
        draw(st.integers(0, 3)),
        {"speaker": "A spokesman", "actor": "Syrian Army", "text": f"Statement {number}"},
    )


@st.composite
def logs(draw: st.DrawFn) -> list[Event]:
    reports: list[Event] = [draw(toll(n)) for n in range(draw(st.integers(1, 14)))]
    # The same claim relayed by another outlet: counted once, as the first in event order.
    for n, copied in enumerate(draw(st.lists(st.sampled_from(reports), max_size=4))):
        raw = copied.model_dump(mode="json", by_alias=True, exclude_none=True)
        raw["id"] = f"relay-{n}"
        later = copied.reported_at + timedelta(hours=draw(st.integers(0, 72)))
        raw["reported_at"] = later.isoformat()
        reports.append(parse_event(raw))
    reports += [draw(statement(n)) for n in range(draw(st.integers(0, 6)))]
    answers: list[Event] = []
    for n in range(draw(st.integers(0, 6))):
        target = draw(st.sampled_from(reports + answers))
        day = draw(st.integers(0, 33))
        if draw(st.booleans()):
            data: dict[str, Any] = {"event_id": target.id, "denied_by": "Syrian Army"}
            answers.append(_event(f"deny-{n}", "claim.denied", day, 0, data))
        else:
            data = {"event_id": target.id, "reason": "wrong figures"}
            answers.append(_event(f"retract-{n}", "event.retracted", day, 1, data))
    events = reports + answers
    if draw(st.booleans()):
        # The registry learns that one monitor relays another: claims merge, tallied again.
        alias = {"name": "SOHR", "aliases": ["Observatory"]}
        events.append(_event("alias", "actor.described", draw(st.integers(0, 30)), 0, alias))
    order = draw(st.permutations(events))
    return [*order, *draw(st.lists(st.sampled_from(events), max_size=3))]


def _check(kv: KeyValue, events: list[Event], flushes: list[bool]) -> None:
    # Few shown, so that the latest periods, reports and statements are a part of them all.
    with (
        patch.object(casualties_view, "SHOWN", 3),
        patch("sitrep.engine.projection.STATEMENTS_SHOWN", 2),
    ):
        engine = Engine(kv, seeded().gazetteer, NAMES)
        # Each step "takes" 10 ms: what goes in parts (a party tallied again, the actors) does.
        ticks = count()
        engine.folder.timer = lambda: next(ticks) / 100
        moment = 0.0
        for count_, (event, flush) in enumerate(zip(events, flushes * 3, strict=False), start=1):
            engine.fold(event)
            moment += 1.0
            engine.take_changes(moment)  # a part of what is due, maybe
            if flush or count_ == len(events):
                while engine.folder.due:
                    moment += 100.0
                    engine.take_changes(moment)
                assert engine.folder.published() == from_nothing(events[:count_]), f"after {count_}"
                if isinstance(kv, RocksKeyValue):
                    kv.commit()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=logs(), flushes=st.lists(st.booleans(), min_size=40, max_size=40))
def test_records_kept_report_by_report_equal_those_made_from_every_report(
    events: list[Event], flushes: list[bool]
) -> None:
    _check(MemoryKeyValue(), events, flushes)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=logs(), flushes=st.lists(st.booleans(), min_size=40, max_size=40))
def test_the_same_holds_on_rocksdb_with_what_is_committed_and_what_is_not(
    events: list[Event], flushes: list[bool]
) -> None:
    # Its scans merge what is committed with what is staged, backwards too.
    with TemporaryDirectory() as root:
        kv = RocksKeyValue(Path(root) / "engine", cache_mb=8)
        try:
            _check(kv, events, flushes)
        finally:
            kv.close()


def test_a_registry_change_tallies_a_party_again_with_its_new_names() -> None:
    # Two monitors' tolls for one day are two claims, until one turns out to relay the other.
    tolls = [
        _event(
            "t1",
            "casualties.reported",
            3,
            0,
            {"party": "Syrian Army", "killed": 10},
            location={"name": "Aleppo", "country": "SY"},
            source="SOHR",
        ),
        _event(
            "t2",
            "casualties.reported",
            3,
            1,
            {"party": "Syrian Army", "killed": 10},
            location={"name": "Aleppo", "country": "SY"},
            source="Observatory",
        ),
    ]
    alias = _event("alias", "actor.described", 0, 0, {"name": "SOHR", "aliases": ["Observatory"]})
    engine = Engine(MemoryKeyValue(), seeded().gazetteer, NAMES)
    for event in tolls:
        engine.fold(event)
    engine.take_changes()
    before = engine.folder.published()[(NAMES.view_casualties, "syrian-army")]
    engine.fold(alias)
    engine.take_changes()
    after = engine.folder.published()
    assert after == from_nothing([*tolls, alias])
    assert b'"reports":["t1","t2"]' in before
    assert b'"reports":["t1"]' in after[(NAMES.view_casualties, "syrian-army")]
