"""The scale benchmark (issue 13): `make bench-scale`, or ``python -m bench.scale --events N``.

In one run, on one broker (``KAFKA_BOOTSTRAP_SERVERS`` if set, else a one-node LocalCluster of
its own), in a fresh namespace of topics:

1. pre-publishes N events of a realistic history (:mod:`bench.history`), streamed from the
   generator by a plain producer that keeps a bounded number of sends in flight;
2. the worker (with the GeoNames gazetteer, as deployed): from zero until its views are caught
   up, next to a bare faust agent that only decodes (:mod:`bench.faust_floor`); events/s, CPU
   per event, peak RSS, and the longest event-loop block (:mod:`sitrep.loopprobe`); then
   restarted with its state: how long until an event published at the restart reaches the
   control view; then publish-to-view latency at a steady rate on top of the log, next to the
   broker's own produce-to-consume latency (:mod:`bench.processors`);
3. the API: seconds until ready from nothing and after a restart, peak RSS, and each read
   endpoint asked by :mod:`bench.client` (req/s, p50, p99, bytes of one answer);
4. prints one table with the issue's goals (stated for N = 1,000,000) next to the figures.

``--max-seconds`` bounds each wait for a catch-up: past it the figures so far are reported as
partial. Speed is measured here, never asserted by tests.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import shlex
import shutil
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer

from bench.api import Phase, measure, wait_ready
from bench.history import COUNTRIES, START, History
from bench.infra import (
    Offsets,
    WorkerProcess,
    cancel_on_sigterm,
    clean_up,
    open_broker,
    run_to_end,
    say,
)
from bench.load import SyntheticLoad
from bench.processors import (
    PARTITIONS,
    broker_latency,
    faust_floor,
    sitrep_latency,
)
from bench.scale_report import ApiRun, FromZero, Restart, Results, endpoints, table
from sitrep.kafka import clients, ensure_topics
from sitrep.kafka.ports import free_port_block
from sitrep.topics import TopicNames, TopicSpec, all_topics

IN_FLIGHT = 20_000
"""Sends the pre-publisher lets wait for their acknowledgement (its memory bound)."""
# -- the processes -----------------------------------------------------------------------------


def read_probe(path: Path) -> dict[str, Any] | None:
    """What a process's loop probe last wrote, if it wrote anything."""
    try:
        found: dict[str, Any] = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return found


