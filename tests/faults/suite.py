"""The fault suite: `make faults` (`python -m tests.faults.suite [--short]`).

On loopback, on Sitrep's own 3-node cluster (replication 3, min in-sync 2): two workers and
two API processes behind nginx, a steady load of events published through each API, through
the proxy and with `sitrep publish`, and, one at a time, the faults an operator meets: a
worker killed (again and again, at random moments), a broker killed, every broker stopped for
a while, an API killed mid-request, a corpus of poison written straight onto the log,
hundreds of stream clients that read slowly. After each, once the workers have caught up, it
checks what users rely on:

- every event an API (2xx) or the CLI (exit status 0) acknowledged is on the log, and nothing
  was lost from the views: the view topics equal what the pure core makes from every event on
  the log (a rebuild);
- no good record is dead-lettered (only the poison is);
- the APIs answer again, directly and behind the proxy, and their memory is back within 10%
  of where it was before the fault.

It prints a table of what was done, what held and how long recovery took, and exits 1 if
anything did not hold. ``--short`` (the form meant for CI) kills the worker twice, not ten
times, stops the brokers for 10 s, not 30, and holds the 300 stream clients for 20 s, not 60.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import shutil
import signal
import socket
import statistics
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
from sitrep.running.proxy import nginx, nginx_config
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
MEMORY_SLACK = 1.10
"""How far above its memory before a fault an API may stand once the fault is over."""
STREAM_CLIENTS = 300
PLACE = "/v1/places/Aleppo"
"""A read whose latency shows what the stream's clients cost the others."""
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
    proxy_port: int
    """nginx in front of both APIs, as a load balancer stands in front of replicas."""
    acked: set[str] = field(default_factory=set)
    poison_keys: set[bytes] = field(default_factory=set)
    sent: int = 0
    refused: int = 0
    by_cli: int = 0
    """Events `sitrep publish` acknowledged."""
    quiet: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held by the load for each request, and by a check for all of it: what is checked is
    the log and the views with nothing more on the way."""
    memory_before: dict[int, float] = field(default_factory=dict)
    """Each API's resident memory (MB, by port) before the fault under way."""

    def api_pid(self, port: int) -> int:
        return self.stack.apis[self.api_ports.index(port)].pid

    def api_memory(self) -> dict[int, float]:
        return {port: _rss_mb(self.api_pid(port)) for port in self.api_ports}

    @property
    def group(self) -> str:
        return f"{self.stack.names.namespace}-views"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _env() -> dict[str, str]:
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    return {
        "SITREP_API_TOKENS": f"faults:publisher:{digest}",
        "SITREP_REPLICATION_FACTOR": "3",
        "SITREP_API_RATE_PER_TOKEN": "",
        # The stream's clients all come from loopback: one address, where users are many.
        "SITREP_API_RATE_PER_ADDRESS": "",
    }


def _templates() -> list[dict[str, Any]]:
    return [event_to_dict(e) for e in seed_events() if e.type in LOADED]


CLI_EVERY = 25
"""Every so many batches go through `sitrep publish` instead of the HTTP API."""


async def _through_the_cli(run: Run, batch: list[dict[str, Any]]) -> bool:
    """``batch`` published with `sitrep publish` (read from stdin); whether it acknowledged
    every line (exit status 0)."""
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": run.stack.bootstrap,
        "SITREP_TOPIC_NAMESPACE": run.stack.names.namespace,
    }
    proc = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "sitrep.cli.main", "publish", "-", "--quiet", "--no-check-names"],
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    lines = b"".join(orjson.dumps(event) + b"\n" for event in batch)
    try:
        await asyncio.wait_for(proc.communicate(lines), 90)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return False
    return proc.returncode == 0


async def _load(run: Run, stop: asyncio.Event) -> None:
    """Publish through each API, the proxy and the CLI in turn, noting what each
    acknowledged."""
    templates = _templates()
    rng = random.Random(7)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(timeout=20) as client:
        n = 0
        while not stop.is_set():
            targets = [*run.api_ports, run.proxy_port]  # each API, and both behind the proxy
            port = targets[n % len(targets)]
            batch = [{**rng.choice(templates), "id": f"load-{n}-{i}"} for i in range(4)]
            n += 1
            async with run.quiet:
                run.sent += len(batch)
                if n % CLI_EVERY == 0:
                    if await _through_the_cli(run, batch):
                        run.acked.update(event["id"] for event in batch)
                        run.by_cli += len(batch)
                    else:
                        run.refused += len(batch)
                    continue
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
    answering = [(f"API :{port}", port) for port in run.api_ports]
    async with httpx.AsyncClient(timeout=10) as client:
        for who, port in [*answering, ("the proxy", run.proxy_port)]:
            try:
                ready = await client.get(f"http://127.0.0.1:{port}/readyz")
            except httpx.HTTPError as exc:
                ready = None
                outcome.notes.append(f"{who} does not answer: {exc}")
            if ready is None or ready.status_code != 200:
                outcome.held = False
    _check_memory(run, outcome)


def _check_memory(run: Run, outcome: Outcome) -> None:
    if not run.memory_before:
        return
    now = run.api_memory()
    for port, before in run.memory_before.items():
        if now[port] > before * MEMORY_SLACK:
            outcome.held = False
            outcome.notes.append(
                f"API :{port} holds {now[port]:.0f} MB, {before:.0f} MB before: not released"
            )
    spread = ", ".join(f"{run.memory_before[p]:.0f}→{now[p]:.0f}" for p in run.api_ports)
    outcome.notes.append(f"API memory {spread} MB")


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
    port = run.api_ports[0]
    victim = run.stack.apis[0]
    victim.send_signal(signal.SIGKILL)  # the load is mid-request on it, or about to be
    victim.wait()
    began = time.monotonic()
    run.stack.apis[0] = run.stack.start_api(port, _env())
    run.stack.apis.pop()  # start_api appended it: keep the APIs in the order of their ports
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


