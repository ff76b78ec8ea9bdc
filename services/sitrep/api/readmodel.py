"""The API's read model: the event log filed by the engine into a store, with how fresh it is.

A consumer without a group is assigned every partition of the log, so each API process holds
the whole situation and can answer for any moment. Records that break the contract are the
worker's dead letters: they are skipped here, and remembered with the reason so
``GET /v1/events/{id}`` can say what became of them.

Everything is kept in a :class:`~sitrep.engine.keyvalue.KeyValue` (RocksDB in ``sitrep api``,
:func:`open_read_model`), with the next offset of each partition beside it, written together
after each batch of records: a restarted API reads on from there, never the whole log again.
State, besides the engine's (:mod:`sitrep.engine.routing`, :mod:`sitrep.engine.folding`):

- ``event/<id>`` → the event as first read, where each copy of it is, who published it;
- ``rejected/<event id or partition@offset>/<partition>/<offset>`` → why a record was skipped;
- ``position/<partition>`` → the next offset to read;
- ``meta/<name>`` → counts, and the latest report time folded.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from sitrep.api.background import cancel
from sitrep.api.now import NowIndex
from sitrep.api.stored import CACHED_REPORTS, StoredSituation
from sitrep.contract import Event, InvalidEvent, decode_json, parse_event
from sitrep.contract.differences import differing_fields
from sitrep.contract.events import (
    ClaimDeniedEvent,
    EventRetractedEvent,
    StatementIssuedEvent,
    StrikeReportedEvent,
)
from sitrep.contract.values import Location
from sitrep.engine.entities import PLACE, is_place_ledger
from sitrep.engine.folding import Folder
from sitrep.engine.keyvalue import SEP, KeyValue, MemoryKeyValue, key
from sitrep.engine.ownership import PUBLISHER_HEADER, signed_by
from sitrep.engine.routing import Router
from sitrep.faults import stop_on_fault
from sitrep.kafka import clients
from sitrep.resolution.places import Gazetteer, Place
from sitrep.running.offsets import LogPositions
from sitrep.stores.rocks import RocksKeyValue
from sitrep.stores.slots import claim
from sitrep.supervision import Heartbeat, keep_running
from sitrep.topics import TopicNames
from sitrep.turns import Turns

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
"""The record header naming who published an event through the API (its token's name)."""
BATCH_RECORDS = 100
"""Records read and filed at a time: a batch is filed without yielding to the event loop
(about half a millisecond a record)."""
EVENT, REJECTED, POSITION, META = "event", "rejected", "position", "meta"


class StoreAheadOfLog(RuntimeError):
    """The read model's store has read further than the log holds."""


@dataclass(frozen=True)
class Freshness:
    """How fresh an answer is: the next offset folded per partition, how many records the
    log holds beyond them (None while the log cannot be reached: not known), and when the
    log last answered (None: not since the process started, or no log is read)."""

    position: dict[str, int]
    behind: int | None
    log_reached_at: datetime | None = None


@dataclass(frozen=True)
class Copy:
    """Where one record of an event sits on the log."""

    partition: int
    offset: int
    differs: tuple[str, ...] = ()
    """The fields in which a later record under the id differs from the first (a conflict:
    the first stands)."""


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
    """The situation filed from the log, its position on the log, and every event's record.

    ``kv`` holds it all (in memory unless given); ``commit`` makes what was written since
    the last call durable, with the positions it reflects."""

    def __init__(
        self,
        gazetteer: Gazetteer,
        kv: KeyValue | None = None,
        commit: Callable[[], None] | None = None,
        cached_reports: int = CACHED_REPORTS,
    ) -> None:
        self.kv: KeyValue = kv if kv is not None else MemoryKeyValue()
        self._commit = commit
        folder = Folder(self.kv, TopicNames(), makes_views=False)
        router = Router(self.kv, gazetteer)
        self.situation = StoredSituation(self.kv, folder, router, gazetteer, cached_reports)
        self._gazetteer = gazetteer
        self._folder = folder
        self.now = NowIndex(self.situation)
        """The control of every place now, made as the reports come."""
        self._positions: dict[int, int] = {}
        for found, value in self.kv.scan(key(POSITION, "")):
            self._positions[int(found.split(SEP)[1])] = int(value)
        self._ends: dict[int, int] = {}
        """The log's end offsets, once asked: until then it is not caught up."""
        self.folded = self._count("folded")
        """How many events have been folded (duplicates and rejected records not counted)."""
        self.rejected = self._count("rejected")
        """How many records were skipped as breaking the contract or failing to fold."""
        self.version = 0
        """How many times the situation changed: what was computed from it at one version
        holds until the next."""
        latest = self.kv.get(key(META, "latest_report"))
        self.latest_report: datetime | None = (
            datetime.fromisoformat(latest.decode()) if latest is not None else None
        )
        """The latest ``reported_at`` folded: asking from any later ``known_at`` sees all."""
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        """Whether the last attempt to read the log reached the broker."""
        self.reached_at: datetime | None = None
        """When the log last answered the reader."""
        self._reading = False
        """Whether a reader follows the log (else records are handed in: tests, benchmarks)."""
        self.on_close: Callable[[], None] | None = None

    def _count(self, name: str) -> int:
        found = self.kv.get(key(META, name))
        return 0 if found is None else int(found)

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
        record_key = key(EVENT, event.id)
        known = self.kv.get(record_key)
        if known is not None:
            record = orjson.loads(known)
            first = orjson.dumps(record["event"])
            differs = [] if first == value else differing_fields(parse_event(first), event)
            record["copies"].append([partition, offset, *([differs] if differs else [])])
            self.kv.put(record_key, orjson.dumps(record))
            return
        self.version += 1  # even a fold that fails may have filed part of the event
        if self.latest_report is None or event.reported_at > self.latest_report:
            self.latest_report = event.reported_at
        try:
            for filing in self.situation.router.route(event, signed_by(headers)):
                self._file(filing.ledger, filing.event, filing.place)
        except Exception as exc:  # the worker's policy: poison is noted, a fault stops
            stop_on_fault(exc, f"the record at {partition}@{offset}")
            log.exception("cannot fold %s", event.id)
            self._reject(Rejection(event.id, copy, f"cannot be folded: {exc}"))
            return
        # The first copy's publisher owns the event: later copies were dropped as duplicates.
        publisher = dict(headers).get(PUBLISHER_HEADER)
        self.kv.put(
            record_key,
            orjson.dumps(
                {
                    "event": orjson.Fragment(value),
                    "copies": [[partition, offset]],
                    "publisher": publisher.decode(errors="replace") if publisher else None,
                }
            ),
        )
        self.folded += 1

    def _file(self, ledger: str, event: Event, place: Place | None) -> None:
        new_place = (
            place is not None
            and is_place_ledger(ledger)
            and self.kv.get(key(PLACE, ledger, place.id)) is None
        )
        if self._folder.file(ledger, event, place):
            situation = self.situation
            if isinstance(event, StrikeReportedEvent):
                situation.note_strike(ledger, event)
            elif isinstance(event, StatementIssuedEvent):
                situation.note_statement(ledger, event)
            elif isinstance(event, ClaimDeniedEvent | EventRetractedEvent):
                situation.note_answer(ledger, event)
            self.now.filed(ledger, event, place, new_place)
        self.situation.ledgers.note(ledger)

    def _reject(self, rejection: Rejection) -> None:
        self.rejected += 1
        copy = rejection.copy
        about = rejection.event_id or f"{copy.partition}@{copy.offset}"
        self.kv.put(
            key(REJECTED, about, str(copy.partition), f"{copy.offset:020d}"),
            orjson.dumps({"event_id": rejection.event_id, "reason": rejection.reason}),
        )

    def commit(self) -> None:
        """Make what was filed so far durable, with the positions it reflects (written here,
        once a batch, not at every record)."""
        for partition, position in self._positions.items():
            self.kv.put(key(POSITION, str(partition)), str(position).encode())
        self.kv.put(key(META, "folded"), str(self.folded).encode())
        self.kv.put(key(META, "rejected"), str(self.rejected).encode())
        if self.latest_report is not None:
            self.kv.put(key(META, "latest_report"), self.latest_report.isoformat().encode())
        if self._commit is not None:
            self._commit()

    def _check_ahead(self, ends: Mapping[int, int]) -> None:
        """Refuse a log that ends before what the store has read: it was recreated under a
        state directory that outlived it. Never caught up then, the API is not ready, and
        says why at each attempt rather than answer from a store the log no longer backs."""
        for partition, end in sorted(ends.items()):
            position = self._positions.get(partition, 0)
            if position > end:
                raise StoreAheadOfLog(
                    f"this API's store has read partition {partition} of the log up to offset "
                    f"{position}, but the log ends at {end}: it was recreated. Delete the "
                    "API's state (its slot under SITREP_STATE_DIR/api) to read it afresh"
                )

    def note_ends(self, ends: Mapping[int, int]) -> None:
        """Record the log's end offsets (the next offset of each partition)."""
        for partition, end in ends.items():
            self._ends[partition] = max(self._ends.get(partition, 0), end)
            self._positions.setdefault(partition, 0)

    # --- what it holds ---------------------------------------------------------------------

    def behind(self) -> int:
        """Records the log held beyond what is folded, when last asked."""
        return sum(max(0, end - self._positions.get(p, 0)) for p, end in self._ends.items())

    @property
    def log_lost(self) -> bool:
        """Whether the log is followed but cannot be reached now: what it holds is unknown."""
        return self._reading and not self.connected

    def freshness(self) -> Freshness:
        position = {str(p): o for p, o in sorted(self._positions.items())}
        behind = None if self.log_lost else self.behind()
        return Freshness(position, behind, self.reached_at)

    @property
    def caught_up(self) -> bool:
        """Whether every record the log held when last asked has been folded."""
        return bool(self._ends) and self.behind() == 0

    def published(self, event_id: str) -> Published | None:
        found = self.kv.get(key(EVENT, event_id))
        if found is None:
            return None
        record = orjson.loads(found)
        copies = [Copy(p, o, tuple(rest[0]) if rest else ()) for p, o, *rest in record["copies"]]
        return Published(parse_event(record["event"]), copies)

    def publisher_of(self, event_id: str) -> str | None:
        """Whose token published the event through the API (None when published otherwise)."""
        found = self.kv.get(key(EVENT, event_id))
        publisher = None if found is None else orjson.loads(found)["publisher"]
        return publisher if isinstance(publisher, str) else None

    def rejections(self, event_id: str) -> tuple[Rejection, ...]:
        out = []
        for found, value in self.kv.scan(key(REJECTED, event_id, "")):
            _, _, partition, offset = found.split(SEP)
            record = orjson.loads(value)
            out.append(
                Rejection(record["event_id"], Copy(int(partition), int(offset)), record["reason"])
            )
        return tuple(out)

    # --- following the log -----------------------------------------------------------------

    async def start(self, bootstrap: str, topic: str) -> None:
        """Follow ``topic`` in the background until :meth:`stop`."""
        if self._task is None:
            self._reading = True
            self._task = asyncio.create_task(self._follow(bootstrap, topic), name="read-model")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None
        self.commit()
        if self.on_close is not None:
            self.on_close()
            self.on_close = None

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
        consumer = clients.consumer(
            bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
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
                    self._check_ahead({tp.partition: end for tp, end in ends.items()})
                    self.note_ends({tp.partition: end for tp, end in ends.items()})
                    self.connected, asked_ends = True, loop.time()
                    self.reached_at = datetime.now(UTC)
                async with asyncio.timeout(ASK_WITHIN_S):
                    batches = await consumer.getmany(timeout_ms=500, max_records=BATCH_RECORDS)
                if heartbeat.given_up:
                    return  # a successor reads the log now
                heartbeat.beat()
                self.reached_at = datetime.now(UTC)
                # The places a batch names are looked up first, off the loop: the first
                # lookup of a name reads the gazetteer's file, tens of milliseconds at times.
                await asyncio.to_thread(
                    look_up_places,
                    self._gazetteer,
                    [r.value for records in batches.values() for r in records],
                )
                turns = Turns()  # a batch read as a place is first looked up: seconds
                for records in batches.values():
                    for record in records:
                        await turns.turn()
                        self.apply(
                            record.partition, record.offset, record.value, record.headers or ()
                        )
                if batches:
                    self.commit()
                for tp in parts:
                    highwater = consumer.highwater(tp)
                    if highwater is not None:
                        self.note_ends({tp.partition: highwater})
                if batches or self.behind() == 0:
                    progressed = loop.time()
                elif loop.time() - progressed > ASK_WITHIN_S:
                    # Records wait on the log and none arrive: aiokafka's fetcher can stall
                    # after the broker came back. Start again.
                    raise TimeoutError("records are waiting on the log but none arrive")
        finally:
            await consumer.stop()


def look_up_places(gazetteer: Gazetteer, values: Sequence[bytes | None]) -> None:
    """Resolve the location each record names, so that ``gazetteer`` remembers it when the
    record is folded; a record that names none, or is no event, is left to the fold."""
    for value in values:
        try:
            location = orjson.loads(value or b"null")["location"]
            if location is not None:
                gazetteer.resolve(Location.model_validate(location))
        except Exception:
            continue


STORE_FORMAT = b"sitrep-readmodel-2"
"""What a read model's store holds (who wrote each event, since version 2); a store of
another format is dropped and the log read again."""
FORMAT_KEY = key(META, "format")


def open_read_model(
    root: Path, gazetteer: Gazetteer, cached_reports: int = CACHED_REPORTS
) -> ReadModel:
    """A read model kept in RocksDB in a slot of its own under ``root``
    (:mod:`sitrep.stores.slots`), reading on from where the last process there stopped."""
    slot, lock = claim(root)
    kv = RocksKeyValue(slot / "model")
    found = kv.get(FORMAT_KEY)
    if found != STORE_FORMAT:
        if found is not None or next(kv.scan(b""), None) is not None:
            # Derived state of another version of this code: made again from the log.
            log.warning("the read model in %s is of another format: read again from the log", slot)
            kv.close()
            shutil.rmtree(slot / "model")
            kv = RocksKeyValue(slot / "model")
        kv.put(FORMAT_KEY, STORE_FORMAT)
        kv.commit()
    model = ReadModel(gazetteer, kv, kv.commit, cached_reports)

    def close() -> None:
        kv.close()
        os.close(lock)

    model.on_close = close
    return model
