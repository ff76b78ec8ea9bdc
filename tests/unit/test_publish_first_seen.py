"""The fingerprint table says which line first used an id, in flat arrays that grow as needed."""

from __future__ import annotations

from sitrep.publishing import FirstSeen
from sitrep.publishing.first_seen import Earlier, fingerprint


def test_a_new_id_is_remembered_and_a_repeat_names_the_first_line() -> None:
    seen = FirstSeen()
    assert seen.remember("a", b'{"id":"a"}', 1) is None
    assert seen.remember("b", b'{"id":"b"}', 2) is None
    assert seen.remember("a", b'{"id":"a"}', 7) == Earlier(line=1, differs=False)
    assert len(seen) == 2


def test_a_repeat_with_other_content_is_told_apart_from_an_identical_one() -> None:
    seen = FirstSeen()
    seen.remember("a", b'{"id":"a","n":1}', 3)
    assert seen.remember("a", b'{"id":"a","n":2}', 4) == Earlier(line=3, differs=True)
    assert seen.remember("a", b'{"id":"a","n":1}', 5) == Earlier(line=3, differs=False)


def test_the_third_use_of_an_id_still_names_the_first_line() -> None:
    seen = FirstSeen()
    for line in (10, 20, 30):
        seen.remember("same", b"x", line)
    assert seen.remember("same", b"x", 40) == Earlier(line=10, differs=False)


def test_every_id_survives_the_table_growing_many_times() -> None:
    seen = FirstSeen()
    count = 50_000
    for i in range(count):
        assert seen.remember(f"event-{i}", str(i).encode(), i + 1) is None
    assert len(seen) == count
    assert seen.slots * 2 >= count * 3  # never fuller than two thirds
    assert seen.slots < count * 3  # nor more than doubled past that
    for i in range(0, count, 997):
        assert seen.remember(f"event-{i}", str(i).encode(), 0) == Earlier(i + 1, False)


def test_fingerprints_are_stable_and_never_the_empty_mark() -> None:
    assert fingerprint(b"event-1") == fingerprint(b"event-1")
    assert fingerprint(b"event-1") != fingerprint(b"event-2")
    assert all(fingerprint(str(i).encode()) != 0 for i in range(10_000))
