"""The composition root of `sitrep worker`: a faust app with two agents.

1. ``route`` reads the event log (keyed by subject event id). It validates each record,
   drops ids already routed, works out the ledgers the event is filed in, and re-keys it onto
   the filed topic. What cannot be processed goes to the dead-letter topic with the reason.
   Where each event went, and the answers waiting for their event, are kept by a
   :class:`~sitrep.worker.routebook.RouteBook` (table ``routes``, one row per batch and log
   partition) on the log's partitioning, so the route of an event is found on the partition
   where its denials and retractions arrive.
2. ``fold`` reads the filed topic (keyed by ledger) and folds each record into its ledger with
   the pure :func:`sitrep.views.ledger.evolve`, then publishes what changed in the views.
   Its table ``reports`` holds one row per filed report, on the ledger's partition.

Delivery is at-least-once: a record is sent on, and acknowledged by the broker, before the
state that says it was handled is written; a redelivered event finds its id already filed and
changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import weakref
from collections.abc import Awaitable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from sitrep import loopprobe
from sitrep.contract import InvalidEvent, parse_event
from sitrep.contract.events import ClaimDeniedEvent, EventRetractedEvent
from sitrep.engine.folding import registry_from
from sitrep.engine.projection import held_place
from sitrep.engine.routing import decode_routes, encode_routes
from sitrep.memory import FREEZE_EVERY_S, Ageing
from sitrep.resolution.places import Gazetteer
from sitrep.settings import Settings
from sitrep.views.routing import destinations
from sitrep.worker.feeds import follow_topic
from sitrep.worker.heldrows import IncompatibleState
from sitrep.worker.records import (
    Bound,
    ParsedEvents,
    bound_for,
    encode_filed,
)
from sitrep.worker.recovery import recover_safely
from sitrep.worker.routebook import RouteBook
from sitrep.worker.store import FlushPacing, LedgerStore, by_partition

log = logging.getLogger("sitrep.worker")
T = TypeVar("T")

FLUSH_EVERY_S = 0.025
"""How often changed ledgers are projected and their view changes published."""
ROUTE_BATCH = 2000
ROUTE_WITHIN_S = 0.02
"""The route agent takes up to ROUTE_BATCH events, or what came within ROUTE_WITHIN_S."""
EXIT_UNSENT = 75
"""The worker's exit status when it could not send what it routed (EX_TEMPFAIL)."""
EXIT_INCOMPATIBLE = 78
"""The worker's exit status when its table holds state it cannot read (EX_CONFIG)."""


@contextmanager
def handling(current: ContextVar[Any], event: Any) -> Iterator[None]:
    """Make ``event`` faust's current event (``current`` is faust's context variable for it)
    while it is handled inside a batch, so the table rows it writes go to its own partition's
    changelog: faust takes the partition from the current event."""
    token = current.set(weakref.ref(event))
    try:
        yield
    finally:
        current.reset(token)


def _problem(reason: str) -> list[tuple[str, bytes]]:
    return [("sitrep.reason", reason.encode())]


