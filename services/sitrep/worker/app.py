"""The composition root of `sitrep worker`: a faust app with two agents around the engine.

1. ``route`` reads the event log (keyed by subject event id) and hands each event to the
   engine's :class:`~sitrep.engine.routing.Router`, which drops ids already routed, holds
   denials and retractions until their event comes, and says which ledgers each report goes
   to; the reports leave on the filed topic, re-keyed by ledger. What cannot be processed goes
   to the dead-letter topic with the reason.
2. ``fold`` reads the filed topic and files each report with the engine's
   :class:`~sitrep.engine.folding.Folder`; a timer takes the view records of the entities
   changed, within a time budget, and publishes them.

Their state is in two stores on disk (:mod:`sitrep.worker.engine`), with the log positions it
reflects; a store's writes are committed only once the broker has acknowledged what they gave,
so after a restart the worker reads on from its stores, neither losing nor repeating anything.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sitrep import loopprobe
from sitrep.contract import InvalidEvent, parse_event
from sitrep.engine.folding import registry_from
from sitrep.engine.ownership import signed_by
from sitrep.engine.projection import held_place
from sitrep.engine.routing import Filing
from sitrep.faults import stop, stop_on_fault, stopping_on_fault
from sitrep.kafka import clients
from sitrep.memory import FREEZE_EVERY_S, Ageing
from sitrep.resolution.places import Gazetteer
from sitrep.settings import Settings
from sitrep.turns import Turns
from sitrep.worker.engine import WorkerEngine
from sitrep.worker.feeds import follow_topic
from sitrep.worker.partitions import FlushPacing, by_partition, partition_of
from sitrep.worker.records import ParsedEvents, bound_for, decode_filed, encode_filed
from sitrep.worker.recovery import recover_safely

log = logging.getLogger("sitrep.worker")
T = TypeVar("T")

FLUSH_EVERY_S = 0.025
"""How often changed entities are made and their view changes published."""
MAKE_BUDGET_S = 0.05
"""How long one flush may spend making views; what is left is made at the next flush."""
ROUTE_BATCH = 250
ROUTE_WITHIN_S = 0.02
"""The route agent takes up to ROUTE_BATCH events, or what came within ROUTE_WITHIN_S: a
batch is routed (giving the event loop back every ``turns.TURN_S``), and one filed record per
partition carries what it gave, filed in turn by the fold agent."""
SLOW_MAKE_S = 0.25
"""A make that takes longer is logged: the folder is held meanwhile, and events wait."""
PRESSED_FOR_S = 1.0
"""For how long after a full batch of events the log counts as having events queued."""


@dataclass
class Pressure:
    """When the route agent last took a full batch: events were queuing on the log."""

    full_at: float = -math.inf


def _problem(reason: str) -> list[tuple[str, bytes]]:
    return [("sitrep.reason", reason.encode())]


def faust_config(settings: Settings, datadir: Path) -> dict[str, Any]:
    """How Sitrep configures faust (the benchmark's bare faust app uses it too)."""
    bootstrap = settings.bootstrap_servers()
    signing_in = clients.faust_credentials()
    return {
        **({"broker_credentials": signing_in} if signing_in is not None else {}),
        "broker": [f"kafka://{server}" for server in bootstrap.split(",")],
        "store": "memory://",
        "topic_partitions": settings.events_partitions,
        "topic_replication_factor": settings.replication_factor,
        "topic_allow_declare": True,
        "producer_acks": -1,
        # What the worker sends (filed records, view records, dead letters) leaves in
        # batches gathered over 5 ms, of up to 512 KiB per partition: aiokafka keeps one
        # request in flight per broker, and 16 KiB batches (the default) made view records
        # queue behind each other, round trip after round trip.
        "producer_linger": 0.005,
        "producer_max_batch_size": 512 * 1024,
        "processing_guarantee": "at_least_once",
        "consumer_auto_offset_reset": "earliest",
        "web_enabled": False,
        "table_standby_replicas": 0,
        # Offsets are committed every second by faust's timer. Not also every N acks: faust
        # does that inside its fetch loop, after flushing the producer, and no record reaches
        # an agent meanwhile (views lagged by the round trip of everything being sent).
        "broker_commit_every": 1_000_000_000,
        "broker_commit_interval": 1.0,
        "stream_buffer_maxsize": 4096,
        # A worker that dies is noticed within 10 s, so its partitions move on quickly
        # (the default, 60 s, stalls every view that long after a crash).
        "broker_session_timeout": 10.0,
        "broker_heartbeat_interval": 3.0,
        "datadir": str(datadir),
        # Seek to the committed offsets before fetching again after a rebalance: see recovery.py.
        "TableManager": "sitrep.worker.recovery:SitrepTableManager",
        # Everything Sitrep puts on Kafka is bytes it encoded itself (orjson).
        "key_serializer": "raw",
        "value_serializer": "raw",
    }


def worker_dir(settings: Settings) -> Path:
    """Where this worker keeps what it keeps on disk (faust's data, the engine's stores)."""
    return (settings.state_dir / "faust" / settings.worker_id).resolve()


def worker_engine(settings: Settings, gazetteer: Gazetteer) -> WorkerEngine:
    """The engine over this worker's stores (opened at first use: `sitrep worker` opens them
    before faust starts, which is where a store it cannot read is reported)."""
    return WorkerEngine(
        worker_dir(settings) / "engine",
        gazetteer,
        settings.topics(),
        cache_mb=settings.worker_cache_mb,
    )


def create_app(settings: Settings, gazetteer: Gazetteer, engine: WorkerEngine | None = None) -> Any:
    """The faust app, its agents and the engine they drive (``engine``, or one over this
    worker's stores), built from explicit settings: nothing at import."""
    import faust  # faust inspects sys.argv when imported: only when a worker is built

    bootstrap = settings.bootstrap_servers()
    datadir = worker_dir(settings)
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(settings.worker_id, **faust_config(settings, datadir))
    names = settings.topics()
    partitions = settings.events_partitions
    engine = engine or worker_engine(settings, gazetteer)
    recover_safely(app, lambda tp: engine.position(tp.topic, tp.partition))
    raw = {
        "key_type": bytes,
        "value_type": bytes,
    }
    events = app.topic(names.events, **raw, internal=False)
    filed = app.topic(names.filed, **raw, internal=False)
    dead = app.topic(names.dead_letter, **raw, internal=False)
    validated = ParsedEvents()
    registry_ready = asyncio.Event()
    owned: set[int] = set()
    """The partitions of the filed topic this worker holds: it publishes their ledgers' views."""
    fold_acks: list[Any] = []
    """Dead letters the fold agent sent since the last flush (committed with its writes)."""

    async def dead_letter(event: Any, reason: str) -> Any:
        """Send ``event`` to the dead-letter topic; returns the send's acknowledgement."""
        message = event.message
        headers = [
            *_problem(reason),
            ("sitrep.source.topic", str(message.topic).encode()),
            ("sitrep.source.partition", str(message.partition).encode()),
            ("sitrep.source.offset", str(message.offset).encode()),
        ]
        log.warning(
            "dead-lettered %s/%s@%s: %s", message.topic, message.partition, message.offset, reason
        )
        try:
            return await dead.send(key=event.key, value=event.value, headers=headers, force=True)
        except Exception as exc:
            stop(f"cannot dead-letter {message.topic}/{message.partition}@{message.offset}", exc)

    async def route_one(event: Any, out: list[Filing], acks: list[Any]) -> None:
        """Route ``event``: its reports go to ``out``, a dead letter's ack to ``acks``."""
        try:
            parsed = parse_event(event.value)
        except InvalidEvent as exc:
            acks.append(await dead_letter(event, str(exc)))
            return
        try:
            out.extend(engine.router.route(parsed, signed_by(event.message.headers)))
        except ValueError as exc:
            acks.append(await dead_letter(event, f"cannot be filed: {exc}"))

    async def send_filed(out: list[Filing]) -> list[Any]:
        """One filed record per partition of the filed topic, for all the reports bound there."""
        grouped = by_partition(bound_for(out, validated), partitions)
        return [
            await filed.send(
                key=batch[0].ledger.encode(),
                value=encode_filed(batch),
                partition=partition,
                force=True,
            )
            for partition, batch in sorted(grouped.items())
        ]

    background: set[asyncio.Task[object]] = set()

    def in_background(work: Coroutine[Any, Any, object]) -> None:
        task = asyncio.create_task(work)
        background.add(task)
        task.add_done_callback(background.discard)

    async def acknowledge(stream: Any, batch: Sequence[Any], acks: Awaitable[object]) -> None:
        # Acknowledged to faust (which commits the group's offsets, what lag is measured by)
        # only once what the events gave is sent; where the worker reads on from after a
        # restart is its stores' business.
        await acks
        for event in batch:
            await stream.ack(event)

    async def route(stream: Any) -> None:
        # Events come in batches; their reports leave as one filed record per partition. The
        # store's writes for a batch are committed once the broker has acknowledged every
        # record it gave; meanwhile the next batch is routed, so the broker's round trip
        # does not hold the agent up.
        async for batch in stream.noack_take(ROUTE_BATCH, within=ROUTE_WITHIN_S):
            if len(batch) >= ROUTE_BATCH:
                pressure.full_at = time.monotonic()  # a full batch: more events queue
            out: list[Filing] = []
            acks: list[Any] = []
            turns = Turns()
            for event in batch:
                await turns.turn()
                message = event.message
                # Failure policy: nothing may crash the agent (faust would acknowledge the
                # event and move on); what cannot be routed is dead-lettered with the reason,
                # but for a fault (the broker, the store), which stops the worker.
                try:
                    await route_one(event, out, acks)
                except Exception as exc:
                    stop_on_fault(exc, f"{message.topic}/{message.partition}@{message.offset}")
                    log.exception("cannot route %s", message)
                    reason = f"processing failed: {type(exc).__name__}: {exc}"
                    acks.append(await dead_letter(event, reason))
                engine.took(message.topic, message.partition, message.offset)
            acks.extend(await sent_or_exit(send_filed(out), "what a batch of events gave"))
            sent = asyncio.ensure_future(
                sent_or_exit(asyncio.gather(*acks), "what a batch of events gave")
            )
            engine.route_log.after(sent)
            in_background(acknowledge(stream, batch, sent))

    async def fold(stream: Any) -> None:
        await registry_ready.wait()
        folder = engine.folder
        async for event in stream.events():
            message = event.message
            async with engine.folding:
                try:
                    turns = Turns()
                    for filing in decode_filed(event.value, validated):
                        await turns.turn()
                        folder.file(filing.ledger, filing.event, filing.place)
                except Exception as exc:  # the route agent's policy
                    stop_on_fault(exc, f"{message.topic}/{message.partition}@{message.offset}")
                    log.exception("cannot fold %s", message)
                    reason = f"cannot be folded: {type(exc).__name__}: {exc}"
                    fold_acks.append(await dead_letter(event, reason))
                engine.took(message.topic, message.partition, message.offset)

    async def publish(pending: dict[tuple[str, str], bytes | None]) -> list[Any]:
        """Hand the view records to the producer; their acknowledgements, to wait for.

        Straight to faust's producer: a view record needs none of what faust's topic
        machinery adds per message (serializers, callbacks, sensors)."""
        send = app.producer.send
        return [
            await send(topic, key.encode(), value, None, None, None)
            for (topic, key), value in sorted(pending.items(), key=lambda kv: kv[0])
        ]

    def settled() -> bool:
        """Not rebalancing, and recovered: the partitions held are known."""
        return not (
            app.rebalancing or app.in_recovery or not app.tables.recovery.completed.is_set()
        )

    pacing = FlushPacing()
    pressure = Pressure()

    async def flush() -> None:
        """Publish what changed in the views since the last flush, within ``MAKE_BUDGET_S``.

        The flush does not wait for the broker's acknowledgements (the next flush may go out
        meanwhile; one producer keeps each partition's records in order): the store commits
        what the flush wrote once they come. Should the broker refuse them, the worker exits
        and, restarted, makes those views again from its last commit."""
        if not (registry_ready.is_set() and settled() and pacing.due(time.monotonic())):
            return
        started = time.monotonic()
        mine = frozenset(owned)
        folder = engine.folder
        if folder.on_made is None:
            folder.on_made = lambda ledger, took: _note_make(folder.due, folder.left, ledger, took)
        with stopping_on_fault("making views"):
            async with engine.folding:
                # In a thread: one make can take far longer than the budget (a busy place's
                # first view is made from every report), and the loop must go on meanwhile
                # (the route agent, heartbeats, acknowledgements); what the folder holds is
                # left to the thread until it is done.
                pending = await asyncio.to_thread(
                    engine.folder.take_changes,
                    started,
                    MAKE_BUDGET_S,
                    lambda ledger: partition_of(ledger.encode(), partitions) in mine,
                )
        ended = time.monotonic()
        pacing.took(started, ended, pressed=ended - pressure.full_at < PRESSED_FOR_S)
        acks = [*await publish(pending), *fold_acks]
        fold_acks.clear()
        engine.fold_log.after(sent_or_exit(asyncio.gather(*acks), "view records"))

    async def on_registry(records: Sequence[Any]) -> None:
        if not records or records[-1].value is None:
            return
        record = bytes(records[-1].value)
        async with engine.folding:
            engine.folder.describe(registry_from(record), record)

    async def registry_feed() -> None:
        await follow_topic(bootstrap, names.registry, on_registry, ready=registry_ready)

    async def on_control(records: Sequence[Any]) -> None:
        folder = engine.folder
        async with engine.folding:
            for record in records:
                place_id = bytes(record.key).decode()
                held = held_place(record.value) if record.value is not None else None
                folder.hold(place_id, held)
            # Staged with the holdings, committed with them: a restart reads on from here.
            last = records[-1]
            engine.took(names.view_control, last.partition, last.offset)

    async def control_feed() -> None:
        await follow_topic(
            bootstrap,
            names.view_control,
            on_control,
            ready=asyncio.Event(),
            start=lambda partition: engine.position(names.view_control, partition) or 0,
        )

    async def on_assigned(sender: Any, assigned: Any, **kwargs: Any) -> None:
        owned.clear()
        owned.update(tp.partition for tp in assigned if tp.topic == names.filed)

    # Registered by call, not decorator: faust is untyped here (see pyproject's mypy section).
    app.agent(events, name="route")(route)
    app.agent(filed, name="fold")(fold)
    app.task(registry_feed)
    app.task(control_feed)
    app.task(loopprobe.watch)  # a no-op unless SITREP_LOOP_PROBE names a file
    app.timer(FLUSH_EVERY_S)(flush)
    logging.getLogger("mode.timers").addFilter(_flush_overlaps)
    ageing = Ageing()

    async def age() -> None:
        ageing.tick()

    app.timer(FREEZE_EVERY_S)(age)
    app.on_partitions_assigned.connect(on_assigned)
    return app


def _note_make(due: int, left: int, ledger: str, took: float) -> None:
    if took >= SLOW_MAKE_S:
        log.info(
            "made a view of %s in %.2f s (%d due, %d of them left by an earlier run)",
            ledger,
            took,
            due,
            left,
        )


def _flush_overlaps(record: logging.LogRecord) -> bool:
    """Drop mode's warning that the flush timer overlaps: a flush may make views for
    MAKE_BUDGET_S, twice its interval, by design (the next flush then waits its turn), and
    the warning at every busy flush would bury what the log is for."""
    overlapping = str(record.msg).startswith("Timer %s is overlapping")
    return not (overlapping and "flush" in str(record.args))


async def sent_or_exit(sending: Awaitable[T], what: str) -> T:
    """What ``sending`` gives, or an exit at once (EX_TEMPFAIL) if it fails: nothing the
    worker acknowledges may have been lost, and a restart replays or republishes it. A
    cancellation (the worker stopping) passes: the same restart covers it."""
    try:
        return await sending
    except asyncio.CancelledError:
        raise
    except BaseException as exc:
        stop(f"cannot send {what}", exc)
