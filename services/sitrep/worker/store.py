"""The fold agent's state: every ledger of the partitions held, and what was published.

The faust table ``reports`` holds the filed records folded, one row per record, keyed
``<partition>:<offset>`` of the filed topic; the ledgers in memory are rebuilt from it after a
start or a rebalance.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka.partitioner import DefaultPartitioner

from sitrep.engine.folding import ACTORS_EVERY_S, MAX_SPACING_S, SPACING
from sitrep.engine.projection import Cache, EntityIndex, ViewRecords, changes, project
from sitrep.resolution.actors import ActorRegistry
from sitrep.topics import TopicNames
from sitrep.views.actors import HeldPlace
from sitrep.views.ledger import Filed, Ledger, Memo
from sitrep.views.routing import REGISTRY_KEY
from sitrep.worker.heldrows import HeldRows, written_by_older_sitrep
from sitrep.worker.records import Bound, ParsedEvents, decode_filed


@dataclass
class Kept:
    """What the store keeps of one ledger between flushes to make its views again cheaply."""

    memo: Memo = field(default_factory=dict)
    """What its views made of each report (see :data:`Memo`)."""
    index: EntityIndex = field(default_factory=EntityIndex)
    """A place ledger's entities and their reports (see :class:`EntityIndex`)."""
    due: float = -math.inf
    """When it may be made again (``now``'s clock; see ``SPACING``)."""


