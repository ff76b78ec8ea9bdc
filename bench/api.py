"""The API's benchmark: `make bench-api`, or ``python -m bench.api [--events N] ...``.

In one run, on one broker (``KAFKA_BOOTSTRAP_SERVERS`` if set, else a one-node LocalCluster of
its own on free ports, stopped at the end), in a fresh namespace of topics:

1. publishes the seed events (``seeds/``) and N synthetic events (:mod:`bench.load`) to the
   event log;
2. starts ``sitrep api --seeds-only`` (the gazetteer the synthetic load resolves with) on a free
   port and waits until ``GET /readyz`` answers 200: its read model has folded the whole log;
3. for each endpoint in turn, C keep-alive connections of :mod:`bench.client` (a lean HTTP/1.1
   client in a process of its own, so that it gets a core of its own on a small machine) ask
   it again and again for S seconds, after a warm-up not timed: requests/s, p50 and p99.
   ``GET /healthz`` (the same HTTP stack doing no work) is the baseline the views are compared
   with;
4. prints one table, with the API process's peak RSS and CPU seconds, the client's CPU, the
   load average of the machine (other jobs slow the API down too), and whether the issue's
   goal for a place lookup is met: at least 5,000 requests/s with p99 under 20 ms, and at
   least 70% of the baseline's rate.

``--profile FILE`` runs the API under cProfile and prints where its time went.

Speed is measured here, never asserted by tests.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import shlex
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import client as load_client
from bench.infra import (
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
from bench.load import REPO, SEEDS, SyntheticLoad
from bench.processors import PARTITIONS, publish_all
from sitrep.kafka import ensure_topics
from sitrep.kafka.ports import free_port_block
from sitrep.running.seeding import load_seeds
from sitrep.topics import TopicNames, all_topics

BASELINE = "/healthz"
WARM_UP_S = 1.0
"""Asked before each timed phase, not timed: connections, first-request caches."""
CLIENT_GRACE_S = 120.0
"""How long past its timed seconds the client may take (the last answers, starting up)."""
GOAL_RATE = 5_000.0
GOAL_P99_MS = 20.0
GOAL_VS_BASELINE = 0.70
"""Issue 4's goal for a place lookup, on one API process."""


@dataclass
class Phase:
    """One endpoint asked by C clients for S seconds."""

    label: str
    path: str
    seconds: float = 0.0
    samples: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    api_cpu_s: float | None = None
    client_cpu_s: float | None = None
    load_average: float | None = None
    """The machine's (1 minute) when the phase ended."""

    @property
    def rate(self) -> float:
        return len(self.samples) / self.seconds if self.seconds else math.nan

    def quantile(self, q: float) -> float:
        ordered = sorted(self.samples)
        if not ordered:
            return math.nan
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    @property
    def cpu_ms_per_request(self) -> float | None:
        if self.api_cpu_s is None or not self.samples:
            return None
        return self.api_cpu_s / len(self.samples) * 1000


@dataclass
class Results:
    broker: str
    events: int
    seeds: int
    publish_s: float
    ready_s: float
    phases: list[Phase]
    peak_rss_mib: float | None
    rss_ready_mib: float | None
    api_cpu_ready_s: float | None
    api_cpu_s: float | None
    load_before: float
    """The machine's load average (1 minute) when the measurements started."""


def endpoints(synthetic_place: str) -> list[tuple[str, str]]:
    """(label, path) of what is asked; the baseline first."""
    return [
        ("GET /healthz (baseline: no work)", BASELINE),
        ("GET /v1/places/Aleppo?at=2024-12-01", "/v1/places/Aleppo?at=2024-12-01"),
        (f"GET /v1/places/{synthetic_place}", f"/v1/places/{synthetic_place}"),
        ("GET /v1/situation?country=SY", "/v1/situation?country=SY"),
    ]


def busiest_village(events: Sequence[dict[str, Any]]) -> str:
    """The name of the synthetic village (not a seeded place) most events were reported at."""
    seeded = {entry["name"] for entry in orjson.loads((SEEDS / "places.json").read_bytes())}
    counts: Counter[str] = Counter(
        event["location"]["name"]
        for event in events
        if "location" in event and event["location"]["name"] not in seeded
    )
    return counts.most_common(1)[0][0]


# -- the API process ---------------------------------------------------------------------------


def start_api(
    bootstrap: str, names: TopicNames, port: int, workdir: Path, profile: Path | None
) -> WorkerProcess:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "SITREP_TOPIC_NAMESPACE": names.namespace,
        "SITREP_API_ANONYMOUS_READ": "true",
        # One client asks thousands of times a second: what is measured is serving, not limiting.
        "SITREP_API_RATE_PER_ADDRESS": "",
        "SITREP_API_RATE_PER_TOKEN": "",
    }
    runner = ["-m", "cProfile", "-o", str(profile)] if profile is not None else []
    command = ["-m", "sitrep.cli.main", "api", "--seeds-only", "--port", str(port)]
    return WorkerProcess.spawn([*runner, *command, "--log-level", "warning"], env, workdir)


