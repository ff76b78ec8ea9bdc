"""Poison is noted and passed over; a fault of the broker, the disk or the index stops
the worker or the API, which `sitrep up` starts again, waiting longer each time it fails
soon after."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from aiokafka.errors import KafkaTimeoutError, NotLeaderForPartitionError
from faust.exceptions import PartitionsMismatch, ProducerSendError, ValueDecodeError

from sitrep.contract import InvalidEvent, parse_event
from sitrep.faults import is_fault
from sitrep.running.processes import RAN_WELL_S, RESTART_MOST_S, Restarts
from sitrep.stores.rocks import RocksKeyValue, StoreFault


def _invalid() -> InvalidEvent:
    try:
        parse_event(b'{"id": "broken')
    except InvalidEvent as exc:
        return exc
    raise AssertionError("parsed")


@pytest.mark.parametrize(
    "exc",
    [
        StoreFault("RocksDB at /x: IO error"),
        KafkaTimeoutError(),
        NotLeaderForPartitionError(),
        PartitionsMismatch("the changelog topic's metadata is not there yet"),
        ProducerSendError("refused"),
        sqlite3.OperationalError("disk I/O error"),
        TimeoutError(),
        ConnectionResetError(),
        MemoryError(),
    ],
    ids=type,
)
def test_what_the_worker_stands_on_failing_is_a_fault(exc: BaseException) -> None:
    assert is_fault(exc)


@pytest.mark.parametrize(
    "exc",
    [_invalid(), ValueError("no place"), KeyError("party"), ValueDecodeError("bytes")],
    ids=type,
)
def test_what_fails_the_same_way_at_every_read_is_poison(exc: BaseException) -> None:
    assert not is_fault(exc)


def test_the_store_failing_is_a_store_fault_not_the_records(tmp_path: Path) -> None:
    store = RocksKeyValue(tmp_path / "db", cache_mb=8)
    store.put(b"k", b"v")
    store.commit()
    store._db.close()  # what an I/O error looks like to the code: rocksdict raises
    with pytest.raises(StoreFault, match="RocksDB at"):
        store.get(b"k")
    with pytest.raises(StoreFault):
        list(store.scan(b""))
    store.put(b"j", b"w")
    with pytest.raises(StoreFault):
        store.commit()


def test_a_worker_failing_again_soon_waits_longer_each_time_up_to_a_bound() -> None:
    restarts = Restarts()
    waits = [restarts.next_wait(100.0 + i) for i in range(8)]
    assert waits[0] == 1.0
    assert waits == sorted(waits)
    assert waits[-1] == RESTART_MOST_S
    # Having run well for a while, it starts again at once.
    assert restarts.next_wait(100.0 + 7 + RESTART_MOST_S + RAN_WELL_S) == 1.0


class Stopped(Exception):
    """What the process would have exited with."""


def test_the_api_stops_on_a_fault_while_folding_and_notes_poison_as_rejected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sitrep import faults
    from sitrep.api.readmodel import ReadModel
    from sitrep.contract import encode_event
    from tests.seeded import seed_events, seed_gazetteer

    def stop(reason: str, exc: BaseException | None = None) -> None:
        raise Stopped(reason)

    monkeypatch.setattr(faults, "stop", stop)
    model = ReadModel(seed_gazetteer())
    events = list(seed_events())
    router = model.situation.router

    def failing(*args: object, **kwargs: object) -> object:
        raise StoreFault("RocksDB at /x: IO error")

    monkeypatch.setattr(router, "route", failing)
    with pytest.raises(Stopped, match="the record at 0@0"):
        model.apply(0, 0, encode_event(events[0]))
    assert model.rejected == 0
    assert model.rejections(events[0].id) == ()

    def tripping(*args: object, **kwargs: object) -> object:
        raise KeyError("a view's own bug, the same at every read")

    monkeypatch.setattr(router, "route", tripping)
    model.apply(0, 1, encode_event(events[1]))
    assert model.rejected == 1
    assert "cannot be folded" in model.rejections(events[1].id)[0].reason