class LedgerStore(HeldRows):
    """The fold agent's state: ledgers in memory, rows in the faust table, what was published."""

    def __init__(
        self,
        reports: Any,
        names: TopicNames,
        parsed: ParsedEvents | None = None,
        timer: Callable[[], float] = time.perf_counter,
        on_made: Callable[[str, float], None] | None = None,
    ) -> None:
        super().__init__()
        self.reports = reports
        self.names = names
        self.parsed = parsed
        """Events the route agent of this process validated (not validated again)."""
        self.ledgers: dict[str, dict[str, Filed]] = {}
        """The reports of every ledger held, by ledger key then event id (grown in place: a
        copy per report would make folding quadratic in a ledger's size)."""
        self.published: dict[str, ViewRecords] = {}
        self.made: Cache = {}
        """View records already made, and from what: only what a report changed is remade."""
        self.registry = ActorRegistry()
        self.touched: set[str] = set()
        self.holders: dict[str, tuple[str, HeldPlace]] = {}
        """Who holds each place (actor id, place), as the control view topic says."""
        self.holders_moved = False
        """A place changed hands since the actors' view was last made."""
        self.actors_made_at = -math.inf
        self.timer = timer
        self.on_made = on_made
        """Told of each ledger made and the seconds it took (the projection benchmark)."""
        self.kept: dict[str, Kept] = {}

    def _clear(self) -> None:
        self.ledgers.clear()
        self.published.clear()
        self.kept.clear()
        self.made.clear()

    def _index(self) -> None:
        # The in-memory store keeps rows of partitions since revoked: index only those held,
        # or a stale copy of another worker's ledger would be published over its views.
        for row_key, payload in self.reports.items():
            partition, _, offset = bytes(row_key).partition(b":")
            if not (partition.isdigit() and offset.isdigit()):
                raise written_by_older_sitrep("reports", bytes(row_key))
            if int(partition) not in self.owned:
                continue
            for ledger_key, filed in decode_filed(payload):
                self.ledgers.setdefault(ledger_key, {}).setdefault(filed.event.id, filed)
                self.touched.add(ledger_key)

    def ledger(self, key: str) -> Ledger:
        """The ledger ``key`` as it stands: read it before the next report is filed."""
        self._ready()
        return Ledger(key, self.ledgers.get(key, {}))

    def file(self, partition: int, offset: int, payload: bytes) -> int:
        """Fold the reports of one filed record (at ``partition``/``offset`` of the filed
        topic); returns how many were new to their ledgers. The record becomes one table row,
        unless nothing in it was new."""
        self._ready()
        new = 0
        for key, filed in decode_filed(payload, self.parsed):
            reports = self.ledgers.setdefault(key, {})
            if filed.event.id not in reports:
                reports[filed.event.id] = filed
                self.touched.add(key)
                new += 1
        if new:
            self.reports[f"{partition}:{offset}".encode()] = payload
        return new

    def holdings(self) -> dict[str, list[HeldPlace]]:
        held: dict[str, list[HeldPlace]] = {}
        for actor_id, place in self.holders.values():
            held.setdefault(actor_id, []).append(place)
        return held

    def hold(self, place_id: str, holder: tuple[str, HeldPlace] | None) -> None:
        """Note who holds a place now; the actors' view is made again if that changed (at
        most every ``ACTORS_EVERY_S``)."""
        if self.holders.get(place_id) == holder:
            return
        if holder is None:
            self.holders.pop(place_id, None)
        else:
            self.holders[place_id] = holder
        self.holders_moved = True

    def touch_all(self) -> None:
        self._ready()
        self.touched |= set(self.ledgers)

    def take_changes(self, now: float | None = None) -> dict[tuple[str, str], bytes | None]:
        """View records to publish for the ledgers changed since last asked.

        ``now`` (the monotonic clock) paces the costly: a ledger is made again only when its
        spacing has passed (it stays changed until then), the actors' view at most every
        ``ACTORS_EVERY_S``. Without it, everything changed is made at once."""
        if not self.indexed:
            self.touch_all()  # after a start or rebalance: republish all, converging the views
        pending: dict[tuple[str, str], bytes | None] = {}
        touched, self.touched = self.touched, set()
        moment = math.inf if now is None else now
        if (
            self.holders_moved
            and REGISTRY_KEY in self.ledgers
            and moment >= self.actors_made_at + ACTORS_EVERY_S
        ):
            touched.add(REGISTRY_KEY)
        if REGISTRY_KEY in touched:
            self.holders_moved = False
            self.actors_made_at = moment
        for key in sorted(touched):
            kept = self.kept.get(key)
            if kept is None:
                kept = self.kept[key] = Kept()
            if kept.due > moment:
                self.touched.add(key)  # made again at a later flush
                continue
            held = self.holdings() if key == REGISTRY_KEY else None
            started = self.timer()
            ledger = self.ledger(key)
            after = project(
                ledger, self.registry, self.names, held, self.made, kept.memo, kept.index
            )
            took = self.timer() - started
            if now is not None:
                kept.due = now + min(SPACING * took, MAX_SPACING_S)
            if self.on_made is not None:
                self.on_made(key, took)
            pending.update(changes(self.published.get(key, {}), after))
            self.published[key] = after
        return pending


class FlushPacing:
    """When the next flush may run: projecting takes at most a quarter of the worker's time.

    Caught up, a flush is quick and runs every ``FLUSH_EVERY_S``. Behind, more reports reach
    each ledger between two flushes, so each projection covers more of them; the wait after a
    flush is never longer than ``MAX_WAIT_S``. (A half let projecting crowd out routing and
    folding at 1,000 events/s on a log of 70,000: `bench.processors`.)
    """

    SHARE = 0.25
    MAX_WAIT_S = 0.5

    def __init__(self) -> None:
        self.next_at = 0.0

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def took(self, started: float, ended: float) -> None:
        wait = (ended - started) * (1 - self.SHARE) / self.SHARE
        self.next_at = ended + min(wait, self.MAX_WAIT_S)


_PARTITIONER = DefaultPartitioner()


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` (as the producer does)."""
    every = list(range(partitions))
    return int(_PARTITIONER(key, every, every))


def by_partition(out: Iterable[Bound], partitions: int) -> dict[int, list[Bound]]:
    """Reports bound for ledgers, grouped by the partition of the filed topic each ledger key
    hashes to: one filed record per partition."""
    grouped: dict[int, list[Bound]] = {}
    for bound in out:
        grouped.setdefault(partition_of(bound.ledger.encode(), partitions), []).append(bound)
    return grouped
