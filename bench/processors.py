"""The processors' benchmark: `make bench`, or ``python -m bench.processors [--events N] ...``.

In one run, on one broker (``KAFKA_BOOTSTRAP_SERVERS`` if set, else a one-node LocalCluster of
its own on free ports, stopped at the end), in a fresh namespace of topics:

1. pre-loads N synthetic events (:mod:`bench.load`) onto the event log with the Publisher;
2. throughput: reads the log with a bare aiokafka consumer that only decodes (the ceiling),
   then starts one Sitrep worker from zero and times it until the views are caught up (its
   group committed the ends of the event log and the filed topic, and the view topics stopped
   growing; the end is the timestamp of the last view record written);
3. latency at a steady R events/s for S seconds, with the worker caught up: publish (just
   before a producer configured as the Publisher's is handed the event, validated and encoded
   beforehand) to the event's key first appearing on the control view (every ``--probe-every``-th event is a control.changed at a new place, the others are
   the usual mix); next to it, the broker's own produce (acks=all) to consume latency at the
   same rate, with records of the same size;
4. prints one table, and the worker's peak RSS.

``--faust-floor`` also times a faust app without any of Sitrep's code (:mod:`bench.faust_floor`):
what one faust worker configured like Sitrep's can do at all. ``--profile FILE`` runs the worker
under cProfile (or ``--profiler pyinstrument``, if importable) and prints where its time went.

Speed is measured here, never asserted by tests.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import shlex
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from bench.infra import (
    CpuMeter,
    CpuUse,
    Offsets,
    WorkerProcess,
    cancel_on_sigterm,
    clean_up,
    open_broker,
    own_cpu_s,
    print_profile,
    run_to_end,
    say,
)
from bench.load import REPO, SyntheticLoad, ledger_shares
from sitrep.contract import encode_event, event_key, parse_event
from sitrep.kafka import LocalCluster, clients, ensure_topics
from sitrep.publishing import Publisher, event_producer
from sitrep.topics import TopicNames, TopicSpec, all_topics

PARTITIONS = 6
BARE_RUNS = 3
GOAL_RATE = 20_000
GOAL_RATIO = 0.5
GOAL_P99_MS = 100.0


# -- measurements ------------------------------------------------------------------------------


@dataclass
class Throughput:
    events: int
    publish_s: float
    bare_s: list[float]
    startup_s: float
    route_s: float
    views_s: float
    filed: int
    dead: int
    view_records: int
    worker_cpu_s: float | None
    broker_cpu_s: float | None
    machine_busy_cores: float
    biggest_ledger: tuple[str, int]
    ledgers: int
    floor_s: dict[str, float] = field(default_factory=dict)

    @property
    def bare_rate(self) -> float:
        return self.events / sorted(self.bare_s)[len(self.bare_s) // 2]

    @property
    def worker_rate(self) -> float:
        return self.events / self.views_s


@dataclass
class Latency:
    sent: int
    seconds: float
    samples: list[float] = field(default_factory=list)
    missing: int = 0
    cpu: CpuUse | None = None
    """What the worker, the broker and this process used while it was measured."""

    def quantile(self, q: float) -> float:
        ordered = sorted(self.samples)
        if not ordered:
            return math.nan
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def _assigned(offsets: Offsets, topic: str) -> AIOKafkaConsumer:
    """A started consumer without a group, assigned every partition of ``topic``."""
    parts = await offsets.partitions(topic)
    consumer = clients.consumer(offsets.bootstrap, enable_auto_commit=False)
    await consumer.start()
    consumer.assign(parts)
    return consumer


async def publish_all(bootstrap: str, topic: str, events: Sequence[dict[str, Any]]) -> float:
    """Publish ``events`` (enqueue all, then wait for every acknowledgement); seconds taken."""
    started = time.perf_counter()
    async with Publisher(bootstrap, topic=topic, client_id="sitrep-bench") as publisher:
        futures = [await publisher.enqueue(e) for e in events]
        await asyncio.gather(*futures)
    return time.perf_counter() - started


async def bare_consumer(offsets: Offsets, topic: str, count: int) -> float:
    """Seconds a plain consumer (no group, every partition) takes to read and decode ``count``."""
    consumer = await _assigned(offsets, topic)
    try:
        await consumer.seek_to_beginning()
        started = time.perf_counter()
        seen = 0
        async with asyncio.timeout(300):
            while seen < count:
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    for record in records:
                        orjson.loads(record.value)
                    seen += len(records)
        return time.perf_counter() - started
    finally:
        await consumer.stop()


async def faust_floor(
    bootstrap: str,
    names: TopicNames,
    mode: str,
    count: int,
    workdir: Path,
    workers: list[WorkerProcess],
) -> float:
    """Seconds a bare faust app (:mod:`bench.faust_floor`) takes to consume ``count`` events."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "FLOOR_ID": f"{names.namespace}-floor-{mode}",
        "FLOOR_SOURCE": names.events,
        "FLOOR_SINK": f"{names.namespace}.bench.sink",
        "FLOOR_MODE": mode,
        "FLOOR_EXPECT": str(count),
        "FLOOR_PARTITIONS": str(PARTITIONS),
        # The app runs in a directory of its own: bench must stay importable.
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
    }
    floor = WorkerProcess.spawn(["-m", "bench.faust_floor"], env, workdir / f"floor-{mode}")
    workers.append(floor)
    try:
        ready = await floor.wait_ready()
        async with asyncio.timeout(600):
            while "FLOOR DONE " not in floor.log_text():
                if floor.proc.poll() is not None:
                    raise RuntimeError(f"the faust app exited:\n{floor.tail()}")
                await asyncio.sleep(0.05)
        done = float(floor.log_text().split("FLOOR DONE ", 1)[1].split()[0])
        return done - ready
    finally:
        await asyncio.to_thread(floor.stop)