async def wait_ready(client: httpx.AsyncClient, api: WorkerProcess, within: float) -> float:
    """Seconds until ``GET /readyz`` answers 200 (the read model folded the whole log)."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if api.proc.poll() is not None:
            raise RuntimeError(f"the API exited ({api.proc.returncode}):\n{api.tail()}")
        try:
            if (await client.get("/readyz")).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass  # not listening yet
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the API was not ready within {within}s:\n{api.tail()}")


async def measure(port: int, api: WorkerProcess, phase: Phase, args: argparse.Namespace) -> Phase:
    """``phase.path`` asked by :mod:`bench.client` in a process of its own; the API's CPU is
    read when the client says the timed part starts, and again when it has finished."""
    command = [
        *("-m", load_client.__name__, "--port", str(port), "--path", phase.path),
        *("--connections", str(args.concurrency), "--seconds", str(args.seconds)),
        *("--warm-up", str(WARM_UP_S)),
    ]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *command, stdout=asyncio.subprocess.PIPE, cwd=REPO
    )
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(WARM_UP_S + args.seconds + CLIENT_GRACE_S):
            line = await proc.stdout.readline()
            if line.strip() != b"timing":
                raise RuntimeError(f"the client said {line!r} where it should say timing")
            cpu0 = api.cpu_seconds()
            result = orjson.loads(await proc.stdout.read())  # one line, then the end
            cpu1 = api.cpu_seconds()
            await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if result["failures"]:
        raise RuntimeError(f"{phase.path}: the client failed: {result['failures']}")
    phase.seconds = result["seconds"]
    phase.samples = [us / 1000 for us in result["latencies_us"]]
    phase.statuses = Counter({int(k): v for k, v in result["statuses"].items()})
    phase.api_cpu_s = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
    phase.client_cpu_s = result["cpu_s"]
    phase.load_average = os.getloadavg()[0]
    if set(phase.statuses) != {200}:
        raise RuntimeError(f"{phase.path} answered {dict(phase.statuses)}")
    return phase


# -- the run -----------------------------------------------------------------------------------


async def run(args: argparse.Namespace, workdir: Path, processes: list[WorkerProcess]) -> Results:
    cancel_on_sigterm()
    bootstrap, broker, cluster = await open_broker(workdir)
    run_id = uuid.uuid4().hex[:8]
    names = TopicNames(f"bench{run_id}")
    positions = Offsets(bootstrap)
    try:
        await ensure_topics(bootstrap, all_topics(PARTITIONS, 1, names), 1)
        await positions.start()
        seeds = sum(loaded.events for loaded in await load_seeds(bootstrap, names.events, SEEDS))
        say(f"published {seeds} seed events; generating {args.events:,} synthetic events")
        load = SyntheticLoad(run_id, seed=args.seed)
        events = load.preload(args.events)
        publish_s = await publish_all(bootstrap, names.events, events)
        say(f"published in {publish_s:.1f} s; starting the API")
        port = free_port_block(1)
        api = start_api(bootstrap, names, port, workdir / "api", args.profile)
        processes.append(api)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60.0) as client:
            ready_s = await wait_ready(client, api, within=600.0)
        rss_ready, cpu_ready = api.peak_rss_mib(), api.cpu_seconds()
        say(f"API ready (log folded) after {ready_s:.1f} s")
        load_before = os.getloadavg()[0]
        phases = []
        for label, path in endpoints(busiest_village(events)):
            phase = await measure(port, api, Phase(label, path), args)
            say(
                f"{label}: {phase.rate:,.0f} req/s, p99 {phase.quantile(0.99):,.1f} ms "
                f"(load average {phase.load_average:.2f})"
            )
            phases.append(phase)
        rss, cpu = api.peak_rss_mib(), api.cpu_seconds()
        if args.profile is not None:
            # uvicorn re-raises the signal it stopped on: SIGTERM would kill the process before
            # cProfile writes its stats; SIGINT ends it with a KeyboardInterrupt, and they are.
            api.proc.send_signal(signal.SIGINT)
            await asyncio.to_thread(api.proc.wait, 60)
        await asyncio.to_thread(api.stop)
        return Results(
            broker,
            len(events),
            seeds,
            publish_s,
            ready_s,
            phases,
            rss,
            rss_ready,
            cpu_ready,
            cpu,
            load_before,
        )
    finally:
        await clean_up(processes, positions, names, cluster)


# -- the table ---------------------------------------------------------------------------------


def goal_met(phase: Phase, base: Phase) -> str:
    """Issue 4's goal for a place lookup, checked: which parts hold."""
    parts = [
        (phase.rate >= GOAL_RATE, f"{phase.rate:,.0f} req/s (>= {GOAL_RATE:,.0f})"),
        (
            phase.quantile(0.99) < GOAL_P99_MS,
            f"p99 {phase.quantile(0.99):.1f} ms (< {GOAL_P99_MS:.0f})",
        ),
        (
            phase.rate >= GOAL_VS_BASELINE * base.rate,
            f"{phase.rate / base.rate:.2f}x baseline (>= {GOAL_VS_BASELINE:.2f})",
        ),
    ]
    verdict = "met" if all(ok for ok, _ in parts) else "NOT met"
    return f"{verdict}: " + ", ".join(f"{text} {'ok' if ok else 'no'}" for ok, text in parts)


