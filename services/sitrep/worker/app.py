"""The composition root of `sitrep worker`: a faust app with two agents.

1. ``route`` reads the event log (keyed by subject event id). It validates each record,
   drops ids already routed, works out the ledgers the event is filed in, and re-keys it onto
   the filed topic. What cannot be processed goes to the dead-letter topic with the reason.
   Its table ``routes`` (event id -> destinations) lives on the log's partitioning, so the
   route of an event is found on the partition where its denials and retractions arrive.
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
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson
from aiokafka.partitioner import DefaultPartitioner

from sitrep.contract import Event, InvalidEvent, parse_event
from sitrep.contract.events import ClaimDeniedEvent, EventRetractedEvent
from sitrep.resolution.actors import ActorRegistry
from sitrep.resolution.places import Gazetteer
from sitrep.settings import Settings
from sitrep.topics import TopicNames
from sitrep.views.actors import HeldPlace, registry_of
from sitrep.views.ledger import Filed, Ledger, evolve
from sitrep.views.routing import REGISTRY_KEY, Destination, destinations
from sitrep.worker.feeds import follow_topic
from sitrep.worker.projection import ViewRecords, changes, held_place, project
from sitrep.worker.records import decode_filed, decode_routes, encode_filed, encode_routes

log = logging.getLogger("sitrep.worker")

SEP = b"\x1f"
FLUSH_EVERY_S = 0.05
"""How often changed ledgers are projected and their view changes published."""


def _problem(reason: str) -> list[tuple[str, bytes]]:
    return [("sitrep.reason", reason.encode())]


class LedgerStore:
    """The fold agent's state: ledgers in memory, rows in the faust table, what was published."""

    def __init__(self, reports: Any, names: TopicNames, partitions: int) -> None:
        self.reports = reports
        self.names = names
        self.partitions = partitions
        self.owned: set[int] = set()
        """Partitions of the filed topic this worker holds now."""
        self.ledgers: dict[str, dict[str, Filed]] = {}
        """The reports of every ledger held, by ledger key then event id (grown in place: a
        copy per report would make folding quadratic in a ledger's size)."""
        self.published: dict[str, ViewRecords] = {}
        self.indexed = False
        self.registry = ActorRegistry()
        self.touched: set[str] = set()
        self.holders: dict[str, tuple[str, HeldPlace]] = {}
        """Who holds each place (actor id, place), as the control view topic says."""

    def forget(self, owned: set[int] | None = None) -> None:
        """After a rebalance the partitions held may differ: rebuild from the table lazily."""
        if owned is not None:
            self.owned = owned
        self.ledgers.clear()
        self.published.clear()
        self.indexed = False

    def _index(self) -> None:
        # The in-memory store keeps rows of partitions since revoked: index only those held,
        # or a stale copy of another worker's ledger would be published over its views.
        self.indexed = True
        for row_key, payload in self.reports.items():
            ledger_bytes = bytes(row_key).split(SEP, 1)[0]
            if partition_of(ledger_bytes, self.partitions) not in self.owned:
                continue
            ledger_key = ledger_bytes.decode()
            filed = decode_filed(payload)
            self.ledgers.setdefault(ledger_key, {}).setdefault(filed.event.id, filed)
            self.touched.add(ledger_key)

    def ledger(self, key: str) -> Ledger:
        """The ledger ``key`` as it stands: read it before the next report is filed."""
        if not self.indexed:
            self._index()
        return Ledger(key, self.ledgers.get(key, {}))

    def file(self, key: str, payload: bytes) -> bool:
        """Fold one filed record; False when its event was already in the ledger."""
        if not self.indexed:
            self._index()
        filed = decode_filed(payload)
        reports = self.ledgers.setdefault(key, {})
        if filed.event.id in reports:
            return False
        reports[filed.event.id] = filed
        self.reports[key.encode() + SEP + filed.event.id.encode()] = payload
        self.touched.add(key)
        return True

    def holdings(self) -> dict[str, list[HeldPlace]]:
        held: dict[str, list[HeldPlace]] = {}
        for actor_id, place in self.holders.values():
            held.setdefault(actor_id, []).append(place)
        return held

    def hold(self, place_id: str, holder: tuple[str, HeldPlace] | None) -> None:
        """Note who holds a place now; the actors' view is re-projected if that changed."""
        if self.holders.get(place_id) == holder:
            return
        if holder is None:
            self.holders.pop(place_id, None)
        else:
            self.holders[place_id] = holder
        if REGISTRY_KEY in self.ledgers:
            self.touched.add(REGISTRY_KEY)

    def touch_all(self) -> None:
        if not self.indexed:
            self._index()
        self.touched |= set(self.ledgers)

    def take_changes(self) -> dict[tuple[str, str], bytes | None]:
        """View records to publish for the ledgers changed since last asked."""
        if not self.indexed:
            self.touch_all()  # after a start or rebalance: republish all, converging the views
        pending: dict[tuple[str, str], bytes | None] = {}
        touched, self.touched = self.touched, set()
        for key in sorted(touched):
            held = self.holdings() if key == REGISTRY_KEY else None
            after = project(self.ledger(key), self.registry, self.names, held)
            pending.update(changes(self.published.get(key, {}), after))
            self.published[key] = after
        return pending


