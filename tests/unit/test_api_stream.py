"""The stream's pure parts: positions, filters, SSE framing, a slow client's backlog; and its
bad parameters answered as problems before anything is streamed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import replace
from typing import Any

import orjson
import pytest

from sitrep.api.changes import (
    BadPosition,
    Change,
    ChangeFilter,
    Position,
    RecentChanges,
    sse_message,
)
from sitrep.api.follower import Subscriber
from tests.unit.test_api_app import problem, serving

ALEPPO = {"id": "sy-aleppo", "country": "SY", "admin1": "Aleppo", "parent": None}
HAMA = {"id": "sy-hama", "country": "SY", "admin1": "Hama", "parent": None}
CONSULATE = {
    "id": "sy-aleppo-consulate",
    "country": "SY",
    "admin1": "Aleppo",
    "parent": "sy-aleppo",
}
HTS = {"id": "hayat-tahrir-al-sham"}


def control(place: dict[str, Any], controller: dict[str, Any] | None, offset: int = 0) -> Change:
    value = {"as_of": {}, "view": {"place": place, "controller": controller}}
    return Change("control", 0, offset, place["id"], value)


def strike(place: dict[str, Any], perpetrator: dict[str, Any] | None) -> Change:
    view = {"place": place, "perpetrator": perpetrator}
    return Change("strikes", 1, 0, f"{place['id']}/2024-11-30/air/x", {"as_of": {}, "view": view})


def test_a_position_survives_its_event_id() -> None:
    position = Position().after(("control", 3), 16).after(("statements", 0), 4)
    assert position.encode() == "c3.17-t0.5"
    assert Position.decode(position.encode()) == position
    assert Position.decode("") == Position()


@pytest.mark.parametrize("text", ["x1.2", "c1", "c.1", "c1.2.3", "c-1.2"])
def test_a_bad_event_id_is_refused(text: str) -> None:
    with pytest.raises(BadPosition):
        Position.decode(text)


def test_a_position_is_reached_partition_by_partition() -> None:
    ahead = Position({("control", 0): 5, ("control", 1): 2})
    assert ahead.reached(Position({("control", 0): 5}))
    assert not ahead.reached(Position({("control", 0): 5, ("actors", 0): 1}))
    assert ahead.merged(Position({("control", 1): 7})).next_offset(("control", 1)) == 7


def test_filters_match_the_fields_of_each_view() -> None:
    by_hts = ChangeFilter(actor="hayat-tahrir-al-sham")
    assert by_hts.wants(control(ALEPPO, HTS))
    assert not by_hts.wants(control(HAMA, {"id": "syrian-arab-army"}))
    assert not by_hts.wants(strike(ALEPPO, None))
    in_aleppo = ChangeFilter(places=frozenset({"sy-aleppo"}))
    assert in_aleppo.wants(strike(CONSULATE, None))
    assert not in_aleppo.wants(strike(HAMA, None))
    assert ChangeFilter(admin1="Idleb").wants(strike({**HAMA, "admin1": "Idlib"}, None))
    assert not ChangeFilter(kinds=frozenset({"strikes"})).wants(control(ALEPPO, HTS))


def test_statements_and_actors_have_no_place() -> None:
    statement = {"actor": {"id": "iran"}, "speaker": {"id": "abbas-araghchi"}}
    said = Change("statements", 0, 0, "iran", {"as_of": {}, "view": [statement]})
    actor = Change("actors", 0, 0, "iran", {"as_of": {}, "view": {"id": "iran", "country": "IR"}})
    assert ChangeFilter(actor="abbas-araghchi").wants(said)
    assert ChangeFilter(country="ir", countries_of_actors={"iran": "IR"}).wants(said)
    assert not ChangeFilter(country="SY", countries_of_actors={"iran": "IR"}).wants(said)
    assert ChangeFilter(country="IR").wants(actor)
    assert not ChangeFilter(places=frozenset({"sy-aleppo"})).wants(actor)


def test_a_tombstone_is_judged_on_its_key() -> None:
    gone = Change("strikes", 0, 0, "sy-aleppo-consulate/2024-11-30/air/x", None)
    assert ChangeFilter(places=frozenset({"sy-aleppo-consulate"})).wants(gone)
    assert not ChangeFilter(places=frozenset({"sy-hama"})).wants(gone)


def test_an_sse_message_names_the_kind_the_position_and_the_change() -> None:
    change = control(ALEPPO, HTS, offset=41)
    lines = sse_message(change, Position().after(change.slot, 41)).decode().split("\n")
    assert lines[:2] == ["event: control", "id: c0.42"]
    data = orjson.loads(lines[2].removeprefix("data: "))
    assert data == {"kind": "control", "key": "sy-aleppo", "value": change.value}
    assert lines[3:] == ["", ""]


async def test_a_subscriber_that_falls_behind_is_dropped_after_its_backlog() -> None:
    subscriber = Subscriber(limit=2)
    for offset in range(3):
        subscriber.offer(control(ALEPPO, HTS, offset))
    assert subscriber.dropped
    got = [await subscriber.next(0.1), await subscriber.next(0.1)]
    assert [c.offset for c in got if c is not None] == [0, 1]
    assert await subscriber.next(0.1) is None


async def test_a_subscriber_is_dropped_once_its_backlog_holds_too_many_bytes() -> None:
    subscriber = Subscriber(limit_bytes=1_000)
    big = [replace(control(ALEPPO, HTS, offset), size=400) for offset in range(3)]
    subscriber.offer(big[0])
    subscriber.offer(big[1])
    assert not subscriber.dropped
    assert await subscriber.next(0.1) == big[0]  # what it reads no longer counts
    subscriber.offer(big[2])
    assert not subscriber.dropped
    subscriber.offer(replace(big[2], offset=3, size=300))
    assert subscriber.dropped
    assert [await subscriber.next(0.1), await subscriber.next(0.1)] == big[1:]
    assert await subscriber.next(0.1) is None


def test_recent_changes_answer_from_where_they_begin_and_not_before() -> None:
    recent = RecentChanges(limit=3, limit_bytes=1_000)
    recent.begin(Position({("control", 0): 10}))
    changes = [replace(control(ALEPPO, HTS, offset), size=100) for offset in (10, 11, 12)]
    for change in changes:
        recent.add(change)
    assert recent.since(Position({("control", 0): 10})) == changes
    assert recent.since(Position({("control", 0): 12})) == changes[2:]
    assert recent.since(Position({("control", 0): 9})) is None  # offset 9 was never kept
    recent.add(replace(control(ALEPPO, HTS, 13), size=100))  # the oldest goes
    assert recent.since(Position({("control", 0): 10})) is None
    assert [c.offset for c in recent.since(Position({("control", 0): 11})) or []] == [11, 12, 13]
    other = replace(control(HAMA, HTS, 0), partition=1, size=990)
    recent.add(other)  # too many bytes: all but the newest go
    assert recent.since(Position({("control", 0): 13})) is None
    assert recent.since(Position({("control", 0): 14})) == [other]
    # A partition read for the first time is kept from where reading began.
    recent.begin(Position({("control", 0): 14, ("strikes", 2): 5}))
    assert recent.since(Position({("control", 0): 14, ("strikes", 2): 4})) is None
    assert recent.since(Position({("control", 0): 14, ("strikes", 2): 5})) == [other]


async def test_a_quiet_subscriber_times_out_for_a_heartbeat() -> None:
    subscriber = Subscriber()
    assert await subscriber.next(0.05) is None
    asyncio.get_running_loop().call_later(0.01, subscriber.offer, control(ALEPPO, HTS))
    assert await subscriber.next(1.0) is not None


async def test_bad_stream_parameters_are_problems_naming_them() -> None:
    async with serving() as client:
        kind = problem(await client.get("/v1/stream", params={"kind": ["control", "votes"]}), 422)
        origin = problem(await client.get("/v1/stream", params={"from": "middle"}), 422)
        query = problem(await client.get("/v1/stream", params={"last_event_id": "zz"}), 422)
        header = problem(await client.get("/v1/stream", headers={"Last-Event-ID": "c1"}), 422)
    assert [e["field"] for e in kind["errors"]] == ["kind"]
    assert "votes" in kind["errors"][0]["reason"]
    assert [e["field"] for e in origin["errors"]] == ["from"]
    assert [e["field"] for e in query["errors"]] == ["last_event_id"]
    assert [e["field"] for e in header["errors"]] == ["Last-Event-ID"]


async def test_a_stream_counts_from_its_answer_until_it_ends_or_is_dropped_unread() -> None:
    import gc

    from sitrep.api.routes.stream import Streams

    async def messages() -> AsyncGenerator[bytes, None]:
        yield b"one"
        yield b"two"

    streams = Streams(most=2)
    read = streams.counted(messages())
    unread = streams.counted(messages())
    assert streams.open == 2  # before a single message: the head of the answer goes first
    assert [m async for m in read] == [b"one", b"two"]
    assert streams.open == 1
    del unread
    gc.collect()
    assert streams.open == 0