async def worker_throughput(
    offsets: Offsets,
    worker: WorkerProcess,
    names: TopicNames,
    group: str,
    load: SyntheticLoad,
    events: list[dict[str, Any]],
    publish_s: float,
    bare_s: list[float],
    broker_pid: int | None,
    within: float = 1800.0,
) -> Throughput:
    """Wait for the worker to be ready, then until it has caught up; time its stages."""
    meter = CpuMeter(None, broker_pid)
    ready = await worker.wait_ready()
    say(f"worker ready after {ready - worker.spawned:.1f} s; folding {len(events):,} events")
    inputs = [names.events, names.filed]
    views = [*names.views().values(), names.registry]
    deadline = time.monotonic() + within
    last_views = -1
    stable = 0
    caught_at = 0.0
    while True:
        await asyncio.sleep(0.25)
        if worker.proc.poll() is not None:
            raise RuntimeError(f"the worker exited ({worker.proc.returncode}):\n{worker.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not catch up within {within}s")
        ends = await offsets.ends(inputs)
        committed = await offsets.committed(group)
        behind = sum(max(0, end - committed.get(tp, 0)) for tp, end in ends.items())
        total_views = await offsets.total(views)
        if behind == 0 and total_views == last_views:
            stable += 1
            if stable >= 4:  # 1 s without a new view record: twenty flush periods
                break
        else:
            stable = 0
            caught_at = time.time()
        last_views = total_views
    used = meter.read()
    worker_cpu = worker.cpu_seconds()  # since it was spawned: start-up included
    filed_first, filed_last = await offsets.edges([names.filed])
    _, views_last = await offsets.edges(views)
    start = min(t for t in (ready, filed_first) if t is not None)
    shares = ledger_shares(load, events)
    biggest = shares.most_common(1)[0]
    return Throughput(
        events=len(events),
        publish_s=publish_s,
        bare_s=bare_s,
        startup_s=start - worker.spawned,
        route_s=(filed_last or start) - start,
        views_s=(views_last or caught_at) - start,
        filed=await offsets.total([names.filed]),
        dead=await offsets.total([names.dead_letter]),
        view_records=total_views,
        worker_cpu_s=worker_cpu,
        broker_cpu_s=used.broker_s,
        machine_busy_cores=used.machine_busy_cores,
        biggest_ledger=(biggest[0], biggest[1]),
        ledgers=len(shares),
    )