class FlushPacing:
    """When the next flush may run: projecting takes at most a fifth of the worker's time.

    Caught up, a flush is quick and runs every ``FLUSH_EVERY_S``. Behind, more reports reach
    each ledger between two flushes, so each projection covers more of them.
    """

    SHARE = 0.2

    def __init__(self) -> None:
        self.next_at = 0.0

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def took(self, started: float, ended: float) -> None:
        self.next_at = ended + (ended - started) * (1 - self.SHARE) / self.SHARE


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
        "processing_guarantee": "at_least_once",
        "consumer_auto_offset_reset": "earliest",
        "web_enabled": False,
        "table_standby_replicas": 0,
        "broker_commit_every": 1000,
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

    bootstrap = settings.bootstrap_servers()
    datadir = (settings.state_dir / "faust" / settings.worker_id).resolve()
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(settings.worker_id, **faust_config(settings, datadir))
    raw = {
        "key_type": bytes,
        "value_type": bytes,
    }
    names = settings.topics()
    events = app.topic(names.events, **raw, internal=False)
    filed = app.topic(names.filed, **raw, internal=False)
    dead = app.topic(names.dead_letter, **raw, internal=False)
    views = {name: app.topic(name, **raw, internal=False) for name in names.views().values()}
    views[names.registry] = app.topic(names.registry, **raw, internal=False)
    table_opts = {
        "partitions": settings.events_partitions,
        "key_type": bytes,
        "value_type": bytes,
    }
    routes = app.Table("routes", default=None, **table_opts)
    waiting = app.Table("waiting", default=None, **table_opts)
    store = LedgerStore(
        app.Table("reports", default=None, **table_opts), names, settings.events_partitions
    )
    registry_ready = asyncio.Event()

    async def dead_letter(event: Any, reason: str) -> Any:
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

    async def forward(
        event: Event, dests: Iterable[Destination], origin: tuple[int, int] | None = None
    ) -> None:
        # Attached to the event being processed: faust sends these before it commits the
        # event's offset, so a crash before then replays the event instead of losing it.
        for d in dests:
            await filed.send(key=d.key.encode(), value=encode_filed(event, d.place, origin))

    async def route_one(event: Any) -> None:
        try:
            parsed = parse_event(event.value)
        except InvalidEvent as exc:
            await dead_letter(event, str(exc))
            return
        key = parsed.id.encode()
        known = routes.get(key)
        if known is not None:
            # The same id again: sent where the first went, where the ledger drops it.
            await forward(parsed, decode_routes(known))
            return
        if isinstance(parsed, ClaimDeniedEvent | EventRetractedEvent):
            target_key = parsed.data.event_id.encode()
            target = routes.get(target_key)
            if target is None:
                held = orjson.loads(waiting.get(target_key) or b"[]")
                waiting[target_key] = orjson.dumps([*held, event.value.decode()])
                return
            dests = decode_routes(target)
        else:
            try:
                dests = destinations(parsed, gazetteer)
            except ValueError as exc:
                await dead_letter(event, f"cannot be filed: {exc}")
                return
        await forward(parsed, dests, (event.message.partition, event.message.offset))
        routes[key] = encode_routes(dests)
        held_back = waiting.get(key)
        if held_back is not None:
            for late_raw in orjson.loads(held_back):
                late = parse_event(late_raw)
                await forward(late, dests)
                routes[late.id.encode()] = encode_routes(dests)
            waiting[key] = None

    async def route(stream: Any) -> None:
        async for event in stream.events():
            # Failure policy: nothing may crash the agent (faust would acknowledge the event
            # and move on); what cannot be routed is dead-lettered with the reason.
            try:
                await route_one(event)
            except Exception as exc:
                log.exception("cannot route %s", event.message)
                await dead_letter(event, f"processing failed: {type(exc).__name__}: {exc}")

    async def publish(pending: dict[tuple[str, str], bytes | None]) -> None:
        acks = [
            await views[topic].send(key=key.encode(), value=value, force=True)
            for (topic, key), value in sorted(pending.items(), key=lambda kv: kv[0])
        ]
        await asyncio.gather(*acks)

    async def fold(stream: Any) -> None:
        await registry_ready.wait()
        async for event in stream.events():
            try:
                store.file(bytes(event.key).decode(), event.value)
            except Exception as exc:  # same policy as route: dead-letter, never crash
                log.exception("cannot fold %s", event.message)
                await dead_letter(event, f"cannot be folded: {type(exc).__name__}: {exc}")

    def settled() -> bool:
        """Not rebalancing, and the tables restored: the store may be read."""
        return not (
            app.rebalancing or app.in_recovery or not app.tables.recovery.completed.is_set()
        )

    pacing = FlushPacing()

    async def flush() -> None:
        """Publish what changed in the views since the last flush."""
        if settled() and pacing.due(time.monotonic()):
            started = time.monotonic()
            await publish(store.take_changes())
            pacing.took(started, time.monotonic())

    async def on_registry(records: Sequence[Any]) -> None:
        if not records or records[-1].value is None:
            return
        registry = registry_of(_ledger_of_descriptions(orjson.loads(records[-1].value)))
        if registry != store.registry:
            store.registry = registry
            if settled():
                store.touch_all()
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

    # Registered by call, not decorator: faust is untyped here (see pyproject's mypy section).
    app.agent(events, name="route")(route)
    app.agent(filed, name="fold")(fold)
    app.task(registry_feed)
    app.task(control_feed)
    app.timer(FLUSH_EVERY_S)(flush)
    app.on_partitions_assigned.connect(on_assigned)
    return app


_PARTITIONER = DefaultPartitioner()


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` (as the producer does)."""
    every = list(range(partitions))
    return int(_PARTITIONER(key, every, every))


def _ledger_of_descriptions(descriptions: list[Any]) -> Ledger:
    ledger = Ledger("registry")
    for raw in descriptions:
        event = parse_event(raw)
        ledger = evolve(ledger, event)
    return ledger
