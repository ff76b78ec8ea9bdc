"""Reading a topic back to the end, as any subscriber would."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer


async def read_topic(bootstrap: str, topic: str, within: float = 30.0) -> list[Any]:
    """Every record now on ``topic``, in partition then offset order."""
    # Without a group, a subscribing consumer is assigned every partition of the topic.
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        async with asyncio.timeout(within):
            # aiokafka offers nothing to await for an assignment without a group: poll.
            while not consumer.assignment():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            partitions = list(consumer.assignment())
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            records: list[Any] = []
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                batch = await consumer.getmany(timeout_ms=500)
                for part in batch.values():
                    records.extend(part)
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        await consumer.stop()