def faust_config(settings: Settings, datadir: Path) -> dict[str, Any]:
    """How Sitrep configures faust (the benchmark's bare faust app uses it too)."""
    bootstrap = settings.bootstrap_servers()
    return {
        "broker": [f"kafka://{server}" for server in bootstrap.split(",")],
        "store": "memory://",
        "topic_partitions": settings.events_partitions,
        "topic_replication_factor": settings.replication_factor,
        "topic_allow_declare": True,
        "producer_acks": -1,
        # What the worker sends (filed records, view records, table changelogs) leaves in
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


def create_app(settings: Settings, gazetteer: Gazetteer) -> Any:
    """The faust app, its tables and agents, built from explicit settings (nothing at import)."""
    import faust  # faust inspects sys.argv when imported: only when a worker is built
    from faust.streams import _current_event as current_event  # see handling()

    bootstrap = settings.bootstrap_servers()
    datadir = (settings.state_dir / "faust" / settings.worker_id).resolve()
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(settings.worker_id, **faust_config(settings, datadir))
    recover_safely(app)
    raw = {
        "key_type": bytes,
        "value_type": bytes,
    }
    names = settings.topics()
    events = app.topic(names.events, **raw, internal=False)
    filed = app.topic(names.filed, **raw, internal=False)
    dead = app.topic(names.dead_letter, **raw, internal=False)
    table_opts = {
        "partitions": settings.events_partitions,
        "key_type": bytes,
        "value_type": bytes,
    }
    book = RouteBook(app.Table("routes", default=None, **table_opts))
    validated = ParsedEvents()
    store = LedgerStore(app.Table("reports", default=None, **table_opts), names, validated)
    registry_ready = asyncio.Event()

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
        return await dead.send(key=event.key, value=event.value, headers=headers, force=True)

    async def route_one(event: Any, out: list[Bound], acks: list[Any]) -> None:
        """Work out where ``event`` is filed; what to send goes to ``out`` (or ``acks``)."""
        try:
            parsed = parse_event(event.value)
        except InvalidEvent as exc:
            acks.append(await dead_letter(event, str(exc)))
            return
        known = book.route(parsed.id)
        if known is not None:
            # The same id again: sent where the first went, where the ledger drops it.
            out.extend(bound_for(parsed, decode_routes(known)))
            return
        partition, offset = event.message.partition, event.message.offset
        if isinstance(parsed, ClaimDeniedEvent | EventRetractedEvent):
            target = book.route(parsed.data.event_id)
            if target is None:
                book.wait(partition, offset, parsed.data.event_id, event.value.decode())
                return
            dests = decode_routes(target)
        else:
            try:
                dests = destinations(parsed, gazetteer)
            except ValueError as exc:
                acks.append(await dead_letter(event, f"cannot be filed: {exc}"))
                return
        out.extend(bound_for(parsed, dests, (partition, offset), validated))
        encoded = encode_routes(dests)
        book.routed(partition, offset, parsed.id, encoded)
        held_back = book.held(parsed.id)
        if held_back:
            for late_raw in held_back:
                late = parse_event(late_raw)
                out.extend(bound_for(late, dests, None, validated))
                book.routed(partition, offset, late.id, encoded)
            book.release(partition, offset, parsed.id)

    async def send_filed(out: list[Bound]) -> list[Any]:
        """One filed record per partition of the filed topic, for all the reports bound there."""
        return [
            await filed.send(
                key=batch[0].ledger.encode(),
                value=encode_filed(batch),
                partition=partition,
                force=True,
            )
            for partition, batch in sorted(by_partition(out, settings.events_partitions).items())
        ]

    background: set[asyncio.Task[object]] = set()

    def in_background(work: Coroutine[Any, Any, object]) -> None:
        task = asyncio.create_task(work)
        background.add(task)
        task.add_done_callback(background.discard)

    async def acknowledge(stream: Any, batch: Sequence[Any], acks: list[Any]) -> None:
        # The batch's events must not be acknowledged before what they gave was sent: faust
        # would commit them, and it would be lost.
        await sent_or_exit(asyncio.gather(*acks), "what a batch of events gave")
        for event in batch:
            await stream.ack(event)

    async def route(stream: Any) -> None:
        # Events come in batches; their reports leave as one filed record per partition. A
        # batch's events are acknowledged to faust (which then commits their offsets) only once
        # the broker has acknowledged every record they gave; meanwhile the next batch is
        # routed, so the broker's round trip does not hold the agent up.
        async for batch in stream.noack_take(ROUTE_BATCH, within=ROUTE_WITHIN_S):
            out: list[Bound] = []
            acks: list[Any] = []
            for event in batch:
                # Failure policy: nothing may crash the agent (faust would acknowledge the
                # event and move on); what cannot be routed is dead-lettered with the reason.
                with handling(current_event, event):
                    try:
                        await route_one(event, out, acks)
                    except IncompatibleState as exc:
                        stop_for(exc)
                    except Exception as exc:
                        log.exception("cannot route %s", event.message)
                        reason = f"processing failed: {type(exc).__name__}: {exc}"
                        acks.append(await dead_letter(event, reason))
            acks.extend(await sent_or_exit(send_filed(out), "what a batch of events gave"))
            # What routing did, as one row per log partition: faust writes a row to the
            # changelog partition of the event being handled, so one of that partition's.
            of_partition = {event.message.partition: event for event in batch}
            for partition, row_key, row in book.rows():
                with handling(current_event, of_partition[partition]):
                    book.table[row_key] = row
            in_background(acknowledge(stream, batch, acks))

    async def fold(stream: Any) -> None:
        await registry_ready.wait()
        async for event in stream.events():
            try:
                store.file(event.message.partition, event.message.offset, event.value)
            except IncompatibleState as exc:
                stop_for(exc)
            except Exception as exc:  # same policy as route: dead-letter, never crash
                log.exception("cannot fold %s", event.message)
                await dead_letter(event, f"cannot be folded: {type(exc).__name__}: {exc}")

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
        """Not rebalancing, and the tables restored: the store may be read."""
        return not (
            app.rebalancing or app.in_recovery or not app.tables.recovery.completed.is_set()
        )

    pacing = FlushPacing()

    async def flush() -> None:
        """Publish what changed in the views since the last flush.

        The flush does not wait for the broker's acknowledgements (the next flush may go out
        meanwhile; one producer keeps each partition's records in order): waiting made the
        views lag by as long as a round trip of the busiest flush. Should the broker refuse
        them, the worker exits and, restarted, publishes every view again."""
        if settled() and pacing.due(time.monotonic()):
            started = time.monotonic()
            try:
                pending = store.take_changes(started)
            except IncompatibleState as exc:
                stop_for(exc)
            pacing.took(started, time.monotonic())
            if pending:
                acks = await publish(pending)
                in_background(sent_or_exit(asyncio.gather(*acks), "view records"))

    async def on_registry(records: Sequence[Any]) -> None:
        if not records or records[-1].value is None:
            return
        registry = registry_from(bytes(records[-1].value))
        if registry != store.registry:
            store.registry = registry
            if settled():
                try:
                    store.touch_all()
                except IncompatibleState as exc:
                    stop_for(exc)
            else:
                store.forget()  # re-indexed, and every ledger re-projected, once settled

    async def registry_feed() -> None:
        await follow_topic(bootstrap, names.registry, on_registry, ready=registry_ready)

    async def on_control(records: Sequence[Any]) -> None:
        for record in records:
            place_id = bytes(record.key).decode()
            store.hold(place_id, held_place(record.value) if record.value is not None else None)

    async def control_feed() -> None:
        await follow_topic(bootstrap, names.view_control, on_control, ready=asyncio.Event())

    async def on_assigned(sender: Any, assigned: Any, **kwargs: Any) -> None:
        store.forget({tp.partition for tp in assigned if tp.topic == names.filed})
        book.forget({tp.partition for tp in assigned if tp.topic == names.events})

    # Registered by call, not decorator: faust is untyped here (see pyproject's mypy section).
    app.agent(events, name="route")(route)
    app.agent(filed, name="fold")(fold)
    app.task(registry_feed)
    app.task(control_feed)
    app.task(loopprobe.watch)  # a no-op unless SITREP_LOOP_PROBE names a file
    app.timer(FLUSH_EVERY_S)(flush)
    ageing = Ageing()

    async def age() -> None:
        ageing.tick()

    app.timer(FREEZE_EVERY_S)(age)
    app.on_partitions_assigned.connect(on_assigned)
    return app


async def sent_or_exit(sending: Awaitable[T], what: str) -> T:
    """What ``sending`` gives, or an exit at once (EX_TEMPFAIL) if it fails: nothing the
    worker acknowledges may have been lost, and a restart replays or republishes it. A
    cancellation (the worker stopping) passes: the same restart covers it."""
    try:
        return await sending
    except asyncio.CancelledError:
        raise
    except BaseException:
        log.critical("cannot send %s; exiting", what, exc_info=True)
        os._exit(EXIT_UNSENT)


def stop_for(exc: IncompatibleState) -> NoReturn:
    """Exit at once: the state cannot be read, and going on would publish wrong views."""
    log.critical("%s", exc)
    os._exit(EXIT_INCOMPATIBLE)
