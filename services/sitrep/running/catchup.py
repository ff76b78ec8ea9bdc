"""Waiting for the worker: its consumer group's committed offsets reach the end of the event
log and of the filed topic."""

from __future__ import annotations

import asyncio
import time

from sitrep.running.offsets import LogPositions


async def wait_until_caught_up(
    bootstrap: str, group: str, topics: list[str], *, within: float = 120.0
) -> float:
    """Seconds until ``group`` committed the ends of ``topics``; TimeoutError past ``within``."""
    began = time.monotonic()
    async with LogPositions(bootstrap) as positions:
        while not await positions.caught_up(group, topics):
            if time.monotonic() - began > within:
                raise TimeoutError(
                    f"the worker did not catch up with {', '.join(topics)} within {within:.0f} s"
                )
            await asyncio.sleep(0.5)
    return time.monotonic() - began
