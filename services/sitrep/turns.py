"""Giving the event loop back during a long batch.

A batch of events routed one after another, with a gazetteer lookup each, can run for a few
hundred milliseconds, seconds while the gazetteer's file is first read: meanwhile the worker's
consumer, its heartbeats and the flush would wait, and the API's requests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

TURN_S = 0.02
"""The longest a batch keeps the loop between two yields."""


class Turns:
    """Yields to the event loop once ``turn_s`` has passed since the last yield."""

    def __init__(self, turn_s: float = TURN_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.turn_s = turn_s
        self.clock = clock
        self.since = clock()

    async def turn(self) -> None:
        now = self.clock()
        if now - self.since >= self.turn_s:
            await asyncio.sleep(0)
            self.since = self.clock()
