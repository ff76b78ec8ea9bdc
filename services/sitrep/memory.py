"""Keeping the garbage collector's pauses short in a process that holds many objects for long.

CPython's collector scans every tracked object of the oldest generation when it collects it,
and the worker and the API keep up to tens of thousands of decoded reports (pydantic models,
dicts and dataclasses) in their caches besides their indexes: a full collection of a worker
at 100,000 events walked them for 3.3 s, while every event and flush waited.

:class:`Ageing` moves what outlived a young collection out of the collector's sight
(``gc.freeze``) every ``FREEZE_EVERY_S``, so the oldest generation stays small and its
collections short. Reference counting still frees what is not in a cycle (a report leaving a
cache, for one). Cycles among frozen objects are not collected unless ``full_every_s`` asks
for a full collection that often: the worker at 100,000 events had made 40 such objects in
ten minutes, a few kilobytes an hour, which a restart sheds; a pause of seconds it must not.
"""

from __future__ import annotations

import gc
import logging
import math
import time
from collections.abc import Callable

log = logging.getLogger("sitrep.memory")

FREEZE_EVERY_S = 0.1
"""The young collection before each freeze scans what was made since the last: folding 60,000
events, it took up to 23 ms every second, 9 ms every tenth of one, for the same CPU in all
(``python -m bench.folding --freeze-every``)."""
FULL_EVERY_S: float | None = None
"""Never, by default (see the module's docstring)."""


class Ageing:
    """What a process calls every ``FREEZE_EVERY_S`` (the worker from a faust timer, the API
    from a task of its own once its read model caught up)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        full_every_s: float | None = FULL_EVERY_S,
    ) -> None:
        self.clock = clock
        self.full_every_s = math.inf if full_every_s is None else full_every_s
        self.full_at = clock() + self.full_every_s

    def tick(self, *, full: bool = False, generation: int = 1) -> None:
        """Freeze what outlives a collection of the unfrozen objects up to ``generation`` (1:
        the young, enough when the last freeze was a tick ago; 2: all of them, after freezes
        were skipped and some of what was made since has aged); ``full``, or when one is due:
        a full one, the frozen objects too."""
        now = self.clock()
        if full or now >= self.full_at:
            self.full_at = now + self.full_every_s
            gc.unfreeze()
            started = time.perf_counter()
            found = gc.collect()
            log.info(
                "full collection: %d unreachable in %.0f ms",
                found,
                (time.perf_counter() - started) * 1000,
            )
        else:
            gc.collect(generation)
        gc.freeze()
