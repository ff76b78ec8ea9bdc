"""The collector stays out of the way: survivors are frozen, cycles found in minutes."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from sitrep.memory import FULL_EVERY_S, Ageing


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


def test_cycles_among_frozen_objects_are_collected_by_the_full_collection(
    collections: list[int],
) -> None:
    now = [0.0]
    ageing = Ageing(clock=lambda: now[0])

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
