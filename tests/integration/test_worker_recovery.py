"""After a rebalance the worker seeks every partition it was given back to where it must read
from, including partitions nobody has committed yet (see ``sitrep.worker.recovery``): records
faust dropped while its flow was stopped are then read again instead of skipped."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from sitrep.worker.recovery import StoreAheadOfLog, seek_to_committed_or_reset
from tests.integration.local_kafka import TopicFactory

pytestmark = pytest.mark.integration


@asynccontextmanager
async def _consumer_that_read_everything(
    bootstrap: str, topic: str, *, reset: str
) -> AsyncIterator[tuple[AIOKafkaConsumer, TopicPartition, TopicPartition]]:
    """Three records on each of ``topic``'s two partitions, all read by a consumer of a new
    group that then commits offset 2 of partition 0 only; stopped on the way out."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for partition in (0, 1):
            for n in range(3):
                await producer.send_and_wait(
                    topic, f"{partition}-{n}".encode(), partition=partition
                )
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"test-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset=reset,
    )
    first, second = TopicPartition(topic, 0), TopicPartition(topic, 1)
    await consumer.start()
    try:
        consumer.assign([first, second])
        await consumer.seek_to_beginning(first, second)
        read = 0
        while read < 6:
            batches = await consumer.getmany(timeout_ms=10_000)
            assert batches, f"read {read} of 6 records, then nothing"
            read += sum(len(records) for records in batches.values())
        await consumer.commit({first: OffsetAndMetadata(2, "")})
        yield consumer, first, second
    finally:
        await consumer.stop()


async def test_a_partition_nobody_committed_is_read_again_from_the_start(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(partitions=2)
    async with _consumer_that_read_everything(kafka_bootstrap, topic, reset="earliest") as read:
        consumer, first, second = read
        committed = await seek_to_committed_or_reset(consumer, "earliest", lambda tp: False)
        assert committed == {first: 2, second: None}
        assert await consumer.position(first) == 2
        assert await consumer.position(second) == 0
        again = await consumer.getmany(second, timeout_ms=10_000)
        assert [r.value for r in again[second]] == [b"1-0", b"1-1", b"1-2"]


async def test_aiokafka_alone_leaves_such_a_partition_past_what_was_dropped(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    """Why the worker needs its own seek: if aiokafka starts rewinding these partitions
    itself, this fails, and ``seek_to_committed_or_reset`` can go."""
    topic = topic_factory(partitions=2)
    async with _consumer_that_read_everything(kafka_bootstrap, topic, reset="earliest") as read:
        consumer, first, second = read
        await consumer.seek_to_committed()
        assert await consumer.position(first) == 2
        assert await consumer.position(second) == 3


async def test_latest_reset_and_changelogs_are_respected(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(partitions=2)
    async with _consumer_that_read_everything(kafka_bootstrap, topic, reset="latest") as read:
        consumer, first, second = read
        consumer.seek(second, 1)
        await seek_to_committed_or_reset(consumer, "latest", lambda tp: False)
        assert await consumer.position(second) == 3  # where a new consumer would start
        consumer.seek(second, 1)
        await seek_to_committed_or_reset(consumer, "earliest", lambda tp: tp == second)
        assert await consumer.position(second) == 1  # a changelog: faust positions it
        assert await consumer.position(first) == 2


async def test_the_position_a_store_reflects_wins_over_what_the_group_committed(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(partitions=2)
    async with _consumer_that_read_everything(kafka_bootstrap, topic, reset="earliest") as read:
        consumer, first, second = read
        stored = {first: 0, second: 1}  # a store that holds nothing of the first partition
        committed = await seek_to_committed_or_reset(
            consumer, "earliest", lambda tp: False, stored.get
        )
        assert committed == {first: None, second: 1}
        assert await consumer.position(first) == 0  # read again from the start: group's 2
        assert await consumer.position(second) == 1
        # The group is told where the store has read further than it committed.
        assert await consumer.committed(second) == 1
        assert await consumer.committed(first) == 2


async def test_a_store_further_on_than_the_log_is_refused_not_read_on(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    """The log was recreated under a state directory that outlived it: reading on from the
    store would drop every event as one routed already."""
    topic = topic_factory(partitions=2)
    async with _consumer_that_read_everything(kafka_bootstrap, topic, reset="earliest") as read:
        consumer, first, second = read
        stored = {first: 2, second: 40}  # the log holds 3 records on each
        with pytest.raises(StoreAheadOfLog, match="SITREP_WORKER_ID"):
            await seek_to_committed_or_reset(consumer, "earliest", lambda tp: False, stored.get)
