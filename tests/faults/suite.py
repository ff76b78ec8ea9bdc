"""The fault suite: `make faults` (`python -m tests.faults.suite [--short]`).

On loopback, on Sitrep's own 3-node cluster (replication 3, min in-sync 2): two workers and
two API processes, a steady load of events published through both APIs, and, one at a time,
the faults an operator meets: a worker killed (again and again, at random moments), a broker
killed, every broker stopped for a while, an API killed mid-request, a corpus of poison
written straight onto the log. After each, once the workers have caught up, it checks what
users rely on:

- every event an API acknowledged (2xx) is on the log, and nothing was lost from the views:
  the view topics equal what the pure core makes from every event on the log (a rebuild);
- no good record is dead-lettered (only the poison is);
- the APIs answer again, and say how fresh they are.

It prints a table of what was done, what held and how long recovery took, and exits 1 if
anything did not hold. ``--short`` (what CI runs) kills the worker twice, not ten times, and
stops the brokers for 10 s, not 30.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaProducer

from sitrep.cli.kafka import start_local
from sitrep.contract import Event, InvalidEvent, event_to_dict, parse_event
from sitrep.kafka import LocalCluster, ensure_topics
from sitrep.running import wait_until_caught_up
from sitrep.topics import all_topics
from tests.integration.local_kafka import local_settings
from tests.integration.records import read_topic
from tests.integration.stack import (
    PARTITIONS,
    Stack,
    all_views,
    expected_views,
    new_stack,
    view_differences,
)
from tests.seeded import seed_events

TOKEN = "faults-publisher-token"
RATE = 20.0
"""Events a second published while faults happen."""
LOADED = ("control.changed", "strike.reported", "clash.reported", "casualties.reported")


@dataclass
class Outcome:
    fault: str
    done: str
    held: bool = True
    notes: list[str] = field(default_factory=list)
    recovery_s: float = 0.0


@dataclass
class Run:
    stack: Stack
    cluster: LocalCluster
    api_ports: list[int]
    acked: set[str] = field(default_factory=set)
    poison_keys: set[bytes] = field(default_factory=set)
    sent: int = 0
    refused: int = 0
    quiet: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held by the load for each request, and by a check for all of it: what is checked is
    the log and the views with nothing more on the way."""

    @property
    def group(self) -> str:
        return f"{self.stack.names.namespace}-views"


def _env() -> dict[str, str]:
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    return {
        "SITREP_API_TOKENS": f"faults:publisher:{digest}",
        "SITREP_REPLICATION_FACTOR": "3",
        "SITREP_API_RATE_PER_TOKEN": "",
    }


def _templates() -> list[dict[str, Any]]:
    return [event_to_dict(e) for e in seed_events() if e.type in LOADED]


async def _load(run: Run, stop: asyncio.Event) -> None:
    """Publish through both APIs in turn, noting what each acknowledged."""
    templates = _templates()
    rng = random.Random(7)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(timeout=20) as client:
        n = 0
        while not stop.is_set():
            port = run.api_ports[n % len(run.api_ports)]
            batch = [{**rng.choice(templates), "id": f"load-{n}-{i}"} for i in range(4)]
            n += 1
            async with run.quiet:
                run.sent += len(batch)
                try:
                    answer = await client.post(
                        f"http://127.0.0.1:{port}/v1/events", json=batch, headers=headers
                    )
                except httpx.HTTPError:
                    run.refused += len(batch)
                else:
                    if answer.status_code == 200:
                        for result in answer.json()["results"]:
                            if result["status"] in ("accepted", "duplicate"):
                                run.acked.add(result["id"])
                    else:
                        run.refused += len(batch)
            await asyncio.sleep(len(batch) / RATE)


