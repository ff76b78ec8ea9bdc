"""Topics every worker reads in full, whichever worker writes them: the actor registry, and
who holds which place (for the actors' view). The latter is read on from the position the
worker's store committed with the holdings it noted (a view topic at a million events holds
hundreds of thousands of records: read again at every restart, they kept new events waiting
for tens of seconds)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sitrep.kafka import clients

log = logging.getLogger("sitrep.worker.feeds")


async def follow_topic(
    bootstrap: str,
    topic: str,
    on_records: Callable[[Sequence[Any]], Awaitable[None]],
    *,
    ready: asyncio.Event,
    start: Callable[[int], int] | None = None,
) -> None:
    """Read ``topic`` from ``start(partition)`` (the start, without it), forever, in batches;
    ``ready`` is set once caught up with the ends found at first.

    A consumer without a group is assigned every partition: each worker sees it all.
    """
    consumer = clients.consumer(
        bootstrap, topic, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        while not consumer.assignment():  # noqa: ASYNC110 - aiokafka has nothing to await
            await asyncio.sleep(0.05)
        parts = list(consumer.assignment())
        await consumer.seek_to_beginning(*parts)
        if start is not None:
            for tp in parts:
                consumer.seek(tp, start(tp.partition))
        ends = await consumer.end_offsets(parts)
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                await on_records(records)
        ready.set()
        log.info("caught up with %s", topic)
        while True:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                await on_records(records)
    finally:
        ready.set()
        await consumer.stop()
