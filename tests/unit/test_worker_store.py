"""The fold agent's state without faust: filed records in, ledgers and view changes out."""

from __future__ import annotations

import orjson
import pytest

from sitrep.contract import Event, event_to_dict, parse_event
from sitrep.engine.projection import EntityIndex, as_of, entity_reports
from sitrep.engine.situation import Situation
from sitrep.topics import TopicNames
from sitrep.views.actors import HeldPlace
from sitrep.views.ledger import Ledger
from sitrep.worker.heldrows import IncompatibleState
from sitrep.worker.records import ParsedEvents, bound_for, decode_filed, encode_filed
from sitrep.worker.store import SPACING, FlushPacing, LedgerStore, by_partition, partition_of
from tests.seeded import seed_events, seeded

PARTITIONS = 6
NAMES = TopicNames("t")


def filed_records() -> dict[int, list[bytes]]:
    """The seed events as the route agent sends them: one record per partition."""
    situation = seeded()
    out = [b for e in seed_events() for b in bound_for(e, situation.router.routes_of(e.id) or [])]
    return {p: [encode_filed(batch)] for p, batch in by_partition(out, PARTITIONS).items()}


def test_a_record_folded_twice_counts_once_and_writes_one_row() -> None:
    table: dict[bytes, bytes] = {}
    store = LedgerStore(table, NAMES)
    store.forget(set(range(PARTITIONS)))
    records = filed_records()
    partition, [payload] = next(iter(records.items()))
    assert store.file(partition, 0, payload) > 0
    assert store.file(partition, 7, payload) == 0  # re-sent after a crash: nothing new
    assert list(table) == [f"{partition}:0".encode()]


def test_a_restarted_store_rebuilds_only_the_partitions_it_holds() -> None:
    table: dict[bytes, bytes] = {}
    first = LedgerStore(table, NAMES)
    first.forget(set(range(PARTITIONS)))
    for partition, payloads in filed_records().items():
        for offset, payload in enumerate(payloads):
            first.file(partition, offset, payload)
    everything = first.take_changes()

    held = {partition_of(b"place:sy-aleppo-governorate", PARTITIONS)}
    again = LedgerStore(table, NAMES)
    again.forget(held)
    mine = again.take_changes()
    assert mine
    assert set(mine) < set(everything)
    assert all(everything[key] == value for key, value in mine.items())
    assert ("t.view.control.v1", "sy-aleppo") in mine


def test_rows_of_an_older_format_stop_the_worker_with_what_to_do() -> None:
    table = {b"place:sy-aleppo\x1fseed-1": b"{}"}
    store = LedgerStore(table, NAMES)
    store.forget({0})
    with pytest.raises(IncompatibleState, match="SITREP_WORKER_ID"):
        store.take_changes()


def _holder(place_id: str, actor_id: str) -> tuple[str, HeldPlace]:
    return actor_id, HeldPlace(place_id, place_id, "2024-11-30", "held")


def test_places_changing_hands_remake_the_actors_view_at_most_every_second() -> None:
    store = LedgerStore({}, NAMES)
    store.forget(set(range(PARTITIONS)))
    for partition, payloads in filed_records().items():
        for offset, payload in enumerate(payloads):
            store.file(partition, offset, payload)
    actors = NAMES.view_actors
    assert any(topic == actors for topic, _ in store.take_changes(100.0))

    store.hold("sy-village-1", _holder("sy-village-1", "hts"))
    assert not any(topic == actors for topic, _ in store.take_changes(100.5))
    store.hold("sy-village-2", _holder("sy-village-2", "hts"))
    later = store.take_changes(101.0)  # a second after the last: both places at once
    hts = orjson.loads(later[(actors, "hts")] or b"null")["view"]
    assert {"sy-village-1", "sy-village-2"} <= {p["place_id"] for p in hts["controls"]}
    assert not any(topic == actors for topic, _ in store.take_changes(101.2))

    store.hold("sy-village-2", None)  # changes nothing until due, then drops the place
    assert not any(topic == actors for topic, _ in store.take_changes(101.9))
    hts = orjson.loads(store.take_changes(102.0)[(actors, "hts")] or b"null")["view"]
    assert "sy-village-2" not in {p["place_id"] for p in hts["controls"]}


def test_a_costly_ledger_is_made_again_only_once_its_spacing_has_passed() -> None:
    ticks = iter(x / 100 for x in range(10**6))  # each projection "takes" 10 ms
    store = LedgerStore({}, NAMES, timer=lambda: next(ticks))
    store.forget(set(range(PARTITIONS)))
    for partition, payloads in filed_records().items():
        for offset, payload in enumerate(payloads):
            store.file(partition, offset, payload)
    store.take_changes(100.0)

    toll = next(e for e in seed_events() if e.id == "seed-000-government-losses-sohr")
    relayed = parse_event(
        {**event_to_dict(toll), "id": "test-relayed-toll", "source": {"name": "Reuters"}}
    )
    [route] = seeded().router.routes_of(toll.id) or []
    payload = encode_filed(bound_for(relayed, [route]))
    store.file(partition_of(route.key.encode(), PARTITIONS), 99, payload)
    spaced = 100.0 + SPACING * 0.01
    assert not store.take_changes(spaced - 0.01)  # not yet: kept for a later flush
    later = store.take_changes(spaced)
    [(topic, _)] = later
    assert topic == NAMES.view_casualties
    assert b"test-relayed-toll" in (next(iter(later.values())) or b"")


def test_flushes_take_at_most_a_quarter_of_the_time_and_never_wait_long() -> None:
    pacing = FlushPacing()
    assert pacing.due(0.0)
    pacing.took(10.0, 10.1)  # a flush that took 0.1 s waits 0.3 s more
    assert not pacing.due(10.35)
    assert pacing.due(10.4)
    pacing.took(20.0, 23.0)  # a very long one waits at most MAX_WAIT_S
    assert not pacing.due(23.0 + FlushPacing.MAX_WAIT_S / 2)
    assert pacing.due(23.0 + FlushPacing.MAX_WAIT_S)


def test_events_validated_by_the_route_agent_are_read_back_as_they_were_validated() -> None:
    situation = seeded()
    validated = ParsedEvents()
    bound = [
        b
        for event in seed_events()
        for b in bound_for(event, situation.router.routes_of(event.id) or [], None, validated)
    ]
    read_back = decode_filed(encode_filed(bound), validated)
    for (_, filed), b in zip(read_back, bound, strict=True):
        assert event_to_dict(filed.event) == b.event
    # What the cache gives is what validating again gives: a rebuild folds the same events.
    assert [f.event for _, f in read_back] == [
        f.event for _, f in decode_filed(encode_filed(bound))
    ]


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
