"""The topics every worker reads whole: each is read from where the worker's store says it
got to, so a restart does not read a long view topic again from its start."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from sitrep.worker.feeds import follow_topic
from tests.integration.local_kafka import TopicFactory


async def test_a_feed_reads_on_from_the_positions_it_is_given(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(partitions=2)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for n in range(10):
            await producer.send_and_wait(topic, str(n).encode(), partition=n % 2)
    finally:
        await producer.stop()
    read: list[tuple[int, int]] = []

    async def on_records(records: Sequence[Any]) -> None:
        read.extend((r.partition, r.offset) for r in records)

    ready = asyncio.Event()
    starts = {0: 3, 1: 5}  # partition 1 holds offsets 0-4: read through already
    feed = asyncio.create_task(
        follow_topic(kafka_bootstrap, topic, on_records, ready=ready, start=starts.__getitem__)
    )
    try:
        await asyncio.wait_for(ready.wait(), 30)
    finally:
        feed.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feed
    assert sorted(read) == [(0, 3), (0, 4)]
