"""Following the view topics for the stream: one consumer per API process, fanned out.

The follower reads every partition of every view topic (no consumer group) from the end it
found when it started, and offers each change to the subscribers of the moment. A subscriber
holds a bounded backlog: one that falls behind by more is dropped (told so once, when it
gets to the end of what it has) instead of holding the others back.

A client that resumes from a position behind the follower is first brought up to the
follower by a consumer of its own, then subscribed at that point. One that asks for the
beginning gets each entity's current view once (the latest record of each key, a partition at
a time, read twice: once to find it, once to send it), a few such clients at a time, then the
changes since.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from sitrep.api.background import cancel
from sitrep.api.changes import Change, Position, RecentChanges, decode_change
from sitrep.kafka import clients
from sitrep.supervision import Heartbeat, keep_running
from sitrep.topics import TopicNames

log = logging.getLogger("sitrep.api.follower")

RETRY_AFTER_S = 1.0
"""How long to wait before reconnecting to an unreachable broker."""
STUCK_AFTER_S = 30.0
"""How long the reader may go without coming round its loop (every 0.5 s when all is well)
before it is replaced."""
BACKLOG = 1_000
"""How many changes a subscriber may fall behind by before it is dropped."""
BACKLOG_BYTES = 8 * 1024 * 1024
"""How many bytes of view records a subscriber may hold back before it is dropped (the
records are shared by every client that waits for them, so this is the most one slow client
can keep alive; the socket's own buffer adds the transport's 64 KiB)."""
RECENT = 500
RECENT_BYTES = 1024 * 1024
"""How many of the latest changes the follower keeps (and how many of their record bytes, at
most), so that a client joining, or coming back soon after, is sent what it missed from
memory, not from a consumer of its own: hundreds of clients connecting at once each opened
one."""
SNAPSHOTS_AT_ONCE = 4
"""How many clients are sent the views as they stand at once (each holds the keys of one
partition while it is sent: tens of thousands of keys at a million events)."""


class Unavailable(Exception):
    """The view topics cannot be read now."""


class Subscriber:
    """One client's backlog of changes, bounded in changes and in bytes; overflowing it
    drops the client."""

    def __init__(
        self,
        limit: int = BACKLOG,
        limit_bytes: int = BACKLOG_BYTES,
        on_drop: Callable[[], None] = lambda: None,
    ) -> None:
        self._backlog: deque[Change] = deque()
        self._limit = limit
        self._limit_bytes = limit_bytes
        self._bytes = 0
        self._wake = asyncio.Event()
        self._on_drop = on_drop
        self.dropped = False

    def offer(self, change: Change) -> None:
        if self.dropped:
            return
        if len(self._backlog) >= self._limit or self._bytes + change.size > self._limit_bytes:
            self.dropped = True
            self._on_drop()
        else:
            self._backlog.append(change)
            self._bytes += change.size
        self._wake.set()

    async def next(self, wait_s: float) -> Change | None:
        """The next change; ``None`` after ``wait_s`` seconds without one, or once dropped and
        drained (see :attr:`dropped`)."""
        while not self._backlog and not self.dropped:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), wait_s)
            except TimeoutError:
                return None
        if not self._backlog:
            return None
        change = self._backlog.popleft()
        self._bytes -= change.size
        return change


REPLAY_FETCH_BYTES = 256 * 1024
"""What one client's replay fetches at a time, across its partitions (aiokafka's default is
50 MB, a megabyte per partition): a replay goes at the pace its client reads anyway, and a
slow client holds what was fetched for it until it has read it."""


def _consumer(bootstrap: str, *topics: str, fetch_bytes: int | None = None) -> AIOKafkaConsumer:
    sizes = (
        {"fetch_max_bytes": fetch_bytes, "max_partition_fetch_bytes": fetch_bytes // 4}
        if fetch_bytes is not None
        else {}
    )
    return clients.consumer(
        bootstrap,
        *topics,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **sizes,
    )


class ViewFollower:
    """The view topics, followed live from where they ended when it started."""

    def __init__(self, bootstrap: str, names: TopicNames) -> None:
        self._bootstrap = bootstrap
        self.names = names
        self._topics = names.views()
        self._kinds = {topic: kind for kind, topic in self._topics.items()}
        self._subscribers: set[Subscriber] = set()
        self._position = Position()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._snapshots = asyncio.Semaphore(SNAPSHOTS_AT_ONCE)
        self._recent = RecentChanges(RECENT, RECENT_BYTES)

    @property
    def position(self) -> Position:
        """The next offset the follower will read, per partition."""
        return self._position

    async def started(self, within: float) -> Position:
        """Start following (once), and the position it has reached; :class:`Unavailable`
        when it cannot say within ``within`` seconds."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._follow(), name="view-follower")
        try:
            await asyncio.wait_for(self._ready.wait(), within)
        except TimeoutError as exc:
            raise Unavailable("the view topics cannot be read now") from exc
        return self._position

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.add(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def recent(self, since: Position) -> list[Change] | None:
        """The changes read after ``since``, from memory; None when some of them are older
        than what is kept."""
        return self._recent.since(since) if self._ready.is_set() else None

    def _fan_out(self, change: Change) -> None:
        self._position = self._position.after(change.slot, change.offset)
        self._recent.add(change)
        for subscriber in list(self._subscribers):
            subscriber.offer(change)
            if subscriber.dropped:
                self._subscribers.discard(subscriber)

    async def _follow(self) -> None:
        # Failure policy: an unreachable broker is retried forever, from where the follower
        # stood; a reader that aiokafka left stuck or cancelled is replaced; a record that is
        # not JSON is passed on as the entity gone (its key says which).
        await keep_running(
            self._read,
            name="view follower",
            log=log,
            stuck_after_s=STUCK_AFTER_S,
            retry_after_s=RETRY_AFTER_S,
        )

    async def _read(self, heartbeat: Heartbeat) -> None:
        consumer = _consumer(self._bootstrap, *self._topics.values())
        try:
            await consumer.start()
            # Without a group the assignment comes with the metadata: poll until it names a
            # partition of every view topic.
            while {tp.topic for tp in consumer.assignment()} != set(self._kinds):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            parts = sorted(consumer.assignment(), key=lambda tp: (tp.topic, tp.partition))
            ends = await consumer.end_offsets(parts)
            offsets = dict(self._position.offsets)
            for tp in parts:
                slot = (self._kinds[tp.topic], tp.partition)
                offsets.setdefault(slot, ends[tp])
                consumer.seek(tp, offsets[slot])
            self._position = Position(offsets)
            self._recent.begin(self._position)
            self._ready.set()
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                if heartbeat.given_up:
                    return  # a successor follows the topics now
                heartbeat.beat()
                for tp, records in batches.items():
                    kind = self._kinds[tp.topic]
                    for r in records:
                        self._fan_out(decode_change(kind, r.partition, r.offset, r.key, r.value))
        finally:
            await consumer.stop()

    async def current(self, until: Position) -> AsyncGenerator[Change, None]:
        """Each entity's view as it stands at ``until``: the latest record of each key of
        every view partition, tombstones left out (the entity is gone). One consumer reads
        every partition, one after the other, twice (which record of each key is the latest,
        then those records)."""
        async with self._snapshots:
            consumer = _consumer(self._bootstrap, fetch_bytes=REPLAY_FETCH_BYTES)
            try:
                await consumer.start()
                for slot, end in sorted(until.offsets.items()):
                    if end <= 0:
                        continue
                    tp = TopicPartition(self._topics[slot[0]], slot[1])
                    latest: dict[bytes | None, int] = {}
                    async with aclosing(_records_until(consumer, tp, end)) as first:
                        async for record in first:
                            latest[record.key] = record.offset
                    async with aclosing(_records_until(consumer, tp, end)) as again:
                        async for r in again:
                            if latest.get(r.key) == r.offset and r.value is not None:
                                yield decode_change(slot[0], slot[1], r.offset, r.key, r.value)
            except KafkaError as exc:
                raise Unavailable(f"cannot read the view topics: {exc}") from exc
            finally:
                await consumer.stop()

    async def replay(self, since: Position, until: Position) -> AsyncGenerator[Change, None]:
        """The changes from ``since`` until ``until`` is reached on every partition (offsets
        compacted away are passed over); the caller then compares with the follower again."""
        behind = [s for s, end in until.offsets.items() if since.next_offset(s) < end]
        if not behind:
            return
        consumer = _consumer(self._bootstrap, fetch_bytes=REPLAY_FETCH_BYTES)
        try:
            await consumer.start()
            parts = {TopicPartition(self._topics[kind], p): (kind, p) for kind, p in behind}
            consumer.assign(list(parts))
            for tp, slot in parts.items():
                consumer.seek(tp, since.next_offset(slot))
            reached = dict(since.offsets)
            while any(reached.get(s, 0) < until.offsets[s] for s in parts.values()):
                batches = await consumer.getmany(timeout_ms=200)
                for tp, records in batches.items():
                    for r in records:
                        yield decode_change(parts[tp][0], r.partition, r.offset, r.key, r.value)
                for tp, slot in parts.items():
                    reached[slot] = max(reached.get(slot, 0), await consumer.position(tp))
        except KafkaError as exc:
            raise Unavailable(f"cannot replay the view topics: {exc}") from exc
        finally:
            await consumer.stop()


async def _records_until(
    consumer: AIOKafkaConsumer, tp: TopicPartition, end: int
) -> AsyncGenerator[Any, None]:
    """The records of ``tp`` from its start up to ``end``, read by ``consumer`` (assigned
    that partition alone from now on)."""
    consumer.assign([tp])
    await consumer.seek_to_beginning(tp)
    while await consumer.position(tp) < end:
        for records in (await consumer.getmany(tp, timeout_ms=200)).values():
            for record in records:
                if record.offset < end:
                    yield record
