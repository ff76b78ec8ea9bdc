"""Reading a topic back, as any subscriber would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer


@asynccontextmanager
async def assigned(bootstrap: str, topic: str, within: float = 30.0) -> AsyncIterator[Any]:
    """A consumer without a group, assigned every partition of ``topic``."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        async with asyncio.timeout(within):
            # aiokafka offers nothing to await for an assignment without a group: poll.
            while not consumer.assignment():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        yield consumer
    finally:
        await consumer.stop()


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """The next offset of every partition of ``topic``."""
    async with assigned(bootstrap, topic) as consumer:
        ends = await consumer.end_offsets(list(consumer.assignment()))
    return {tp.partition: offset for tp, offset in ends.items()}


async def read_records(
    bootstrap: str, topic: str, since: dict[int, int] | None = None, within: float = 30.0
) -> list[Any]:
    """Every record now on ``topic`` (after the offsets ``since``, if given), in partition then
    offset order."""
    async with assigned(bootstrap, topic, within) as consumer:
        parts = list(consumer.assignment())
        for tp in parts:
            consumer.seek(tp, (since or {}).get(tp.partition, 0))
        ends = await consumer.end_offsets(parts)
        records: list[Any] = []
        async with asyncio.timeout(within):
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                for part in (await consumer.getmany(timeout_ms=300)).values():
                    records.extend(part)
    return sorted(records, key=lambda r: (r.partition, r.offset))


async def read_topic(bootstrap: str, topic: str, within: float = 30.0) -> list[Any]:
    """Every record now on ``topic``, in partition then offset order."""
    return await read_records(bootstrap, topic, within=within)


async def latest(
    bootstrap: str, topic: str, since: dict[int, int] | None = None
) -> dict[bytes, bytes | None]:
    """The latest value of every key on ``topic`` (written after ``since``): what compaction
    keeps."""
    return {r.key: r.value for r in await read_records(bootstrap, topic, since)}
