"""The worker's projection alone: ``python -m bench.projection [--events N] [--then M] ...``.

No broker, no faust: the synthetic load of :mod:`bench.load` is routed and folded by the
engine (:class:`~sitrep.engine.engine.Engine`) over a RocksDB store as the worker's, N events
at once (a worker catching up), then M more, ``--per-flush`` at a time, each batch followed by
a flush (views made, the store committed) on a clock that moves as it would at ``--rate``
events/s. Side by side, in the same run, the baseline: the same ledgers made by the pure core
from nothing (:func:`~sitrep.engine.projection.project` without the engine's entity index,
memos and caches). Prints the time each kind of ledger took per projection and per event, and
checks that both end with the same view records.

Speed is measured here, never asserted by tests.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.load import SyntheticLoad
from sitrep.contract import parse_event
from sitrep.engine.engine import Engine
from sitrep.engine.projection import project, project_all
from sitrep.stores.rocks import RocksKeyValue
from sitrep.topics import TopicNames

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


def fold(engine: Engine, batch: Sequence[dict[str, Any]], ledgers: set[str]) -> set[str]:
    """Route and file ``batch``; the ledger keys it touched (also added to ``ledgers``)."""
    touched: set[str] = set()
    for raw in batch:
        try:
            filings = engine.fold(parse_event(raw, now=datetime.now(UTC)))
        except ValueError:
            continue  # what the worker dead-letters
        touched.update(filing.ledger for filing in filings)
    ledgers |= touched
    return touched


def run(args: argparse.Namespace, workdir: Path) -> tuple[Spent, Spent, bool, int]:
    load = SyntheticLoad("projection", seed=args.seed)
    preload = load.preload(args.events)
    probes = load.probes(args.then // 4 + 2)
    phase = [next(probes)[1] if i % 4 == 0 else load.event() for i in range(args.then)]

    worker, baseline = Spent(), Spent()
    timing = [False]

    def made(key: str, seconds: float) -> None:
        if timing[0]:
            worker.add(key.split(":")[0], seconds)

    store = RocksKeyValue(workdir / "ledgers")
    engine = Engine(store, load.gazetteer, NAMES)
    engine.folder.on_made = made
    ledgers: set[str] = set()
    for i in range(0, len(preload), 2000):
        fold(engine, preload[i : i + 2000], ledgers)
        store.commit()
    engine.take_changes(0.0)  # caught up: every ledger made once, not timed
    store.commit()

    clock = 1.0
    timing[0] = True
    for i in range(0, len(phase), args.per_flush):
        touched = fold(engine, phase[i : i + args.per_flush], ledgers)
        clock += args.per_flush / args.rate
        started = time.perf_counter()
        engine.take_changes(clock)
        store.commit()
        worker.flushes.append(time.perf_counter() - started)
        # The baseline: the same ledgers made from nothing, by the pure core alone.
        started = time.perf_counter()
        for key in sorted(touched):
            if not key.startswith("registry"):
                begun = time.perf_counter()
                project(engine.folder.ledger(key), engine.folder.registry, NAMES)
                baseline.add(key.split(":")[0], time.perf_counter() - begun)
        baseline.flushes.append(time.perf_counter() - started)
    timing[0] = False
    engine.take_changes()  # what spacing held back
    whole = [engine.folder.ledger(key) for key in sorted(ledgers)]
    everything = project_all(whole, engine.folder.registry, NAMES)
    skipped = (NAMES.view_actors, NAMES.registry)
    published = {k: v for k, v in engine.folder.published().items() if k[0] not in skipped}
    wanted = {k: v for k, v in everything.items() if k[0] not in skipped}
    store.close()
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
        f"{'ledger kind':<14}{'worker (engine): made':>22}{'ms each':>10}"
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
        f"worker (engine):          {per_event(worker)}",
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
    with tempfile.TemporaryDirectory(prefix="bench-projection-") as workdir:
        worker, baseline, same, ledgers = run(args, Path(workdir))
    print(table(args, worker, baseline, same, ledgers), flush=True)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