async def _on_the_log(run: Run) -> tuple[list[Event], set[str], int]:
    """The valid events on the log (first copy of each id), every id, and how many records."""
    records = await read_topic(run.stack.bootstrap, run.stack.names.events, within=60)
    events: dict[str, Event] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        try:
            event = parse_event(record.value) if record.value is not None else None
        except InvalidEvent:
            continue
        if event is not None:
            events.setdefault(event.id, event)
    return list(events.values()), set(events), len(records)


async def _settled(run: Run, within: float = 180.0) -> float:
    began = time.monotonic()
    names = run.stack.names
    await wait_until_caught_up(
        run.stack.bootstrap, run.group, [names.events, names.filed], within=within
    )
    return time.monotonic() - began


async def _check(run: Run, outcome: Outcome) -> None:
    """What must hold after a fault, once the workers have caught up (the load paused)."""
    async with run.quiet:
        await _checked(run, outcome)


async def _checked(run: Run, outcome: Outcome) -> None:
    try:
        outcome.recovery_s = await _settled(run)
    except TimeoutError as exc:
        outcome.held = False
        outcome.notes.append(f"the workers did not catch up: {exc}")
        return
    events, ids, _ = await _on_the_log(run)
    lost = run.acked - ids
    if lost:
        outcome.held = False
        outcome.notes.append(f"{len(lost)} acknowledged events not on the log")
    expected = expected_views(events, run.stack.names)
    differences: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the last flushes after the positions caught up
        differences = view_differences(await all_views(run.stack), expected)
        if not differences:
            break
        await asyncio.sleep(1)
    if differences:
        outcome.held = False
        outcome.notes.append(f"views differ from a rebuild: {differences[:3]}")
    dead = await read_topic(run.stack.bootstrap, run.stack.names.dead_letter, within=30)
    good = [r for r in dead if r.key not in run.poison_keys]
    if good:
        outcome.held = False
        outcome.notes.append(f"{len(good)} good records dead-lettered: {good[0].key!r}")
    async with httpx.AsyncClient(timeout=10) as client:
        for port in run.api_ports:
            try:
                ready = await client.get(f"http://127.0.0.1:{port}/readyz")
            except httpx.HTTPError as exc:
                ready = None
                outcome.notes.append(f"API :{port} does not answer: {exc}")
            if ready is None or ready.status_code != 200:
                outcome.held = False


# --- the faults -------------------------------------------------------------------------------


async def kill_workers(run: Run, times: int) -> Outcome:
    rng = random.Random(11)
    for _ in range(times):
        await asyncio.sleep(rng.uniform(1, 6))
        victim = rng.choice([w for w in run.stack.workers if w.poll() is None])
        run.stack.stop_worker(victim, kill=True)
        run.stack.workers.remove(victim)
        run.stack.start_worker(extra_env=_env())
    outcome = Outcome("worker killed", f"SIGKILL a worker {times} times at random moments")
    await _check(run, outcome)
    return outcome


async def kill_broker(run: Run) -> Outcome:
    state = run.cluster.state()
    assert state is not None
    node = run.cluster.nodes(state)[1]
    pid = int(node.pid_file.read_text())
    os.kill(pid, signal.SIGKILL)
    await asyncio.sleep(10)
    await run.cluster.start(3)
    outcome = Outcome("broker killed", "SIGKILL one of three brokers, started again after 10 s")
    await _check(run, outcome)
    return outcome


async def stop_brokers(run: Run, seconds: float) -> Outcome:
    await run.cluster.stop()
    await asyncio.sleep(seconds)
    await run.cluster.start(3)
    outcome = Outcome("all brokers stopped", f"every broker stopped for {seconds:.0f} s")
    await _check(run, outcome)
    return outcome


async def kill_api(run: Run) -> Outcome:
    victim = run.stack.apis[0]
    victim.send_signal(signal.SIGKILL)  # the load is mid-request on it, or about to be
    victim.wait()
    run.stack.apis.remove(victim)
    began = time.monotonic()
    run.stack.start_api(run.api_ports[0], _env())
    outcome = Outcome("API killed", "SIGKILL an API while it serves the load, started again")
    ready = await _ready(run.api_ports[0], within=120)
    outcome.notes.append(
        f"ready again after {time.monotonic() - began:.1f} s" if ready else "never ready again"
    )
    outcome.held = ready
    await _check(run, outcome)
    return outcome


