"""The engine's views, made incrementally, equal the views made from nothing."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitrep.contract import Event, parse_event
from sitrep.engine.engine import Engine
from sitrep.engine.folding import registry_from
from sitrep.engine.keyvalue import MemoryKeyValue
from sitrep.engine.projection import ViewRecords, project_all
from sitrep.engine.situation import Situation
from sitrep.stores.rocks import RocksKeyValue
from sitrep.topics import TopicNames
from sitrep.views.actors import registry_of
from sitrep.views.routing import REGISTRY_KEY
from tests.seeded import seed_events, seeded

NAMES = TopicNames()


def from_nothing(events: list[Event]) -> ViewRecords:
    situation = Situation(seeded().gazetteer)
    for event in events:
        situation.fold(event)
    registry = registry_of(situation.ledgers.get(REGISTRY_KEY))
    return project_all(situation.ledgers.values(), registry, NAMES)


def published(engine: Engine) -> ViewRecords:
    return {k: v for k, v in engine.folder.published().items()}


def test_the_seeds_folded_one_by_one_give_the_views_made_from_nothing() -> None:
    engine = Engine(MemoryKeyValue(), seeded().gazetteer, NAMES)
    events = list(seed_events())
    for count, event in enumerate(events, start=1):
        engine.fold(event)
        engine.take_changes()
        if count % 10 == 0 or count == len(events):
            assert published(engine) == from_nothing(events[:count]), f"after {count} events"


def test_the_seeds_in_another_order_with_duplicates_give_the_same_views() -> None:
    events = list(seed_events())
    shuffled = events + random.Random(7).sample(events, 20)
    random.Random(3).shuffle(shuffled)
    engine = Engine(MemoryKeyValue(), seeded().gazetteer, NAMES)
    for event in shuffled:
        engine.fold(event)
        if random.Random(event.id).random() < 0.3:
            engine.take_changes()
    engine.take_changes()
    assert published(engine) == from_nothing(shuffled)


def _event(event_id: str, type_: str, day: str, data: dict[str, object], **extra: object) -> Event:
    return parse_event(
        {
            "id": event_id,
            "type": type_,
            "occurred_at": day,
            "reported_at": f"{day}T20:00:00Z",
            "source": {"name": "Reuters", "kind": "news_agency"},
            "data": data,
            **extra,
        }
    )


ALEPPO = {"location": {"name": "Aleppo", "country": "SY"}}
EXTRA: list[Event] = [
    # A strike by a name nobody has described yet, and one by the actor it turns out to be.
    _event(
        "x-strike-memo",
        "strike.reported",
        "2024-12-01",
        {"perpetrator": "Memo Brigade", "means": "air", "killed": 3},
        **ALEPPO,
    ),
    _event(
        "x-strike-saa",
        "strike.reported",
        "2024-12-01",
        {"perpetrator": "Syrian Arab Army", "means": "air", "killed": {"low": 2, "high": 6}},
        **ALEPPO,
    ),
    _event(
        "x-alias",
        "actor.described",
        "2024-12-02",
        {"name": "Syrian Arab Army", "aliases": ["Memo Brigade"]},
    ),
    _event(
        "x-deny-strike",
        "claim.denied",
        "2024-12-02",
        {"event_id": "x-strike-memo", "denied_by": "Memo Brigade"},
    ),
    _event(
        "x-retract-denial",
        "event.retracted",
        "2024-12-03",
        {"event_id": "x-deny-strike", "reason": "misattributed"},
    ),
    # The region around Aleppo reported on: the city's reports now concern it too.
    _event(
        "x-governorate",
        "clash.reported",
        "2024-12-01",
        {"parties": ["HTS", "Syrian Army"]},
        location={"name": "Aleppo Governorate", "country": "SY"},
    ),
    _event(
        "x-airport",
        "control.changed",
        "2024-12-02",
        {"controller": "Memo Brigade", "method": "captured"},
        location={"name": "Aleppo International Airport", "country": "SY"},
    ),
    _event(
        "x-retract-airport",
        "event.retracted",
        "2024-12-04",
        {"event_id": "x-airport", "reason": "wrong place"},
    ),
    _event(
        "x-toll",
        "casualties.reported",
        "2024-12-02",
        {"party": "Memo Brigade", "killed": 12},
        **ALEPPO,
    ),
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_order_with_duplicates_and_late_answers_gives_the_views_made_from_nothing(
    data: st.DataObject,
) -> None:
    pool = [*seed_events(), *EXTRA]
    order = data.draw(st.permutations(pool))
    again = data.draw(st.lists(st.sampled_from(pool), max_size=10))
    events = list(order)
    for repeat in again:
        events.insert(data.draw(st.integers(0, len(events))), repeat)
    flushes = data.draw(st.lists(st.booleans(), min_size=len(events), max_size=len(events)))
    engine = Engine(MemoryKeyValue(), seeded().gazetteer, NAMES)
    for event, flush in zip(events, flushes, strict=True):
        engine.fold(event)
        if flush:
            engine.take_changes()
    engine.take_changes()
    assert published(engine) == from_nothing(events)


def test_an_engine_on_disk_reopened_midway_carries_on_where_it_stopped(tmp_path: Path) -> None:
    events = [*seed_events(), *EXTRA]
    half = len(events) // 2
    kv = RocksKeyValue(tmp_path / "engine", cache_mb=8)
    engine = Engine(kv, seeded().gazetteer, NAMES)
    for event in events[:half]:
        engine.fold(event)
    engine.folder.take_changes()  # views made, not yet fed back: a registry change is pending
    kv.commit()
    for event in events[half : half + 5]:
        engine.fold(event)  # never committed: lost with the process, replayed from the log
    kv.close()

    kv = RocksKeyValue(tmp_path / "engine", cache_mb=8)
    engine = Engine(kv, seeded().gazetteer, NAMES)
    for event in events[half:]:
        engine.fold(event)
    engine.take_changes()
    assert published(engine) == from_nothing(events)
    kv.close()


def test_a_reopened_engine_makes_what_new_events_change_before_what_it_was_left(
    tmp_path: Path,
) -> None:
    events = list(seed_events())
    kv = RocksKeyValue(tmp_path / "engine", cache_mb=8)
    engine = Engine(kv, seeded().gazetteer, NAMES)
    for event in events:
        engine.fold(event)  # every entity left due: the process stops before making any
    kv.commit()
    kv.close()

    kv = RocksKeyValue(tmp_path / "engine", cache_mb=8)
    engine = Engine(kv, seeded().gazetteer, NAMES)
    left = engine.folder.due
    assert left > 10
    strike = next(e for e in EXTRA if e.id == "x-strike-saa")
    engine.fold(strike)
    calls = 0
    while True:  # one entity made a call
        calls += 1
        made = engine.folder.take_changes(budget_s=0.0)
        if any(v is not None and b"x-strike-saa" in v for v in made.values()):
            break
    # The strike, and the control of Aleppo and of its governorate, which its report touched
    # (they were among those left too): made before the rest of what was left.
    assert calls <= 3 < left
    engine.take_changes()
    assert engine.folder.due == 0
    assert published(engine) == from_nothing([*events, strike])
    kv.close()


def test_a_registry_change_is_taken_in_a_ledger_at_a_time_and_ends_as_from_nothing() -> None:
    alias = next(e for e in EXTRA if e.id == "x-alias")
    hama = _event(
        "x-strike-memo-hama",
        "strike.reported",
        "2024-12-01",
        {"perpetrator": "Memo Brigade", "means": "artillery", "killed": 1},
        location={"name": "Hama", "country": "SY"},
    )
    before = [*seed_events(), *(e for e in EXTRA if e is not alias), hama]
    engine = Engine(MemoryKeyValue(), seeded().gazetteer, NAMES)
    for event in before:
        engine.fold(event)
    engine.take_changes()
    engine.fold(alias)
    record = engine.folder.take_changes()[(NAMES.registry, REGISTRY_KEY)]
    assert record is not None
    engine.folder.describe(registry_from(record), record)
    reindexing = lambda: [k.decode() for k, _ in engine.folder.kv.scan(b"reindex\x00")]  # noqa: E731
    waiting = len(reindexing())
    assert waiting > 1  # the renamed actor is named in several place ledgers
    # Reported while Hama waits to be indexed again.
    hama_again = _event(
        "x-hama-again",
        "clash.reported",
        "2024-12-02",
        {"parties": ["HTS"]},
        location={"name": "Hama", "country": "SY"},
    )
    engine.fold(hama_again)
    calls = 0
    while reindexing():
        calls += 1
        engine.folder.take_changes(budget_s=0.0)
    assert calls == waiting
    engine.take_changes()
    assert published(engine) == from_nothing([*before, alias, hama_again])


def test_a_new_registry_remakes_the_actors_a_slice_at_a_time_and_ends_as_from_nothing() -> None:
    ticks = iter(x / 100 for x in range(10**6))  # each step "takes" 10 ms
    events = [*seed_events(), *EXTRA]
    engine = Engine(MemoryKeyValue(), seeded().gazetteer, NAMES)
    engine.folder.timer = lambda: next(ticks)
    for event in events:
        engine.fold(event)
    moment = 100.0
    slices = []
    while engine.folder.due:
        changes = engine.folder.take_changes(moment)
        record = changes.get((NAMES.registry, REGISTRY_KEY))
        if record:
            engine.folder.describe(registry_from(record), record)
        slices.append(sum(1 for topic, _ in changes if topic == NAMES.view_actors))
        moment += 2.0
    actors = sum(1 for topic, _ in from_nothing(events) if topic == NAMES.view_actors)
    assert actors > 4
    assert max(slices) < actors  # never all at once
    assert published(engine) == from_nothing(events)


def test_the_entities_held_back_are_forgotten_once_their_turn_has_come() -> None:
    """A log's strikes are each made once: remembering when each may be made again would
    grow with the log."""
    from sitrep.engine.folding import MAX_SPACING_S, PACED_KEPT, _Pacing

    pacing = _Pacing()
    for n in range(3 * PACED_KEPT):
        now = n * MAX_SPACING_S  # each entity's turn has come by the next one's
        pacing.took(("place:x", f"s:{n}"), now, seconds=0.01)
        assert not pacing.ready(("place:x", f"s:{n}"), now)
    assert len(pacing.due) <= PACED_KEPT + 1
    assert pacing.ready(("place:x", "s:0"), 3 * PACED_KEPT * MAX_SPACING_S)
