"""The API's read model: the event log folded into the pure core, with how fresh it is.

A consumer without a group is assigned every partition of the log and reads it from offset
zero, so each API process holds the whole situation and can answer for any moment. Records
that break the contract are the worker's dead letters: they are skipped here, and remembered
with the reason so ``GET /v1/events/{id}`` can say what became of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from aiokafka import AIOKafkaConsumer

from sitrep.api.background import cancel
from sitrep.contract import Event, InvalidEvent, decode_json, parse_event
from sitrep.engine.situation import Situation
from sitrep.resolution.places import Gazetteer
from sitrep.running.offsets import LogPositions
from sitrep.supervision import Heartbeat, keep_running

log = logging.getLogger("sitrep.api.readmodel")

RETRY_AFTER_S = 1.0
"""How long to wait before reconnecting to an unreachable broker."""
ENDS_EVERY_S = 5.0
"""How often the log's end offsets are asked for."""
ASK_WITHIN_S = 10.0
"""How long the broker has to answer that question before the follower reconnects."""
STUCK_AFTER_S = 3 * ASK_WITHIN_S
"""How long the reader may go without coming round its loop before it is replaced (each of
its waits is bounded by ``ASK_WITHIN_S``)."""
PUBLISHER_HEADER = "sitrep.publisher"
"""The record header naming who published an event through the API (its token's name)."""


@dataclass(frozen=True)
class Freshness:
    """How fresh an answer is: the next offset folded per partition, and how many records
    the log holds beyond them."""

    position: dict[str, int]
    behind: int


@dataclass(frozen=True)
class Copy:
    """Where one record of an event sits on the log."""

    partition: int
    offset: int


@dataclass
class Published:
    """An event on the log: the first copy was folded; later ones were duplicates."""

    event: Event
    copies: list[Copy] = field(default_factory=list)


@dataclass(frozen=True)
class Rejection:
    """A record that breaks the contract: skipped, with the reason."""

    event_id: str | None
    copy: Copy
    reason: str


def _raw_id(value: bytes) -> str | None:
    try:
        raw = decode_json(value)
    except InvalidEvent:
        return None
    found = raw.get("id") if isinstance(raw, dict) else None
    return found if isinstance(found, str) else None