def table(results: Results, args: argparse.Namespace, command: str) -> str:
    ms = "{:,.1f} ms".format

    def us(milliseconds: float) -> str:
        return f"{milliseconds * 1000:,.0f} µs"

    base = results.phases[0]
    lines = [
        f"Sitrep API benchmark — {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
        f"command: {command}",
        f"broker:  {results.broker}; {PARTITIONS} partitions",
        f"log:     {results.seeds} seed + {results.events:,} synthetic events "
        f"(published in {results.publish_s:.1f} s); API ready (log folded) after "
        f"{results.ready_s:.1f} s",
        f"load:    {args.concurrency} keep-alive connections of bench.client (its own "
        f"process), {args.seconds:.0f} s per endpoint (after {WARM_UP_S:.0f} s not timed)",
        f"machine: load average (1 min) {results.load_before:.2f} when the measurements "
        "started; each row's is when it ended",
        "",
        f"{'endpoint':<50}{'req/s':>9}{'p50':>11}{'p99':>11}{'max':>11}{'API CPU/req':>13}"
        f"{'client CPU/req':>16}{'vs baseline':>13}{'load':>7}",
    ]
    for phase in results.phases:
        cpu = phase.cpu_ms_per_request
        client_cpu = (
            phase.client_cpu_s / len(phase.samples) * 1000
            if phase.client_cpu_s is not None and phase.samples
            else None
        )
        lines.append(
            f"  {phase.label:<48}{phase.rate:>9,.0f}{ms(phase.quantile(0.5)):>11}"
            f"{ms(phase.quantile(0.99)):>11}{ms(phase.quantile(1.0)):>11}"
            f"{us(cpu) if cpu is not None else '?':>13}"
            f"{us(client_cpu) if client_cpu is not None else '?':>16}"
            f"{phase.rate / base.rate:>12.3f}x{phase.load_average or math.nan:>7.2f}"
        )
    lines.append("")
    for phase in results.phases:
        if phase.path.startswith("/v1/places/"):
            lines.append(f"goal ({phase.label}): {goal_met(phase, base)}")
    lines.append("")
    rss, ready = results.peak_rss_mib, results.rss_ready_mib
    lines.append(
        f"{'API peak RSS (VmHWM)':<50}"
        + (f"{rss:,.0f} MiB" if rss is not None else "?")
        + (f" (when ready: {ready:,.0f} MiB)" if ready is not None else "")
    )
    cpu_all, cpu_ready = results.api_cpu_s, results.api_cpu_ready_s
    if cpu_all is not None and cpu_ready is not None:
        lines.append(
            f"{'API CPU':<50}{cpu_all:,.1f} s ({cpu_ready:,.1f} s of it starting and folding)"
        )
    if args.profile:
        lines.append("(API run under cProfile: its numbers are slower than without)")
    return "\n".join(lines)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__)
    parser.add_argument("--events", type=int, default=20_000, help="synthetic events (N)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per endpoint (S)")
    parser.add_argument("--concurrency", type=int, default=8, help="keep-alive connections (C)")
    parser.add_argument("--seed", type=int, default=20241130, help="of the synthetic load")
    parser.add_argument(
        "--profile", type=Path, default=None, help="run the API under cProfile, stats here"
    )
    parser.add_argument("--profile-lines", type=int, default=35)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.ERROR)
    if args.profile is not None:
        args.profile = args.profile.resolve()
    command = " ".join([".venv/bin/python -m bench.api", *map(shlex.quote, sys.argv[1:])])
    results = run_to_end(run, args, "sitrep-bench-api-", "the API and the broker")
    if results is None:
        return 130
    print(table(results, args, command), flush=True)
    say(f"benchmark process CPU (publishing, waiting): {own_cpu_s():.1f} s")
    if args.profile is not None:
        print_profile(args.profile, args.profile_lines, "API")
    return 0


if __name__ == "__main__":
    sys.exit(main())