def _prepared(event: dict[str, Any]) -> tuple[bytes, bytes]:
    """(key, value) of ``event`` as the Publisher sends it, validated as it validates."""
    valid = parse_event(event, now=datetime.now(UTC))
    return event_key(valid), encode_event(valid)


async def paced(
    rate: float, total: int, send: Callable[[int], Any], clock: Callable[[], float]
) -> float:
    """Call ``send(i)`` for i in 0..total-1 at ``rate`` per second; seconds it took."""
    started = clock()
    i = 0
    while i < total:
        due = started + i / rate
        now = clock()
        if due > now:
            await asyncio.sleep(due - now)
        while i < total and started + i / rate <= clock():
            await send(i)
            i += 1
    return clock() - started


async def collect(
    consumer: AIOKafkaConsumer,
    arrived: dict[bytes, float],
    wanted: Callable[[bytes], bool],
    clock: Callable[[], float],
) -> None:
    """Record when each wanted key first arrives, until cancelled."""
    while True:
        batch = await consumer.getmany(timeout_ms=100)
        now = clock()
        for records in batch.values():
            for record in records:
                key = record.key
                if key is not None and key not in arrived and wanted(key):
                    arrived[key] = now


async def _wait_all(arrived: dict[bytes, float], expected: int, quiet: float = 30.0) -> None:
    """Until every expected key arrived, or none arrived for ``quiet`` seconds."""
    seen, since = len(arrived), time.monotonic()
    while len(arrived) < expected and time.monotonic() - since < quiet:
        await asyncio.sleep(0.05)
        if len(arrived) > seen:
            seen, since = len(arrived), time.monotonic()


async def broker_latency(
    offsets: Offsets, topic: str, rate: float, seconds: float, sample: bytes
) -> Latency:
    """Produce (with the Publisher's producer settings) to consume, at ``rate``."""
    total = int(rate * seconds)
    consumer = await _assigned(offsets, topic)
    producer = event_producer(offsets.bootstrap, client_id="sitrep-bench")
    await producer.start()
    clock = time.perf_counter
    sent: dict[bytes, float] = {}
    arrived: dict[bytes, float] = {}
    futures: list[asyncio.Future[Any]] = []
    reader: asyncio.Task[None] | None = None
    try:
        # Warm-up, not timed: metadata, the producer id, a first batch to every partition.
        await asyncio.gather(
            *[await producer.send(topic, sample, partition=p) for p in range(PARTITIONS)]
        )
        await consumer.seek_to_end()
        for tp in consumer.assignment():
            await consumer.position(tp)
        reader = asyncio.create_task(collect(consumer, arrived, lambda k: True, clock))

        async def send(i: int) -> None:
            key = b"probe-%d" % i
            sent[key] = clock()
            futures.append(await producer.send(topic, value=sample + key, key=key))

        took = await paced(rate, total, send, clock)
        await asyncio.gather(*futures)
        await _wait_all(arrived, total)
    finally:
        if reader is not None:
            reader.cancel()
        await producer.stop()
        await consumer.stop()
    samples = [(arrived[k] - t) * 1000 for k, t in sent.items() if k in arrived]
    return Latency(total, took, samples, total - len(samples))


