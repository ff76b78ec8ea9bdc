"""The collector stays out of the way: survivors are frozen, cycles found only if asked."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from sitrep.memory import Ageing

FULL_EVERY_S = 600.0


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generations collected while the test runs; everything unfrozen after it."""
    seen: list[int] = []

    def note(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop":
            seen.append(info["generation"])

    gc.callbacks.append(note)
    try:
        yield seen
    finally:
        gc.callbacks.remove(note)
        gc.unfreeze()


def test_a_tick_freezes_the_survivors_and_collects_only_the_young(
    collections: list[int],
) -> None:
    now = [0.0]
    ageing = Ageing(clock=lambda: now[0])
    kept = [{"report": i} for i in range(1000)]
    ageing.tick()
    assert gc.get_freeze_count() >= len(kept)
    assert collections
    assert max(collections) <= 1


def test_cycles_among_frozen_objects_are_collected_by_a_full_collection_when_asked(
    collections: list[int],
) -> None:
    now = [0.0]
    ageing = Ageing(clock=lambda: now[0], full_every_s=FULL_EVERY_S)

    class Node:
        other: Any = None

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: reference counting alone never frees it
    ageing.tick()
    del a, b
    now[0] = FULL_EVERY_S / 2
    ageing.tick()
    assert 2 not in collections
    now[0] = FULL_EVERY_S + 1
    ageing.tick()
    assert 2 in collections
    gc.unfreeze()
    assert not any(type(o) is Node for o in gc.get_objects())


def test_no_full_collection_by_default_however_long_the_process_runs(
    collections: list[int],
) -> None:
    now = [0.0]
    ageing = Ageing(clock=lambda: now[0])
    for hour in range(1, 49):
        now[0] = hour * 3600.0
        ageing.tick()
    assert collections
    assert 2 not in collections