class ReadModel:
    """The situation folded from the log, its position on the log, and every event's record."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.situation = Situation(gazetteer)
        self._positions: dict[int, int] = {}
        self._ends: dict[int, int] = {}
        self._published: dict[str, Published] = {}
        self._rejected: dict[str, list[Rejection]] = {}
        self._publishers: dict[str, str] = {}
        self.folded = 0
        """How many events have been folded (duplicates and rejected records not counted)."""
        self.rejected = 0
        """How many records were skipped as breaking the contract or failing to fold."""
        self.version = 0
        """How many times the situation changed: what was computed from it at one version
        holds until the next."""
        self.latest_report: datetime | None = None
        """The latest ``reported_at`` folded: asking from any later ``known_at`` sees all."""
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        """Whether the last attempt to read the log reached the broker."""

    # --- folding ---------------------------------------------------------------------------

    def apply(
        self,
        partition: int,
        offset: int,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """Fold one record of the log (at ``partition``/``offset``), with its headers."""
        copy = Copy(partition, offset)
        self._positions[partition] = max(self._positions.get(partition, 0), offset + 1)
        self._ends[partition] = max(self._ends.get(partition, 0), offset + 1)
        if value is None:
            self._reject(Rejection(None, copy, "an empty record is not an event"))
            return
        try:
            event = parse_event(value)
        except InvalidEvent as exc:
            self._reject(Rejection(exc.event_id or _raw_id(value), copy, str(exc)))
            return
        known = self._published.get(event.id)
        if known is not None:
            known.copies.append(copy)
            return
        self.version += 1  # even a fold that fails may have filed part of the event
        if self.latest_report is None or event.reported_at > self.latest_report:
            self.latest_report = event.reported_at
        try:
            self.situation.fold(event)
        except Exception as exc:  # the worker's policy too: dead-letter with the reason, go on
            log.exception("cannot fold %s", event.id)
            self._reject(Rejection(event.id, copy, f"cannot be folded: {exc}"))
            return
        self._published[event.id] = Published(event, [copy])
        self.folded += 1
        # The first copy's publisher owns the event: later copies were dropped as duplicates.
        publisher = dict(headers).get(PUBLISHER_HEADER)
        if publisher is not None:
            self._publishers[event.id] = publisher.decode(errors="replace")

    def _reject(self, rejection: Rejection) -> None:
        self.rejected += 1
        key = rejection.event_id or f"{rejection.copy.partition}@{rejection.copy.offset}"
        self._rejected.setdefault(key, []).append(rejection)

    def note_ends(self, ends: Mapping[int, int]) -> None:
        """Record the log's end offsets (the next offset of each partition)."""
        for partition, end in ends.items():
            self._ends[partition] = max(self._ends.get(partition, 0), end)
            self._positions.setdefault(partition, 0)

    # --- what it holds ---------------------------------------------------------------------

    def freshness(self) -> Freshness:
        behind = sum(max(0, end - self._positions.get(p, 0)) for p, end in self._ends.items())
        return Freshness({str(p): o for p, o in sorted(self._positions.items())}, behind)

    @property
    def caught_up(self) -> bool:
        """Whether every record the log held when last asked has been folded."""
        return bool(self._ends) and self.freshness().behind == 0

    def published(self, event_id: str) -> Published | None:
        return self._published.get(event_id)

    def publisher_of(self, event_id: str) -> str | None:
        """Whose token published the event through the API (None when published otherwise)."""
        return self._publishers.get(event_id)

    def rejections(self, event_id: str) -> tuple[Rejection, ...]:
        return tuple(self._rejected.get(event_id, ()))

    # --- following the log -----------------------------------------------------------------

    async def start(self, bootstrap: str, topic: str) -> None:
        """Follow ``topic`` in the background until :meth:`stop`."""
        if self._task is None:
            self._task = asyncio.create_task(self._follow(bootstrap, topic), name="read-model")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None

    async def _follow(self, bootstrap: str, topic: str) -> None:
        # Failure policy: a broker that cannot be reached is retried forever (the API keeps
        # answering from what it has, saying how far behind it is); bad records are skipped;
        # a reader that aiokafka left stuck or cancelled is replaced.
        def disconnected() -> None:
            self.connected = False

        await keep_running(
            lambda heartbeat: self._read(bootstrap, topic, heartbeat),
            name=f"reader of {topic}",
            log=log,
            stuck_after_s=STUCK_AFTER_S,
            retry_after_s=RETRY_AFTER_S,
            on_failure=disconnected,
        )

    async def _read(self, bootstrap: str, topic: str, heartbeat: Heartbeat) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
        )
        try:
            await consumer.start()
            # Every partition assigned by hand (no group, no subscription that a broker gone
            # away could empty), each from where the model has got to.
            async with asyncio.timeout(ASK_WITHIN_S), LogPositions(bootstrap) as log:
                parts = await log.partitions(topic)
            consumer.assign(parts)
            for tp in parts:
                consumer.seek(tp, self._positions.get(tp.partition, 0))
            loop = asyncio.get_running_loop()
            asked_ends = -ENDS_EVERY_S
            progressed = loop.time()
            while True:
                if loop.time() - asked_ends >= ENDS_EVERY_S:
                    # Asked of the broker, not taken from the fetcher, so that a fetcher which
                    # stopped fetching cannot hide how much waits on the log (the stall check
                    # below); a broker gone away makes this raise or time out.
                    async with asyncio.timeout(ASK_WITHIN_S):
                        ends = await consumer.end_offsets(parts)
                    self.note_ends({tp.partition: end for tp, end in ends.items()})
                    self.connected, asked_ends = True, loop.time()
                async with asyncio.timeout(ASK_WITHIN_S):
                    batches = await consumer.getmany(timeout_ms=500)
                if heartbeat.given_up:
                    return  # a successor reads the log now
                heartbeat.beat()
                for records in batches.values():
                    for record in records:
                        self.apply(
                            record.partition, record.offset, record.value, record.headers or ()
                        )
                for tp in parts:
                    highwater = consumer.highwater(tp)
                    if highwater is not None:
                        self.note_ends({tp.partition: highwater})
                if batches or self.freshness().behind == 0:
                    progressed = loop.time()
                elif loop.time() - progressed > ASK_WITHIN_S:
                    # Records wait on the log and none arrive: aiokafka's fetcher can stall
                    # after the broker came back. Start again.
                    raise TimeoutError("records are waiting on the log but none arrive")
        finally:
            await consumer.stop()