def service_env(bootstrap: str, names: TopicNames, workdir: Path, probe: Path) -> dict[str, str]:
    """What a worker or an API process of this run is configured with."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "SITREP_TOPIC_NAMESPACE": names.namespace,
        "SITREP_EVENTS_PARTITIONS": str(PARTITIONS),
        "SITREP_STATE_DIR": str(workdir / "state"),
        "SITREP_GAZETTEER_COUNTRIES": ",".join(COUNTRIES),  # the history's places
        "SITREP_LOOP_PROBE": str(probe),
        "SITREP_API_ANONYMOUS_READ": "true",
        # One client asks thousands of times a second: what is measured is serving, not limiting.
        "SITREP_API_RATE_PER_ADDRESS": "",
        "SITREP_API_RATE_PER_TOKEN": "",
    }


def check_alive(worker: WorkerProcess) -> None:
    """Raise if the worker exited, or if faust says its app crashed: the process then stays
    up, stopping, and would be waited for until --max-seconds."""
    if worker.proc.poll() is not None:
        raise RuntimeError(f"the worker exited ({worker.proc.returncode}):\n{worker.tail()}")
    log = worker.log_text()
    if "]: Crashed reason=" in log:
        reason = log.split("]: Crashed reason=", 1)[1].splitlines()[0]
        raise RuntimeError(f"the worker's faust app crashed: {reason}")


def start_worker(env: dict[str, str], group: str, workdir: Path) -> WorkerProcess:
    command = ["-m", "sitrep.cli.main", "worker", "--loglevel", "info"]
    return WorkerProcess.spawn(command, {**env, "SITREP_WORKER_ID": group}, workdir)


def start_api(env: dict[str, str], port: int, workdir: Path) -> WorkerProcess:
    command = ["-m", "sitrep.cli.main", "api", "--port", str(port), "--log-level", "warning"]
    return WorkerProcess.spawn(command, env, workdir)


# -- pre-publishing ----------------------------------------------------------------------------


ANSWERS = ("claim.denied", "event.retracted")


def record_of(event: dict[str, Any]) -> tuple[bytes, bytes]:
    """(key, value) as the Publisher writes them: keyed by the id of the event it is about."""
    subject = event["data"]["event_id"] if event["type"] in ANSWERS else event["id"]
    return subject.encode(), orjson.dumps(event)


async def prepublish(bootstrap: str, topic: str, events: Iterator[dict[str, Any]]) -> int:
    """Publish ``events`` (acks=all, idempotent, as the Publisher), at most IN_FLIGHT waiting;
    how many. They are not validated here: the history's tests check that every one is valid."""
    producer = clients.producer(
        bootstrap,
        client_id="sitrep-bench-scale",
        acks="all",
        enable_idempotence=True,
        linger_ms=20,
        max_batch_size=512 * 1024,
    )
    await producer.start()
    waiting: deque[asyncio.Future[Any]] = deque()
    sent = 0
    try:
        for event in events:
            key, value = record_of(event)
            waiting.append(await producer.send(topic, value, key=key))
            sent += 1
            if len(waiting) >= IN_FLIGHT:
                await asyncio.gather(*(waiting.popleft() for _ in range(IN_FLIGHT // 2)))
            if sent % 100_000 == 0:
                say(f"published {sent:,}")
        await asyncio.gather(*waiting)
    finally:
        await producer.stop()
    return sent


# -- the worker --------------------------------------------------------------------------------


async def from_zero(
    offsets: Offsets,
    worker: WorkerProcess,
    names: TopicNames,
    group: str,
    events: int,
    within: float,
    probe: Path,
) -> FromZero:
    """Until the group committed the ends of its inputs and the views stopped growing."""
    ready = await worker.wait_ready(within=300.0)
    cpu0 = worker.cpu_seconds()
    say(f"worker ready after {ready - worker.spawned:.1f} s; folding {events:,} events")
    inputs, views = [names.events, names.filed], [*names.views().values(), names.registry]
    deadline = time.monotonic() + within
    last_views, stable, partial = -1, 0, False
    failure: str | None = None
    last_change = time.time()
    while stable < 4:  # 1 s without a new view record once nothing is left to read
        await asyncio.sleep(0.25)
        try:
            check_alive(worker)
        except RuntimeError as exc:
            failure, partial = str(exc).splitlines()[0], True
            say(failure)
            break
        if time.monotonic() > deadline:
            partial = True
            break
        ends = await offsets.ends(inputs)
        committed = await offsets.committed(group)
        behind = sum(max(0, end - committed.get(tp, 0)) for tp, end in ends.items())
        total_views = await offsets.total(views)
        stable = stable + 1 if behind == 0 and total_views == last_views else 0
        if stable == 0:
            last_change = time.time()
        last_views = total_views
    committed = await offsets.committed(group)
    folded = sum(o for tp, o in committed.items() if tp.topic == names.events)
    _, views_last = await offsets.edges(views)
    end = time.time() if partial else (views_last or last_change)
    cpu1 = worker.cpu_seconds()
    await asyncio.sleep(1.2)  # the probe writes every second
    return FromZero(
        events=events,
        folded=min(folded, events),
        seconds=end - ready,
        startup_s=ready - worker.spawned,
        cpu_s=cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None,
        peak_rss_mib=worker.peak_rss_mib(),
        probe=read_probe(probe),
        partial=partial,
        failure=failure,
    )


async def view_consumer(offsets: Offsets, topic: str) -> AIOKafkaConsumer:
    """A consumer of every partition of ``topic``, from its end now."""
    consumer = clients.consumer(offsets.bootstrap, enable_auto_commit=False)
    await consumer.start()
    consumer.assign(await offsets.partitions(topic))
    await consumer.seek_to_end()
    for tp in consumer.assignment():
        await consumer.position(tp)
    return consumer


async def restart(
    offsets: Offsets,
    names: TopicNames,
    spawn: Callable[[], WorkerProcess],
    load: SyntheticLoad,
    within: float,
) -> tuple[WorkerProcess, Restart]:
    """Start the worker again on its state and, at once, publish a control.changed at a new
    place: seconds until that place is on the control view."""
    consumer = await view_consumer(offsets, names.view_control)
    producer = clients.producer(offsets.bootstrap, acks="all")
    await producer.start()
    try:
        place, event = next(load.probes(1))
        key, value = record_of(event)
        worker = spawn()
        started = time.monotonic()
        await producer.send_and_wait(names.events, value, key=key)
        arrived: float | None = None
        ready_s: float | None = None
        while arrived is None and time.monotonic() - started < within:
            check_alive(worker)
            if ready_s is None and "[^Worker]: Ready" in worker.log_text():
                ready_s = time.monotonic() - started
            batch = await consumer.getmany(timeout_ms=50)
            for records in batch.values():
                if any(r.key == place.encode() for r in records):
                    arrived = time.monotonic() - started
        if ready_s is None:
            ready_s = (await worker.wait_ready(within=300.0)) - worker.spawned
    finally:
        await producer.stop()
        await consumer.stop()
    return worker, Restart(ready_s, arrived, worker.peak_rss_mib())


class HistoryLoad(SyntheticLoad):
    """bench.processors' load, with the history's next events in place of its own mix."""

    def __init__(self, run_id: str, rest: Iterator[dict[str, Any]]) -> None:
        super().__init__(run_id)
        self.rest = rest

    def event(self) -> dict[str, Any]:
        return next(self.rest)


# -- the API -----------------------------------------------------------------------------------


async def api_phases(
    args: argparse.Namespace,
    env: dict[str, str],
    workdir: Path,
    processes: list[WorkerProcess],
    asked: list[tuple[str, str, float]],
) -> ApiRun:
    port = args.api_port or free_port_block(1)
    base = f"http://127.0.0.1:{port}"
    client_args = argparse.Namespace(concurrency=args.concurrency, seconds=args.api_seconds)
    api = start_api(env, port, workdir / "api")
    processes.append(api)
    async with httpx.AsyncClient(base_url=base, timeout=60.0) as http:
        try:
            run = ApiRun(await wait_ready(http, api, within=args.max_seconds))
        except RuntimeError as exc:
            say(f"the API was not ready: {str(exc).splitlines()[0]}")
            return ApiRun(None, peak_rss_mib=api.peak_rss_mib())
        say(f"API ready after {run.ready_s:.1f} s")
        for label, path, _ in asked:
            try:
                size = len((await http.get(path)).content)
                phase = await measure(port, api, Phase(label, path), client_args)
            except (TimeoutError, httpx.TimeoutException):
                # An answer slower than the client's patience is a figure too: no samples.
                say(f"{label}: no answer in time")
                run.phases.append((Phase(label, path), 0))
                continue
            say(f"{label}: {phase.rate:,.0f} req/s, p99 {phase.quantile(0.99):,.1f} ms")
            run.phases.append((phase, size))
    await asyncio.sleep(1.2)
    run.peak_rss_mib, run.probe = api.peak_rss_mib(), read_probe(Path(env["SITREP_LOOP_PROBE"]))
    await asyncio.to_thread(api.stop)
    again = start_api(env, port, workdir / "api-again")
    processes.append(again)
    async with httpx.AsyncClient(base_url=base, timeout=60.0) as http:
        try:
            run.restart_ready_s = await wait_ready(http, again, within=args.max_seconds)
        except RuntimeError as exc:
            say(f"the restarted API was not ready: {str(exc).splitlines()[0]}")
    run.restart_rss_mib = again.peak_rss_mib()
    await asyncio.to_thread(again.stop)
    return run


# -- the run -----------------------------------------------------------------------------------


async def worker_phases(
    args: argparse.Namespace,
    results: Results,
    bootstrap: str,
    names: TopicNames,
    offsets: Offsets,
    workdir: Path,
    processes: list[WorkerProcess],
    rest: Iterator[dict[str, Any]],
) -> None:
    n = results.events
    if not args.skip_floor:
        try:
            async with asyncio.timeout(args.max_seconds):
                results.floor_s = await faust_floor(
                    bootstrap, names, "decode", n, workdir, processes
                )
            say(f"bare faust agent (decode): {n / results.floor_s:,.0f} ev/s")
        except TimeoutError:
            say(f"the bare faust agent did not finish within {args.max_seconds:.0f} s")
    group = f"{names.namespace}-views"
    probe = workdir / "worker-probe.json"
    env = service_env(bootstrap, names, workdir / "worker", probe)
    worker = start_worker(env, group, workdir / "worker")
    processes.append(worker)
    results.worker = await from_zero(offsets, worker, names, group, n, args.max_seconds, probe)
    say(f"worker: {results.worker.rate:,.0f} ev/s over {results.worker.seconds:.1f} s")
    await asyncio.to_thread(worker.stop)
    if results.worker.partial:
        say("the worker did not catch up: no restart, no latency phase")
        return
    probe_again = workdir / "worker-probe-restart.json"
    env_again = {**env, "SITREP_LOOP_PROBE": str(probe_again)}
    load = HistoryLoad(names.namespace, rest)

    def spawn() -> WorkerProcess:
        again = start_worker(env_again, group, workdir / "worker-restart")
        processes.append(again)
        return again

    worker, results.restart = await restart(offsets, names, spawn, load, args.max_seconds)
    say(f"restart: a new event on the views after {results.restart.new_event_s or math.nan:.1f} s")
    sample = orjson.dumps(next(rest))
    latency_topic = f"{names.namespace}.bench.latency"
    results.broker_latency = await broker_latency(
        offsets, latency_topic, args.rate, args.latency_seconds, sample
    )
    results.view_latency = await sitrep_latency(
        offsets, names, load, args.rate, args.latency_seconds, args.probe_every
    )
    await asyncio.sleep(1.2)
    results.restart.peak_rss_mib = worker.peak_rss_mib()
    results.restart.probe = read_probe(probe_again)
    await asyncio.to_thread(worker.stop)


async def run(args: argparse.Namespace, workdir: Path, processes: list[WorkerProcess]) -> Results:
    cancel_on_sigterm()
    bootstrap, broker, cluster = await open_broker(workdir)
    names = TopicNames(f"scale{uuid.uuid4().hex[:8]}")
    offsets = Offsets(bootstrap)
    try:
        await ensure_topics(
            bootstrap,
            [
                *all_topics(PARTITIONS, 1, names),
                TopicSpec(f"{names.namespace}.bench.latency", PARTITIONS),
                TopicSpec(f"{names.namespace}.bench.sink", PARTITIONS),
            ],
            1,
        )
        await offsets.start()
        history = History(seed=args.seed, prefix=names.namespace)
        # The latency phase goes on with the same history, after the N pre-published events.
        stream = history.events(args.events + int(args.rate * args.latency_seconds) + 1_000)
        say(f"publishing {args.events:,} events of a history over {len(history.sites):,} places")
        started = time.perf_counter()
        sent = await prepublish(bootstrap, names.events, islice(stream, args.events))
        last = history.last_reported
        results = Results(
            broker,
            sent,
            time.perf_counter() - started,
            history.place_counts.most_common(1)[0],
            len(history.place_counts),
            middle=(START + (last - START) / 2).date().isoformat(),
            since=(last - timedelta(days=30)).date().isoformat(),
        )
        say(f"published in {results.publish_s:.1f} s")
        if not args.skip_worker:
            await worker_phases(
                args,
                results,
                bootstrap,
                names,
                offsets,
                workdir,
                processes,
                stream,
            )
        if not args.skip_api:
            asked = endpoints(results.busiest[0], results.middle, results.since)
            env = service_env(bootstrap, names, workdir / "api", workdir / "api-probe.json")
            results.api = await api_phases(args, env, workdir, processes, asked)
        return results
    finally:
        await clean_up(processes, offsets, names, cluster)
        if args.logs is not None:
            keep_logs(processes, workdir, args.logs)


def keep_logs(processes: list[WorkerProcess], workdir: Path, where: Path) -> None:
    """Copy each process's log, and what each loop probe wrote (with the stack of its longest
    block), to ``where`` (the run's directory is deleted at its end)."""
    where.mkdir(parents=True, exist_ok=True)
    for process in processes:
        name = str(process.log_path.parent.relative_to(workdir)).replace(os.sep, "-")
        shutil.copyfile(process.log_path, where / f"{name}.log")
    for probe in workdir.glob("*probe*.json"):
        shutil.copyfile(probe, where / probe.name)
    say(f"logs kept in {where}")


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--events", type=int, default=100_000, help="history pre-published (N)")
    parser.add_argument("--seed", type=int, default=20241130, help="of the history")
    parser.add_argument(
        "--max-seconds", type=float, default=1800.0, help="longest wait for any catch-up"
    )
    parser.add_argument("--skip-worker", action="store_true", help="no worker phases")
    parser.add_argument("--skip-floor", action="store_true", help="no bare faust agent")
    parser.add_argument("--skip-api", action="store_true", help="no API phases")
    parser.add_argument("--rate", type=float, default=200.0, help="latency phase events/s")
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument(
        "--probe-every", type=int, default=4, help="every k-th latency event is timed"
    )
    parser.add_argument("--api-port", type=int, default=0, help="0: a free port")
    parser.add_argument("--api-seconds", type=float, default=5.0, help="per endpoint")
    parser.add_argument("--concurrency", type=int, default=8, help="keep-alive connections")
    parser.add_argument("--logs", type=Path, default=None, help="keep the processes' logs here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.ERROR)
    command = " ".join([".venv/bin/python -m bench.scale", *map(shlex.quote, sys.argv[1:])])
    results = run_to_end(run, args, "sitrep-bench-scale-", "the worker, the API and the broker")
    if results is None:
        return 130
    print(table(results, args, command), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
