"""The worker's pieces without faust: filed records, its stores and their positions, pacing."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import orjson
import pytest

from sitrep.contract import Event, event_to_dict, parse_event
from sitrep.engine.engine import Engine
from sitrep.engine.folding import SPACING, Folder
from sitrep.engine.keyvalue import MemoryKeyValue
from sitrep.engine.projection import EntityIndex, as_of, entity_reports
from sitrep.engine.routing import Filing
from sitrep.engine.situation import Situation
from sitrep.topics import TopicNames
from sitrep.turns import Turns
from sitrep.views.actors import HeldPlace
from sitrep.views.ledger import Ledger
from sitrep.worker.app import _flush_overlaps
from sitrep.worker.engine import Commits, IncompatibleState, WorkerEngine
from sitrep.worker.partitions import FlushPacing, by_partition, partition_of
from sitrep.worker.records import ParsedEvents, bound_for, decode_filed, encode_filed
from tests.seeded import seed_events, seed_gazetteer, seeded

PARTITIONS = 6
NAMES = TopicNames("t")


def seed_filings() -> list[Filing]:
    router = Engine(MemoryKeyValue(), seed_gazetteer(), NAMES).router
    return [f for e in seed_events() for f in router.route(e)]


def folded(folder: Folder) -> Folder:
    for filing in seed_filings():
        folder.file(filing.ledger, filing.event, filing.place)
    return folder


def test_a_filed_record_holds_reports_of_its_partitions_ledgers_only() -> None:
    grouped = by_partition(bound_for(seed_filings()), PARTITIONS)
    assert len(grouped) > 1
    for partition, batch in grouped.items():
        for filing in decode_filed(encode_filed(batch)):
            assert partition_of(filing.ledger.encode(), PARTITIONS) == partition


def test_reports_read_back_are_the_filings_sent() -> None:
    filings = seed_filings()
    read_back = decode_filed(encode_filed(bound_for(filings)))
    assert [(f.ledger, f.event, f.place) for f in read_back] == [
        (f.ledger, f.event, f.place) for f in filings
    ]


def test_events_validated_by_the_route_agent_are_read_back_as_they_were_validated() -> None:
    validated = ParsedEvents()
    filings = seed_filings()
    read_back = decode_filed(encode_filed(bound_for(filings, validated)), validated)
    assert all(a.event is b.event for a, b in zip(read_back, filings, strict=True))


def test_the_same_id_with_other_content_is_validated_afresh() -> None:
    validated = ParsedEvents()
    event = next(iter(seed_events()))
    data = event_to_dict(event)
    validated.remember(data, event)
    other = {**data, "reported_at": "2024-12-05T00:00:00Z"}
    assert validated.parse(data) is event
    assert validated.parse(other) is not event
    assert validated.parse(other).reported_at.day == 5


def test_the_validated_events_kept_are_bounded() -> None:
    validated = ParsedEvents(size=3)
    events = list(seed_events())[:5]
    for event in events:
        validated.remember(event_to_dict(event), event)
    assert validated.parse(event_to_dict(events[0])) is not events[0]  # forgotten: re-validated
    assert validated.parse(event_to_dict(events[4])) is events[4]


def test_flushes_take_at_most_a_quarter_of_the_time_and_never_wait_long() -> None:
    pacing = FlushPacing()
    assert pacing.due(0.0)
    pacing.took(10.0, 10.1)  # a flush that took 0.1 s waits 0.3 s more
    assert not pacing.due(10.35)
    assert pacing.due(10.4)
    pacing.took(20.0, 23.0)  # a very long one waits at most MAX_WAIT_S
    assert not pacing.due(23.0 + FlushPacing.MAX_WAIT_S / 2)
    assert pacing.due(23.0 + FlushPacing.MAX_WAIT_S)


def test_with_nothing_queued_on_the_log_flushes_take_three_quarters_of_the_time() -> None:
    pacing = FlushPacing()
    pacing.took(10.0, 10.3, pressed=False)  # 0.3 s of making views waits 0.1 s
    assert not pacing.due(10.35)
    assert pacing.due(10.4)


def _holder(place_id: str, actor_id: str) -> tuple[str, HeldPlace]:
    return actor_id, HeldPlace(place_id, place_id, "2024-11-30", "held")


def test_places_changing_hands_remake_the_actors_view_at_most_every_second() -> None:
    folder = folded(Folder(MemoryKeyValue(), NAMES))
    actors = NAMES.view_actors
    assert any(topic == actors for topic, _ in folder.take_changes(100.0))

    folder.hold("sy-village-1", _holder("sy-village-1", "hts"))
    assert not any(topic == actors for topic, _ in folder.take_changes(100.5))
    folder.hold("sy-village-2", _holder("sy-village-2", "hts"))
    later = folder.take_changes(101.0)  # a second after the last: both places at once
    hts = orjson.loads(later[(actors, "hts")] or b"null")["view"]
    assert {"sy-village-1", "sy-village-2"} <= {p["place_id"] for p in hts["controls"]}
    assert not any(topic == actors for topic, _ in folder.take_changes(101.2))

    folder.hold("sy-village-2", None)  # changes nothing until due, then drops the place
    assert not any(topic == actors for topic, _ in folder.take_changes(101.9))
    hts = orjson.loads(folder.take_changes(102.0)[(actors, "hts")] or b"null")["view"]
    assert "sy-village-2" not in {p["place_id"] for p in hts["controls"]}


def test_a_costly_entity_is_made_again_only_once_its_spacing_has_passed() -> None:
    ticks = iter(x / 100 for x in range(10**6))  # each view "takes" 10 ms to make
    folder = folded(Folder(MemoryKeyValue(), NAMES, timer=lambda: next(ticks)))
    folder.take_changes(100.0)

    toll = next(e for e in seed_events() if e.id == "seed-000-government-losses-sohr")
    relayed = parse_event(
        {**event_to_dict(toll), "id": "test-relayed-toll", "source": {"name": "Reuters"}}
    )
    [route] = seeded().router.routes_of(toll.id) or []
    folder.file(route.key, relayed, route.place)
    spaced = 100.0 + SPACING * 0.01
    assert not folder.take_changes(spaced - 0.01)  # not yet: kept for a later flush
    later = folder.take_changes(spaced)
    [(topic, _)] = later
    assert topic == NAMES.view_casualties
    assert b"test-relayed-toll" in (next(iter(later.values())) or b"")


def test_ledgers_another_worker_publishes_stay_due_until_held_again() -> None:
    everything = folded(Folder(MemoryKeyValue(), NAMES)).take_changes()
    held = partition_of(b"place:sy-aleppo-governorate", PARTITIONS)

    def owns(ledger: str) -> bool:
        return partition_of(ledger.encode(), PARTITIONS) == held

    folder = folded(Folder(MemoryKeyValue(), NAMES))
    mine = folder.take_changes(owns=owns)
    assert ("t.view.control.v1", "sy-aleppo") in mine
    assert set(mine) < set(everything)
    assert all(everything[k] == v for k, v in mine.items())
    assert folder.take_changes() == {k: v for k, v in everything.items() if k not in mine}


# --- the stores on disk ---------------------------------------------------------------------


def _worker_engine(root: Path) -> WorkerEngine:
    return WorkerEngine(root, seed_gazetteer(), NAMES, cache_mb=8)


async def test_a_store_reflects_the_positions_of_its_last_commit_only(tmp_path: Path) -> None:
    engine = _worker_engine(tmp_path)
    assert engine.position(NAMES.events, 3) == 0  # nothing stored: read from the start
    assert engine.position(NAMES.view_control, 3) == 0  # who holds what: read from the start
    assert engine.position(NAMES.view_strikes, 3) is None  # no store reflects it
    commits = Commits(engine.routes)
    events = list(seed_events())
    for offset, event in enumerate(events[:5]):
        engine.router.route(event)
        engine.took(NAMES.events, 3, offset)
    acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    commits.after(acked)
    engine.router.route(events[5])
    engine.took(NAMES.events, 3, 5)
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    commits.after(never)  # sent, never acknowledged: the process dies first
    assert engine.position(NAMES.events, 3) == 0  # nothing acknowledged yet
    acked.set_result(None)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert engine.position(NAMES.events, 3) == 5
    engine.close()

    again = _worker_engine(tmp_path)
    assert again.position(NAMES.events, 3) == 5
    assert again.router.routes_of(events[4].id) is not None
    assert again.router.routes_of(events[5].id) is None  # routed again when read again
    again.close()


async def test_generations_commit_in_order_whatever_order_their_acks_come_in(
    tmp_path: Path,
) -> None:
    engine = _worker_engine(tmp_path)
    commits = Commits(engine.ledgers)
    loop = asyncio.get_running_loop()
    first: asyncio.Future[None] = loop.create_future()
    second: asyncio.Future[None] = loop.create_future()
    engine.took(NAMES.filed, 0, 9)
    commits.after(first)
    engine.took(NAMES.filed, 0, 19)
    commits.after(second)
    second.set_result(None)
    await asyncio.sleep(0.01)
    assert engine.position(NAMES.filed, 0) == 0  # the first is still unacknowledged
    first.set_result(None)
    await commits.settled()
    assert engine.position(NAMES.filed, 0) == 20
    engine.close()


async def test_the_fold_store_is_not_committed_while_views_are_made_in_a_thread(
    tmp_path: Path,
) -> None:
    engine = _worker_engine(tmp_path)
    engine.took(NAMES.filed, 1, 4)
    acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    acked.set_result(None)
    async with engine.folding:  # what the flush holds while its thread makes views
        engine.fold_log.after(acked)
        await asyncio.sleep(0.01)
        assert engine.position(NAMES.filed, 1) == 0
    await engine.fold_log.settled()
    assert engine.position(NAMES.filed, 1) == 5
    engine.close()


def test_two_workers_sharing_a_state_directory_each_claim_a_store(tmp_path: Path) -> None:
    one, two = _worker_engine(tmp_path), _worker_engine(tmp_path)
    assert one.slot != two.slot
    one.close()
    three = _worker_engine(tmp_path)
    assert three.slot == tmp_path / "slot-0"  # released by the first: taken back
    two.close()
    three.close()


def test_a_store_of_another_format_stops_the_worker_with_what_to_do(tmp_path: Path) -> None:
    engine = _worker_engine(tmp_path)
    engine.ledgers.put(b"format", b"sitrep-engine-0")
    engine.ledgers.commit()
    engine.close()
    with pytest.raises(IncompatibleState, match="SITREP_WORKER_ID"):
        _worker_engine(tmp_path).open()
    # ... and a failed start leaves the slot free: a second try reads the same store.
    with pytest.raises(IncompatibleState, match="slot-0"):
        _worker_engine(tmp_path).open()


def _strike_answers() -> list[Event]:
    """A strike relayed, denied, the denial retracted (sent before the denial), a neighbourhood
    first named after its city's reports: what makes an entity's reports move."""
    strike = next(e for e in seed_events() if e.type == "strike.reported")
    raw = event_to_dict(strike)
    envelope = {"occurred_at": "2024-12-01", "source": {"name": "SANA", "kind": "government"}}
    return [
        parse_event({**raw, "id": "test-index-relay", "source": {"name": "TASS"}}),
        parse_event(
            {
                **envelope,
                "id": "test-index-retract-denial",
                "type": "event.retracted",
                "reported_at": "2024-12-01T22:00:00Z",
                "data": {"event_id": "test-index-denial", "reason": "issued in error"},
            }
        ),
        parse_event(
            {
                **envelope,
                "id": "test-index-denial",
                "type": "claim.denied",
                "reported_at": "2024-12-01T21:00:00Z",
                "data": {"event_id": strike.id, "denied_by": "Syrian army"},
            }
        ),
    ]


def test_the_entity_index_kept_report_by_report_is_the_index_made_from_nothing() -> None:
    situation = Situation(seeded().gazetteer)
    indexes: dict[str, EntityIndex] = {}
    moved = 0
    for event in [*seed_events(), *_strike_answers()]:
        situation.fold(event)
        for key, ledger in situation.ledgers.items():
            if key.startswith("place:"):
                index = indexes.setdefault(key, EntityIndex())
                before = index.indexed
                kept = index.reports(ledger, situation.registry)
                assert kept == entity_reports(ledger, situation.registry), (event.id, key)
                for prefix, entities in zip(("c:", "s:"), kept, strict=True):
                    for entity, ids in entities.items():
                        sub = Ledger(key, {i: ledger.filed[i] for i in ids})
                        assert index.asked(prefix + entity) == as_of(sub), (event.id, entity)
                moved += index.indexed - before > 1
    assert moved  # some updates took more than one report at a time
    struck = [ids for key in indexes for ids in indexes[key].struck.values()]
    assert any({"test-index-denial", "test-index-retract-denial"} <= ids for ids in struck)


def test_entities_are_made_in_the_order_they_became_due_a_budget_at_a_time() -> None:
    ticks = iter(range(10**6))  # every reading of the clock a second later: a budget of one
    folder = Folder(MemoryKeyValue(), NAMES, timer=lambda: float(next(ticks)))
    router = Engine(MemoryKeyValue(), seed_gazetteer(), NAMES).router
    towns = ["Hama", "Aleppo", "Idlib"]  # not in the order their ledgers sort
    for n, town in enumerate(towns):
        event = parse_event(
            {
                "id": f"test-order-{n}",
                "type": "control.changed",
                "occurred_at": "2024-12-01",
                "reported_at": "2024-12-01T12:00:00Z",
                "source": {"name": "Reuters", "kind": "news_agency"},
                "location": {"name": town, "country": "SY"},
                "data": {"controller": "HTS"},
            }
        )
        for filing in router.route(event):
            folder.file(filing.ledger, filing.event, filing.place)
    made = []
    while folder.due:
        made += [name for topic, name in folder.take_changes(budget_s=0.5) if "control" in topic]
    assert [name.split("-")[1] for name in made] == [t.lower() for t in towns]


def test_a_long_batch_gives_the_loop_back_every_turn_and_only_then() -> None:
    moments = iter([0.0, 0.005, 0.015, 0.021, 0.022, 0.03, 0.045])
    turns = Turns(0.02, clock=lambda: next(moments))
    other_ran: list[int] = []

    async def batch() -> list[int]:
        async def other() -> None:
            other_ran.append(1)

        task = asyncio.ensure_future(other())
        seen = []
        for step in range(3):
            await turns.turn()
            seen.append(len(other_ran))
            if step == 2:
                await task
        return seen

    # 5 ms and 15 ms after the start: no yield; 21 ms: the other task runs.
    assert asyncio.run(batch()) == [0, 0, 1]


OVERLAPPING = "Timer %s is overlapping (interval=%r runtime=%r)"
"""mode's warning, as its timers log it."""


def test_only_the_flush_timers_expected_overlap_is_left_out_of_the_log() -> None:
    def record(name: str) -> logging.LogRecord:
        args = (name, 0.025, 0.06)
        return logging.LogRecord("mode.timers", logging.WARNING, "", 0, OVERLAPPING, args, None)

    assert not _flush_overlaps(record("sitrep.worker.app.create_app.<locals>.flush"))
    assert _flush_overlaps(record("sitrep.worker.app.create_app.<locals>.age"))
