"""Every worker follows the shared actor registry, whichever worker maintains it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

log = logging.getLogger("sitrep.worker.registry")


async def follow_registry(
    bootstrap: str,
    topic: str,
    on_change: Callable[[list[Any]], Awaitable[None]],
    *,
    ready: asyncio.Event,
) -> None:
    """Read the registry topic from the start, forever; ``ready`` is set once caught up.

    A plain consumer without a group: every worker reads the single partition in full.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        latest: bytes | None = None
        while await consumer.position(partition) < end:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    latest = record.value
        if latest is not None:
            await on_change(orjson.loads(latest))
        ready.set()
        log.info("registry loaded (%s descriptions)", len(orjson.loads(latest)) if latest else 0)
        async for record in consumer:
            if record.value is not None:
                await on_change(orjson.loads(record.value))
    finally:
        ready.set()
        await consumer.stop()