async def sitrep_latency(
    offsets: Offsets,
    names: TopicNames,
    load: SyntheticLoad,
    rate: float,
    seconds: float,
    probe_every: int,
) -> Latency:
    """Publish at ``rate``; every ``probe_every``-th event is timed to the control view."""
    total = int(rate * seconds)
    warm_up, *probe_list = load.probes(1 + math.ceil(total / probe_every))
    # Validated and encoded before the clock starts, as the Publisher would (contract, now):
    # on two cores, validating 1,000 events a second in this process would take CPU from the
    # worker and the broker, and time it in their stead.
    prepared: list[tuple[bytes | None, tuple[bytes, bytes]]] = []
    for i in range(total):
        if i % probe_every == 0:
            key, event = probe_list[i // probe_every]
            prepared.append((key.encode(), _prepared(event)))
        else:
            prepared.append((None, _prepared(load.event())))
    wanted = {probe for probe, _ in prepared if probe is not None}
    consumer = await _assigned(offsets, names.view_control)
    clock = time.perf_counter
    sent: dict[bytes, float] = {}
    arrived: dict[bytes, float] = {}
    futures: list[asyncio.Future[Any]] = []
    reader: asyncio.Task[None] | None = None
    try:
        await consumer.seek_to_end()
        for tp in consumer.assignment():
            await consumer.position(tp)
        reader = asyncio.create_task(collect(consumer, arrived, wanted.__contains__, clock))
        producer = event_producer(offsets.bootstrap, client_id="sitrep-bench")
        await producer.start()
        try:
            first_key, first = _prepared(warm_up[1])  # not timed: metadata, producer id
            await producer.send_and_wait(names.events, first, key=first_key)

            async def send(i: int) -> None:
                probe, (key, value) = prepared[i]
                if probe is not None:
                    sent[probe] = clock()
                futures.append(await producer.send(names.events, value, key=key))

            took = await paced(rate, total, send, clock)
            await asyncio.gather(*futures)
        finally:
            await producer.stop()
        await _wait_all(arrived, len(wanted))
    finally:
        if reader is not None:
            reader.cancel()
        await consumer.stop()
    samples = [(arrived[k] - t) * 1000 for k, t in sent.items() if k in arrived]
    return Latency(total, took, samples, len(wanted) - len(samples))


# -- the run -----------------------------------------------------------------------------------


@dataclass
class Results:
    bootstrap: str
    broker: str
    throughput: Throughput
    sitrep: Latency
    broker_latency: Latency
    peak_rss_mib: float | None
    rss_after_catch_up_mib: float | None


def _broker_pid(cluster: LocalCluster | None) -> int | None:
    if cluster is None:
        return None
    state = cluster.state()
    if state is None:
        return None
    pid_file = cluster.nodes(state)[0].pid_file
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


async def run(args: argparse.Namespace, workdir: Path, workers: list[WorkerProcess]) -> Results:
    cancel_on_sigterm()
    bootstrap, broker, cluster = await open_broker(workdir)
    run_id = uuid.uuid4().hex[:8]
    names = TopicNames(f"bench{run_id}")
    group = f"bench{run_id}-views"
    offsets = Offsets(bootstrap)
    try:
        latency_topic = f"{names.namespace}.bench.latency"
        await ensure_topics(
            bootstrap,
            [
                *all_topics(PARTITIONS, 1, names),
                TopicSpec(latency_topic, PARTITIONS),
                TopicSpec(f"{names.namespace}.bench.sink", PARTITIONS),
            ],
            1,
        )
        await offsets.start()
        say(f"generating {args.events:,} events")
        load = SyntheticLoad(run_id, seed=args.seed)
        events = load.preload(args.events)
        say(f"publishing them to {names.events}")
        publish_s = await publish_all(bootstrap, names.events, events)
        say(f"published in {publish_s:.1f} s; bare consumer x{BARE_RUNS}")
        bare_s = [await bare_consumer(offsets, names.events, len(events)) for _ in range(BARE_RUNS)]
        say(f"bare consumer: {', '.join(f'{len(events) / s:,.0f}' for s in bare_s)} ev/s")
        floor_s: dict[str, float] = {}
        for mode in ("decode", "forward") if args.faust_floor else ():
            floor_s[mode] = await faust_floor(bootstrap, names, mode, len(events), workdir, workers)
            say(f"bare faust app ({mode}): {len(events) / floor_s[mode]:,.0f} ev/s")
        worker = WorkerProcess.start(
            bootstrap,
            names,
            group,
            PARTITIONS,
            workdir / "worker",
            profile=args.profile,
            profiler=args.profiler,
        )
        workers.append(worker)
        throughput = await worker_throughput(
            offsets,
            worker,
            names,
            group,
            load,
            events,
            publish_s,
            bare_s,
            _broker_pid(cluster),
        )
        throughput.floor_s = floor_s
        rss_caught_up = worker.peak_rss_mib()
        say(
            f"worker: {throughput.worker_rate:,.0f} ev/s ({throughput.views_s:.1f} s); "
            f"broker latency at {args.rate:,.0f}/s for {args.seconds:.0f} s"
        )
        sample = orjson.dumps(events[len(events) // 2])
        meter = CpuMeter(worker.proc.pid, _broker_pid(cluster))
        base = await broker_latency(offsets, latency_topic, args.rate, args.seconds, sample)
        base.cpu = meter.read()  # the worker, caught up, has nothing to do meanwhile
        say(f"Sitrep latency at {args.rate:,.0f}/s for {args.seconds:.0f} s")
        meter = CpuMeter(worker.proc.pid, _broker_pid(cluster))
        sitrep = await sitrep_latency(
            offsets, names, load, args.rate, args.seconds, args.probe_every
        )
        sitrep.cpu = meter.read()
        rss = worker.peak_rss_mib()
        await asyncio.to_thread(worker.stop)
        return Results(bootstrap, broker, throughput, sitrep, base, rss, rss_caught_up)
    finally:
        await clean_up(workers, offsets, names, cluster)


# -- the table ---------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def table(results: Results, args: argparse.Namespace, command: str) -> str:
    t = results.throughput
    ms = "{:,.1f} ms".format
    rate = "{:,.0f} ev/s".format
    lines = [
        f"Sitrep processors benchmark — {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
        f"command: {command}",
        f"broker:  {results.broker}; {PARTITIONS} partitions per topic",
        "",
        f"{'throughput: pre-loaded log, one worker from zero':<52}{'measured':<26}goal",
        f"  {'events (shares: ' + str(t.ledgers) + ' ledgers, largest ' + f'{t.biggest_ledger[1] / t.events:.1%})':<50}"
        f"{t.events:<26,}",
        f"  {'publish (Publisher, validate + acks=all)':<50}{rate(t.events / t.publish_s):<26}",
        f"  {'bare aiokafka consumer, decode only (ceiling)':<50}"
        f"{rate(t.bare_rate):<26}median of {len(t.bare_s)}: "
        + " / ".join(f"{t.events / s:,.0f}" for s in t.bare_s),
        *(
            f"  {'bare faust agent, same settings: ' + label:<50}"
            f"{rate(t.events / t.floor_s[mode]):<26}"
            for mode, label in (("decode", "decode"), ("forward", "+send +table"))
            if mode in t.floor_s
        ),
        f"  {'one Sitrep worker, events folded into views':<50}{rate(t.worker_rate):<26}"
        f">= {GOAL_RATE:,} ev/s: {_verdict(t.worker_rate >= GOAL_RATE)}",
        f"  {'worker / bare consumer':<50}{t.worker_rate / t.bare_rate:<26.3f}"
        f">= {GOAL_RATIO}: {_verdict(t.worker_rate / t.bare_rate >= GOAL_RATIO)}",
        f"  {'  route stage done (last filed record)':<50}{t.route_s:.1f} s",
        f"  {'  views caught up (last view record)':<50}{t.views_s:.1f} s "
        f"(worker start-up before: {t.startup_s:.1f} s)",
        f"  {'  records: filed / dead-lettered / view':<50}"
        f"{t.filed:,} / {t.dead:,} / {t.view_records:,}",
        f"  {'  CPU while catching up (incl. start-up)':<50}"
        + (f"worker {t.worker_cpu_s:.1f} s" if t.worker_cpu_s is not None else "worker ?")
        + (f", broker {t.broker_cpu_s:.1f} s" if t.broker_cpu_s is not None else "")
        + f"; machine {t.machine_busy_cores:.2f} of {os.cpu_count()} cores busy",
        "",
        f"{'latency at ' + f'{args.rate:,.0f} ev/s for {args.seconds:.0f} s':<52}"
        f"{'Sitrep publish->view':<26}{'broker produce->consume':<26}goal",
    ]
    s, b = results.sitrep, results.broker_latency
    lines.append(
        f"  {'sent (achieved rate)':<50}"
        f"{f'{s.sent:,} ({s.sent / s.seconds:,.0f}/s)':<26}{f'{b.sent:,} ({b.sent / b.seconds:,.0f}/s)':<26}"
    )
    lines.append(
        f"  {'timed samples (missing)':<50}{f'{len(s.samples):,} ({s.missing})':<26}"
        f"{f'{len(b.samples):,} ({b.missing})':<26}"
    )
    for label, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0)):
        goal = ""
        if label == "p99":
            goal = f"Sitrep < {GOAL_P99_MS:.0f} ms: {_verdict(s.quantile(q) < GOAL_P99_MS)}"
        lines.append(f"  {label:<50}{ms(s.quantile(q)):<26}{ms(b.quantile(q)):<26}{goal}")
    if s.cpu is not None:
        lines.append(
            f"  {'CPU over the Sitrep phase (publish + drain)':<50}{s.cpu.describe(s.sent)}"
        )
    if b.cpu is not None and b.cpu.worker_s is not None:
        lines.append(
            f"  {'worker CPU while idle (the broker phase)':<50}"
            f"{b.cpu.worker_s:.1f} s in {b.cpu.seconds:.0f} s"
        )
    lines.append("")
    rss = results.peak_rss_mib
    lines.append(
        f"{'worker peak RSS (VmHWM)':<52}"
        + (f"{rss:,.0f} MiB" if rss is not None else "?")
        + (
            f" (after catch-up: {results.rss_after_catch_up_mib:,.0f} MiB)"
            if results.rss_after_catch_up_mib is not None
            else ""
        )
    )
    if args.profile:
        lines.append(f"(worker run under {args.profiler}: its numbers are slower than without)")
    return "\n".join(lines)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.processors", description=__doc__)
    parser.add_argument("--events", type=int, default=50_000, help="events pre-loaded (N)")
    parser.add_argument("--rate", type=float, default=1_000.0, help="latency phase events/s")
    parser.add_argument("--seconds", type=float, default=20.0, help="latency phase length")
    parser.add_argument(
        "--probe-every", type=int, default=4, help="every k-th latency event is timed"
    )
    parser.add_argument(
        "--faust-floor",
        action="store_true",
        help="also time a faust app without Sitrep's code (bench.faust_floor)",
    )
    parser.add_argument("--seed", type=int, default=20241130, help="of the synthetic load")
    parser.add_argument(
        "--profile", type=Path, default=None, help="run the worker under cProfile, stats here"
    )
    parser.add_argument(
        "--profiler",
        choices=("cprofile", "pyinstrument"),
        default="cprofile",
        help="pyinstrument must be importable (it is not a dependency)",
    )
    parser.add_argument("--profile-lines", type=int, default=35)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    # The producers retry what a just-created topic's leader election makes them retry.
    logging.basicConfig(level=logging.ERROR)
    if args.profile is not None:
        args.profile = args.profile.resolve()
    command = " ".join(
        [".venv/bin/python -m bench.processors", *map(shlex.quote, sys.argv[1:] or [])]
    ).strip()
    results = run_to_end(run, args, "sitrep-bench-", "the worker and the broker")
    if results is None:
        return 130
    print(table(results, args, command), flush=True)
    say(f"benchmark process CPU: {own_cpu_s():.1f} s")
    if args.profile is not None and args.profiler == "cprofile":
        print_profile(args.profile, args.profile_lines, "worker")
    elif args.profile is not None:
        say(f"render with: python -m pyinstrument --load={args.profile} -r text --show-all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
