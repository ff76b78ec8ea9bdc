"""The worker's projection alone: ``python -m bench.projection [--events N] [--then M] ...``.

No broker, no faust: the synthetic load of :mod:`bench.load` is routed and folded into a
:class:`~sitrep.worker.store.LedgerStore` as the worker does, N events at once (a worker
catching up), then M more, ``--per-flush`` at a time, each batch followed by a flush on a clock
that moves as it would at ``--rate`` events/s. Side by side, in the same run, the baseline:
the same flushes made by the pure core from nothing (:func:`~sitrep.engine.projection.project`
without the store's memos, entity indexes and caches), which is what every flush cost before
they existed. Prints the time each kind of ledger took per projection and per event, and
checks that both end with the same view records.

Speed is measured here, never asserted by tests.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.load import SyntheticLoad
from sitrep.contract import parse_event
from sitrep.contract.events import ClaimDeniedEvent, EventRetractedEvent
from sitrep.engine.projection import project, project_all
from sitrep.resolution.places import Gazetteer
from sitrep.topics import TopicNames
from sitrep.views.routing import Destination, destinations
from sitrep.worker.records import ParsedEvents, bound_for, encode_filed
from sitrep.worker.store import LedgerStore, by_partition

PARTITIONS = 6
NAMES = TopicNames("bench")


@dataclass
class Spent:
    """Seconds spent projecting, and projections made, by kind of ledger."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    made: Counter[str] = field(default_factory=Counter)
    flushes: list[float] = field(default_factory=list)

    def add(self, kind: str, seconds: float) -> None:
        self.seconds[kind] += seconds
        self.made[kind] += 1


class Router:
    """The route agent's decisions, without Kafka: where each event is filed."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        self.routes: dict[str, list[Destination]] = {}
        self.parsed = ParsedEvents()
        self.offset = 0

    def file(self, store: LedgerStore, batch: Sequence[dict[str, Any]]) -> set[str]:
        """Route ``batch`` and fold it into ``store``; the ledger keys it touched."""
        out = []
        for raw in batch:
            event = parse_event(raw, now=datetime.now(UTC))
            if isinstance(event, ClaimDeniedEvent | EventRetractedEvent):
                dests = self.routes.get(event.data.event_id)
                if dests is None:
                    continue
            else:
                dests = destinations(event, self.gazetteer)
            self.routes[event.id] = dests
            out.extend(bound_for(event, dests, (0, self.offset), self.parsed))
            self.offset += 1
        for partition, bounds in sorted(by_partition(out, PARTITIONS).items()):
            store.file(partition, self.offset, encode_filed(bounds))
            self.offset += 1
        return {bound.ledger for bound in out}


def run(args: argparse.Namespace) -> tuple[Spent, Spent, bool, int]:
    load = SyntheticLoad("projection", seed=args.seed)
    preload = load.preload(args.events)
    probes = load.probes(args.then // 4 + 2)
    phase = [next(probes)[1] if i % 4 == 0 else load.event() for i in range(args.then)]

    worker, baseline = Spent(), Spent()
    timing = [False]

    def made(key: str, seconds: float) -> None:
        if timing[0]:
            worker.add(key.split(":")[0], seconds)

    store = LedgerStore({}, NAMES, ParsedEvents(), on_made=made)
    store.forget(set(range(PARTITIONS)))
    router = Router(load.gazetteer)
    for i in range(0, len(preload), 2000):
        router.file(store, preload[i : i + 2000])
    store.parsed = router.parsed
    store.take_changes(0.0)  # caught up: every ledger made once, not timed

    clock = 1.0
    timing[0] = True
    for i in range(0, len(phase), args.per_flush):
        touched = router.file(store, phase[i : i + args.per_flush])
        clock += args.per_flush / args.rate
        started = time.perf_counter()
        store.take_changes(clock)
        worker.flushes.append(time.perf_counter() - started)
        # The baseline: the same ledgers made from nothing, by the pure core alone.
        started = time.perf_counter()
        for key in sorted(touched):
            if not key.startswith("registry"):
                begun = time.perf_counter()
                project(store.ledger(key), store.registry, NAMES)
                baseline.add(key.split(":")[0], time.perf_counter() - begun)
        baseline.flushes.append(time.perf_counter() - started)
    timing[0] = False
    store.take_changes()  # what spacing held back
    ledgers = [store.ledger(key) for key in store.ledgers]
    everything = project_all(ledgers, store.registry, NAMES)
    published = {
        k: v
        for records in store.published.values()
        for k, v in records.items()
        if k[0] not in (NAMES.view_actors, NAMES.registry)
    }
    wanted = {
        k: v for k, v in everything.items() if k[0] not in (NAMES.view_actors, NAMES.registry)
    }
    return worker, baseline, published == wanted, len(ledgers)


def table(
    args: argparse.Namespace, worker: Spent, baseline: Spent, same: bool, ledgers: int
) -> str:
    events = args.then
    lines = [
        f"Sitrep projection benchmark — {time.strftime('%Y-%m-%d %H:%M')}, Python "
        f"{sys.version.split()[0]}",
        f"command: .venv/bin/python -m bench.projection --events {args.events} --then "
        f"{args.then} --per-flush {args.per_flush} --rate {args.rate:g}",
        f"{args.events:,} events folded, then {events:,} more, {args.per_flush} per flush "
        f"({ledgers} ledgers at the end)",
        "",
        f"{'ledger kind':<14}{'worker (store): made':>22}{'ms each':>10}"
        f"{'baseline (from nothing): made':>32}{'ms each':>10}",
    ]
    for kind in sorted(set(worker.made) | set(baseline.made)):
        w_made, b_made = worker.made[kind], baseline.made[kind]
        lines.append(
            f"{kind:<14}{w_made:>22,}"
            f"{(worker.seconds[kind] / w_made * 1000 if w_made else 0):>10.2f}"
            f"{b_made:>32,}{(baseline.seconds[kind] / b_made * 1000 if b_made else 0):>10.2f}"
        )

    def per_event(spent: Spent) -> str:
        flushes = sorted(spent.flushes)
        return (
            f"{sum(flushes) / events * 1e6:,.0f} us per event; flush p50 "
            f"{flushes[len(flushes) // 2] * 1000:.1f} ms, p99 "
            f"{flushes[min(len(flushes) - 1, int(len(flushes) * 0.99))] * 1000:.1f} ms"
        )

    lines += [
        "",
        f"worker (store):          {per_event(worker)}",
        f"baseline (from nothing): {per_event(baseline)} (actors' view not made)",
        f"same view records at the end: {'yes' if same else 'NO'}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.projection", description=__doc__)
    parser.add_argument("--events", type=int, default=50_000, help="folded before timing")
    parser.add_argument("--then", type=int, default=6_000, help="events timed")
    parser.add_argument("--per-flush", type=int, default=25, help="events between flushes")
    parser.add_argument("--rate", type=float, default=1_000.0, help="events/s the clock assumes")
    parser.add_argument("--seed", type=int, default=20241130)
    args = parser.parse_args(argv)
    worker, baseline, same, ledgers = run(args)
    print(table(args, worker, baseline, same, ledgers), flush=True)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