async def _ready(port: int, within: float) -> bool:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    return False


POISON: list[tuple[bytes, bytes | None]] = [
    (b"poison-json", b'{"id": "broken'),
    (b"poison-type", orjson.dumps({"id": "odd", "type": "town.seized"})),
    (b"poison-utf8", b'{"id": "\xff\xfe"}'),
    (b"poison-deep", b"[" * 10_000 + b"]" * 10_000),
    (b"poison-big", b'{"id": "big", "notes": "' + b"x" * 900_000 + b'"}'),
    (b"poison-tombstone", None),
]


async def poison(run: Run) -> Outcome:
    producer = AIOKafkaProducer(
        bootstrap_servers=run.stack.bootstrap, acks="all", max_request_size=2_000_000
    )
    await producer.start()
    try:
        for key, value in POISON:
            await producer.send_and_wait(run.stack.names.events, value, key=key)
            run.poison_keys.add(key)
    finally:
        await producer.stop()
    outcome = Outcome(
        "poison", "broken JSON, unknown type, bad UTF-8, deep nesting, 900 KB, a tombstone"
    )
    await _check(run, outcome)
    return outcome


# --- running it -------------------------------------------------------------------------------


async def _main(short: bool, workdir: Path) -> list[Outcome]:
    cluster = LocalCluster(local_settings(workdir / "kafka-state", 3))
    await start_local(cluster, 3)
    state = cluster.state()
    assert state is not None
    stack = new_stack(state.bootstrap_servers, workdir)
    await ensure_topics(stack.bootstrap, all_topics(PARTITIONS, 3, stack.names), 3)
    base = 20000 + random.Random().randrange(20000)
    run = Run(stack, cluster, [base, base + 1])
    try:
        for _ in range(2):
            stack.start_worker(extra_env=_env())
        for port in run.api_ports:
            stack.start_api(port, _env())
        await stack.publish(list(seed_events()))
        await _settled(run)
        stop = asyncio.Event()
        load = asyncio.create_task(_load(run, stop))
        scenarios: list[Callable[[], Awaitable[Outcome]]] = [
            lambda: kill_workers(run, 2 if short else 10),
            lambda: kill_broker(run),
            lambda: stop_brokers(run, 10 if short else 30),
            lambda: kill_api(run),
            lambda: poison(run),
        ]
        outcomes = []
        for scenario in scenarios:
            await asyncio.sleep(5)
            outcomes.append(await scenario())
        stop.set()
        await load
        final = Outcome("at the end", f"{run.sent} events sent, {len(run.acked)} acknowledged")
        await _check(run, final)
        outcomes.append(final)
        return outcomes
    finally:
        stack.stop_all()
        await cluster.stop()


def _table(outcomes: list[Outcome]) -> str:
    lines = [
        "| fault | what was done | held | caught up after | notes |",
        "| --- | --- | --- | --- | --- |",
    ]
    for o in outcomes:
        notes = "; ".join(o.notes) or "—"
        held = "yes" if o.held else "**NO**"
        lines.append(f"| {o.fault} | {o.done} | {held} | {o.recovery_s:.1f} s | {notes} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--short", action="store_true", help="the CI form: fewer, shorter faults")
    args = parser.parse_args(argv)
    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="sitrep-faults-"))
    outcomes = asyncio.run(_main(args.short, workdir))
    held = all(o.held for o in outcomes)
    print(
        f"Sitrep fault suite ({'short' if args.short else 'full'}), {time.monotonic() - began:.0f} s"
    )
    print(_table(outcomes))
    if held:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"the processes' logs are kept in {workdir}")
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
