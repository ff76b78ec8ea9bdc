"""The engine alone, as a worker drives it: ``python -m bench.folding [--events N]``.

No broker and no faust, but the worker's collector settings (:mod:`sitrep.memory`): ``N`` events of the realistic history (:mod:`bench.history`, places
from the world gazetteer) are routed and filed by the engine over RocksDB in batches of the
worker's size, each batch followed by a flush that makes views for the worker's budget and
commits the store. Prints CPU per event for filing and for making views, the longest flush,
and, per kind of ledger, how many views were made and how long they took (mean and longest).
What the worker adds (faust, Kafka, the filed topic) is measured by :mod:`bench.scale`; this is
the part the engine's design decides, measured without a shared broker's noise. Speed is
measured here, never asserted by tests.
"""

from __future__ import annotations

import argparse
import gc
import resource
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.history import History
from sitrep.contract import Event, parse_event
from sitrep.engine.engine import Engine
from sitrep.engine.folding import registry_from
from sitrep.memory import FREEZE_EVERY_S, Ageing
from sitrep.resolution.geonames import build_gazetteer
from sitrep.settings import Settings
from sitrep.stores.rocks import RocksKeyValue
from sitrep.topics import TopicNames
from sitrep.views.routing import REGISTRY_KEY
from sitrep.worker.app import MAKE_BUDGET_S, ROUTE_BATCH

NAMES = TopicNames("bench")


class Collections:
    """The garbage collector's pauses: the longest of each generation, and how many."""

    def __init__(self) -> None:
        self.longest = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        generation = info["generation"]
        self.count[generation] += 1
        took = time.perf_counter() - self._began
        self.longest[generation] = max(self.longest[generation], took)


class Made:
    """Views made, by kind of ledger: how many, seconds in all, the longest."""

    def __init__(self) -> None:
        self.kinds: dict[str, list[float]] = {}

    def __call__(self, ledger: str, took: float) -> None:
        spent = self.kinds.setdefault(ledger.partition(":")[0], [0, 0.0, 0.0])
        spent[0] += 1
        spent[1] += took
        spent[2] = max(spent[2], took)


def run(events: Sequence[Event], root: Path, freeze_every_s: float = FREEZE_EVERY_S) -> None:
    settings = Settings()
    gazetteer = build_gazetteer(settings.seeds_dir, None, cache_dir=settings.cache_dir)
    kv = RocksKeyValue(root / "engine")
    engine = Engine(kv, gazetteer, NAMES)
    made = Made()
    engine.folder.on_made = made
    filing = making = longest = 0.0
    started = time.process_time()

    def flush(budget_s: float) -> None:
        changes = engine.folder.take_changes(time.monotonic(), budget_s)
        record = changes.get((NAMES.registry, REGISTRY_KEY))
        if record:
            engine.folder.describe(registry_from(record), record)
        kv.commit()

    ageing, aged_at = Ageing(), time.monotonic()
    collections = Collections()
    gc.callbacks.append(collections)
    for first in range(0, len(events), ROUTE_BATCH):
        if time.monotonic() - aged_at >= freeze_every_s:  # as the worker's timer does
            ageing.tick()
            aged_at = time.monotonic()
        began = time.process_time()
        for event in events[first : first + ROUTE_BATCH]:
            engine.fold(event)
        filed = time.process_time()
        filing += filed - began
        wall = time.perf_counter()
        flush(MAKE_BUDGET_S)
        longest = max(longest, time.perf_counter() - wall)
        making += time.process_time() - filed
    due = engine.folder.due
    drained = time.process_time()
    while engine.folder.due:
        flush(MAKE_BUDGET_S)
    drain = time.process_time() - drained
    total = time.process_time() - started
    count = len(events)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"engine over RocksDB, {count:,} events in batches of {ROUTE_BATCH}")
    print(f"  routing and filing      {filing / count * 1e3:7.3f} ms of CPU an event")
    print(f"  making views meanwhile  {making / count * 1e3:7.3f} ms of CPU an event")
    print(f"  making what was left    {drain:7.1f} s of CPU ({due:,} entities)")
    print(f"  in all                  {total / count * 1e3:7.3f} ms of CPU an event")
    print(f"  longest flush           {longest * 1e3:7.0f} ms")
    print(f"  peak RSS                {peak:7.0f} MB")
    gc.callbacks.remove(collections)
    for generation, (collected, pause) in enumerate(
        zip(collections.count, collections.longest, strict=True)
    ):
        print(f"  collections of gen. {generation}  {collected:7d}, longest {pause * 1e3:5.1f} ms")
    print(f"  {'views made':24s}{'count':>8s}{'mean ms':>10s}{'longest ms':>12s}")
    for kind, (times, seconds, worst) in sorted(made.kinds.items()):
        print(f"  {kind:24s}{int(times):8d}{seconds / times * 1e3:10.3f}{worst * 1e3:12.1f}")
    print("  control views made")
    for way, times in sorted(engine.folder.controls.made.items()):
        print(f"    {way:50s}{times:8d}")
    kv.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.folding", description=__doc__)
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=20241130)
    parser.add_argument(
        "--freeze-every",
        type=float,
        default=FREEZE_EVERY_S,
        help="seconds between freezes of what outlived a young collection",
    )
    args = parser.parse_args(argv)
    events = [parse_event(raw) for raw in History(seed=args.seed).events(args.events)]
    with tempfile.TemporaryDirectory(prefix="sitrep-bench-folding-") as root:
        run(events, Path(root), args.freeze_every)


if __name__ == "__main__":
    main()
