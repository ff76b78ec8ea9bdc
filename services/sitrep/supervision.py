"""Keeping a background reader of Kafka alive, whatever aiokafka does on the way.

After a broker goes away and comes back, aiokafka can leak a cancellation out of its own
timeouts (the reader then ends *cancelled* although nobody asked it to stop) or leave a call
that never returns. :func:`keep_running` runs the reader in a task of its own and starts it
again after a failure, after such a stray cancellation, and when its heartbeat has been quiet
for too long (the stuck task is cancelled and, if it does not end soon, abandoned).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

from aiokafka.errors import KafkaError

GIVE_UP_AFTER_S = 5.0
"""How long a cancelled reader has to end before it is abandoned."""


class Heartbeat:
    """What a reader touches each time round its loop, to show that it is not stuck."""

    def __init__(self) -> None:
        self.last = time.monotonic()
        self.given_up = False
        """Set when the reader was found stuck and abandoned: should it ever wake up, it
        must not touch what its successor now owns."""

    def beat(self) -> None:
        self.last = time.monotonic()

    def quiet_for(self) -> float:
        return time.monotonic() - self.last


async def keep_running(
    read: Callable[[Heartbeat], Coroutine[Any, Any, None]],
    *,
    name: str,
    log: logging.Logger,
    stuck_after_s: float,
    retry_after_s: float,
    on_failure: Callable[[], None] = lambda: None,
) -> NoReturn:
    """Run ``read(heartbeat)`` again and again until cancelled; ``on_failure`` is called
    each time it ended, failed or was found stuck."""
    while True:
        heartbeat = Heartbeat()
        reader = asyncio.create_task(read(heartbeat), name=name)
        try:
            await _watch(reader, heartbeat, stuck_after_s, log)
        except asyncio.CancelledError:
            reader.cancel()
            await asyncio.wait({reader}, timeout=GIVE_UP_AFTER_S)
            raise
        on_failure()
        await asyncio.sleep(retry_after_s)


async def _watch(
    reader: asyncio.Task[None], heartbeat: Heartbeat, stuck_after_s: float, log: logging.Logger
) -> None:
    """Return once ``reader`` has ended (saying how) or has been given up as stuck."""
    name = reader.get_name()
    while True:
        done, _ = await asyncio.wait({reader}, timeout=min(1.0, stuck_after_s / 4))
        if done:
            if reader.cancelled():
                log.warning("%s was cancelled from within (a stray timeout); starting again", name)
            elif isinstance(exc := reader.exception(), KafkaError | TimeoutError | OSError):
                log.warning("%s cannot reach the broker: %r; starting again", name, exc)
            elif exc is not None:
                log.error("%s failed; starting again", name, exc_info=exc)
            else:
                log.warning("%s ended; starting again", name)
            return
        if heartbeat.quiet_for() > stuck_after_s:
            log.warning(
                "%s made no progress for %.0f s; starting a new one", name, heartbeat.quiet_for()
            )
            heartbeat.given_up = True
            reader.cancel()
            done, _ = await asyncio.wait({reader}, timeout=GIVE_UP_AFTER_S)
            if not done:
                log.warning("%s does not end when cancelled; abandoned", name)
            return
