"""The route agent's state without faust: routes and waiting answers, written as rows, read back."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count

import pytest

from sitrep.worker.heldrows import IncompatibleState
from sitrep.worker.routebook import RouteBook

ALEPPO = b'[{"key":"place:sy-aleppo","place":null}]'


def _book(table: dict[bytes, bytes], owned: set[int], clock: Iterator[int]) -> RouteBook:
    book = RouteBook(table, clock=lambda: next(clock))
    book.forget(owned)
    return book


def _write(book: RouteBook, table: dict[bytes, bytes]) -> None:
    for _, key, value in book.rows():
        table[key] = value


def test_a_restarted_book_knows_every_route_and_what_still_waits() -> None:
    table: dict[bytes, bytes] = {}
    clock = count(1)
    first = _book(table, {0, 1}, clock)
    first.wait(0, 5, "seed-strike", '{"id": "denial-1"}')
    first.wait(1, 7, "later-event", '{"id": "denial-2"}')
    _write(first, table)
    first.routed(0, 9, "seed-strike", ALEPPO)
    assert first.held("seed-strike") == ['{"id": "denial-1"}']
    first.routed(0, 9, "denial-1", ALEPPO)
    first.release(0, 9, "seed-strike")
    _write(first, table)
    assert first.rows() == []  # nothing new: nothing to write

    again = _book(table, {0, 1}, clock)
    assert again.route("seed-strike") == ALEPPO
    assert again.route("denial-1") == ALEPPO
    assert again.held("seed-strike") == []
    assert again.held("later-event") == ['{"id": "denial-2"}']
    assert again.route("unknown") is None


def test_a_batch_replayed_after_a_crash_adds_a_row_and_replaces_none() -> None:
    table: dict[bytes, bytes] = {}
    clock = count(1)
    first = _book(table, {0}, clock)
    first.routed(0, 10, "event-a", ALEPPO)
    first.routed(0, 11, "event-b", ALEPPO)
    _write(first, table)
    # Restarted before the offsets were committed: the batch comes again from offset 10, and
    # only what the rows did not hold is done (and written) again.
    replay = _book(table, {0}, clock)
    assert replay.route("event-a") == ALEPPO
    replay.routed(0, 10, "event-c", ALEPPO)
    _write(replay, table)
    assert len(table) == 2
    last = _book(table, {0}, clock)
    assert {e for e in ("event-a", "event-b", "event-c") if last.route(e)} == {
        "event-a",
        "event-b",
        "event-c",
    }


def test_rows_of_partitions_held_elsewhere_are_not_read() -> None:
    table: dict[bytes, bytes] = {}
    clock = count(1)
    book = _book(table, {0, 1}, clock)
    book.routed(1, 3, "theirs", ALEPPO)
    book.routed(0, 3, "mine", ALEPPO)
    _write(book, table)
    mine = _book(table, {0}, clock)
    assert mine.route("mine") == ALEPPO
    assert mine.route("theirs") is None


@pytest.mark.parametrize("key", [b"seed-000-aleppo-captured", b"3:17", b"@3:17", b"@a:1:2"])
def test_rows_of_the_older_format_stop_the_worker_with_what_to_do(key: bytes) -> None:
    book = _book({key: ALEPPO}, {3}, count(1))
    with pytest.raises(IncompatibleState, match="SITREP_WORKER_ID"):
        book.route("anything")
