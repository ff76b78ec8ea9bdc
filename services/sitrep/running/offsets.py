"""Where the log ends and how far a consumer group has got, read as any Kafka client would."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from sitrep.kafka import clients
from sitrep.lifecycle import StartStop


class LogPositions(StartStop):
    """End offsets of topics and a group's committed offsets, over one consumer and one admin
    connection (open them with ``async with``)."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.consumer = clients.consumer(bootstrap, enable_auto_commit=False)
        self.admin = clients.admin(bootstrap)

    async def start(self) -> None:
        # Nothing is left open when the broker cannot be reached.
        try:
            await self.consumer.start()
        except BaseException:
            await self.consumer.stop()
            raise
        try:
            await self.admin.start()
        except BaseException:
            await self.consumer.stop()
            raise

    async def stop(self) -> None:
        await self.consumer.stop()
        await self.admin.close()

    async def partitions(self, topic: str) -> list[TopicPartition]:
        for _ in range(100):
            for described in await self.admin.describe_topics([topic]):
                if described["topic"] == topic and described["error_code"] == 0:
                    found = [
                        p.get("partition", p.get("partition_index"))
                        for p in described["partitions"]
                    ]
                    if found:
                        return [TopicPartition(topic, int(p)) for p in sorted(found)]
            await asyncio.sleep(0.05)
        raise RuntimeError(f"topic {topic} has no partitions")

    async def ends(self, topics: Iterable[str]) -> dict[TopicPartition, int]:
        parts = [tp for topic in topics for tp in await self.partitions(topic)]
        ends: dict[TopicPartition, int] = await self.consumer.end_offsets(parts)
        return ends

    async def total(self, topics: Iterable[str]) -> int:
        return sum((await self.ends(topics)).values())

    async def committed(self, group: str) -> dict[TopicPartition, int]:
        offsets = await self.admin.list_consumer_group_offsets(group)
        return {tp: meta.offset for tp, meta in offsets.items() if meta is not None}

    async def caught_up(self, group: str, topics: Iterable[str]) -> bool:
        """Whether ``group`` has committed the end of every non-empty partition of ``topics``."""
        ends = await self.ends(topics)
        try:
            committed = await self.committed(group)
        except KafkaError:  # on a new broker: no group coordinator yet, nothing committed
            return False
        return all(end == 0 or committed.get(tp, -1) >= end for tp, end in ends.items())
