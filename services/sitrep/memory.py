"""Keeping the garbage collector's pauses short in a process that holds every report in memory.

CPython's collector scans every tracked object of the oldest generation when it collects it,
and the worker (its ledgers) and the API (its read model) hold each report as pydantic models,
dicts and dataclasses: on a log of 2,000 events a full collection already held the worker up
for 90–130 ms, every few seconds, and each event routed meanwhile waited (`bench.processors`,
latency tail); 50,000 events take ≈ 0.7 s to walk.

:class:`Ageing` moves what outlived a young collection out of the collector's sight
(``gc.freeze``) every ``FREEZE_EVERY_S``, so the oldest generation stays small and its
collections short. Reference counting still frees what is not in a cycle; cycles among frozen
objects are found by a full collection every ``FULL_EVERY_S`` (one long pause in minutes, not
one every few seconds).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger("sitrep.memory")

FREEZE_EVERY_S = 1.0
FULL_EVERY_S = 600.0


class Ageing:
    """What a process calls every ``FREEZE_EVERY_S`` (the worker from a faust timer, the API
    from a task of its own once its read model caught up)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.full_at = clock() + FULL_EVERY_S

    def tick(self, *, full: bool = False) -> None:
        """Freeze what outlives a young collection (``full``, or when one is due: a full one)."""
        now = self.clock()
        if full or now >= self.full_at:
            self.full_at = now + FULL_EVERY_S
            gc.unfreeze()
            started = time.perf_counter()
            found = gc.collect()
            log.info(
                "full collection: %d unreachable in %.0f ms",
                found,
                (time.perf_counter() - started) * 1000,
            )
        else:
            gc.collect(1)
        gc.freeze()