async def _slow_client(port: int, path: str, until: float, statuses: list[int]) -> None:
    """A stream client that reads a few hundred bytes every two seconds until ``until``: its
    socket's small receive buffer fills at once, so what it does not read waits in the API."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=1024)
    except OSError:
        sock.close()
        statuses.append(0)
        return
    status = 0
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readline(), 30)
        status = int(head.split()[1]) if head.startswith(b"HTTP/") else 0
        while time.monotonic() < until:
            if not await reader.read(256):
                break
            await asyncio.sleep(2)
    except (OSError, TimeoutError, ValueError, IndexError):
        pass
    finally:
        statuses.append(status)
        writer.close()


async def _latency_ms(port: int, times: int = 40) -> tuple[float, float]:
    """p50 and p99 of ``PLACE`` on the API at ``port``, asked ``times`` times in a row."""
    took: list[float] = []
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(times):
            began = time.perf_counter()
            await client.get(f"http://127.0.0.1:{port}{PLACE}")
            took.append((time.perf_counter() - began) * 1000)
    took.sort()
    return statistics.median(took), took[min(len(took) - 1, round(0.99 * len(took)))]


async def _stream_clients(port: int) -> tuple[float, float]:
    """How many clients follow the stream of the API at ``port``, and how many it dropped."""
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    found = {"sitrep_stream_clients": 0.0, "sitrep_stream_clients_dropped_total": 0.0}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in found:
            found[name] = float(value)
    return found["sitrep_stream_clients"], found["sitrep_stream_clients_dropped_total"]


async def slow_streams(run: Run, clients: int, hold_s: float) -> Outcome:
    """``clients`` slow stream clients, half from the beginning, spread over the APIs, held
    for ``hold_s`` seconds while the load goes on, then let go."""
    outcome = Outcome(
        "slow stream clients", f"{clients} stream clients reading slowly, held {hold_s:.0f} s"
    )
    before = [await _latency_ms(port) for port in run.api_ports]
    until = time.monotonic() + hold_s
    statuses: list[int] = []
    paths = ["/v1/stream?from=beginning", "/v1/stream"]
    tasks = [
        asyncio.create_task(
            _slow_client(
                [*run.api_ports, run.proxy_port][i % 3], paths[(i // 3) % 2], until, statuses
            )
        )
        for i in range(clients)
    ]
    await asyncio.sleep(min(10.0, hold_s / 2))
    during = [await _latency_ms(port) for port in run.api_ports]
    peak = run.api_memory()
    following = [await _stream_clients(port) for port in run.api_ports]
    await asyncio.gather(*tasks)
    await asyncio.sleep(2)  # the APIs see the clients leave
    left = [await _stream_clients(port) for port in run.api_ports]
    answered = sum(1 for s in statuses if s == 200)
    outcome.notes.append(
        f"{answered} streamed, {sum(1 for s in statuses if s == 503)} refused (503); "
        f"{sum(f for f, _ in following):.0f} following after {min(10.0, hold_s / 2):.0f} s, "
        f"{sum(d for _, d in left):.0f} dropped for falling behind"
    )
    outcome.notes.append(
        f"{PLACE} p50/p99 "
        + ", ".join(
            f"{b[0]:.0f}/{b[1]:.0f} ms → {d[0]:.0f}/{d[1]:.0f} ms"
            for b, d in zip(before, during, strict=True)
        )
    )
    outcome.notes.append("peak " + ", ".join(f"{peak[p]:.0f}" for p in run.api_ports) + " MB")
    still = sum(f for f, _ in left)
    if still:
        outcome.held = False
        outcome.notes.append(f"{still:.0f} stream clients still counted after they left")
    if answered + sum(1 for s in statuses if s == 503) != clients:
        outcome.held = False
        outcome.notes.append(f"{clients - answered} stream clients got no answer")
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
    run = Run(stack, cluster, [base, base + 1], base + 2)
    home = workdir / "proxy"
    config = nginx_config(
        home, f"127.0.0.1:{run.proxy_port}", [f"127.0.0.1:{p}" for p in run.api_ports], 1 << 20
    )
    proxy = await asyncio.create_subprocess_exec(
        *[nginx(), "-p", str(home), "-c", str(config), "-e", str(home / "error.log")],
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
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
            lambda: slow_streams(run, STREAM_CLIENTS, 20 if short else 60),
        ]
        outcomes = []
        await asyncio.sleep(20)  # the APIs warm up under the load before their memory counts
        for scenario in scenarios:
            await asyncio.sleep(5)
            run.memory_before = run.api_memory()
            outcomes.append(await scenario())
        stop.set()
        await load
        final = Outcome(
            "at the end",
            f"{run.sent} events sent, {len(run.acked)} acknowledged ({run.by_cli} by the CLI)",
        )
        run.memory_before = {}
        await _check(run, final)
        outcomes.append(final)
        return outcomes
    finally:
        proxy.terminate()
        await proxy.wait()
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
    parser.add_argument(
        "--short", action="store_true", help="the short form, meant for CI: fewer, shorter faults"
    )
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
