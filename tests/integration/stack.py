"""Running Sitrep's processors as a user does, in a namespace of topics of their own."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from sitrep.contract import Event
from sitrep.engine.projection import project_all
from sitrep.kafka import ensure_topics
from sitrep.publishing import Publisher
from sitrep.resolution.places import Gazetteer
from sitrep.topics import TopicNames, all_topics
from sitrep.views.actors import registry_of
from sitrep.views.routing import REGISTRY_KEY
from tests.integration.records import latest
from tests.seeded import seeded

PARTITIONS = 6


@dataclass
class Stack:
    """A namespace of topics on the session's cluster, and the workers running on it."""

    bootstrap: str
    names: TopicNames
    log_dir: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    apis: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[IO[bytes]] = field(default_factory=list)

    async def create_topics(self) -> None:
        await ensure_topics(self.bootstrap, all_topics(PARTITIONS, 1, self.names), 1)

    def start_worker(
        self,
        worker_id: str | None = None,
        *,
        world: bool = False,
        extra_env: Mapping[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """`sitrep worker` on this namespace: with the seed places alone (quick to load), or
        the ``world`` gazetteer as users run it; ``extra_env`` adds to its environment."""
        env = {
            "SITREP_WORKER_ID": worker_id or f"{self.names.namespace}-views",
            "SITREP_EVENTS_PARTITIONS": str(PARTITIONS),
            **(extra_env or {}),
        }
        loglevel = os.environ.get("SITREP_TEST_WORKER_LOGLEVEL", "info")
        command = ["worker", *_gazetteer_option(world), "--loglevel", loglevel]
        proc = self._sitrep(command, env, f"worker-{len(self.logs)}.log")
        self.workers.append(proc)
        return proc

    def start_api(
        self, port: int, env: Mapping[str, str] | None = None, *, world: bool = False
    ) -> subprocess.Popen[bytes]:
        """`sitrep api` on ``port``, following this namespace's log, with the seed places alone
        or the ``world`` gazetteer; ``env`` adds to its environment (tokens, for one). Stopped
        by :meth:`stop_all`."""
        command = ["api", *_gazetteer_option(world), "--port", str(port), "--log-level", "warning"]
        proc = self._sitrep(command, env or {}, f"api-{len(self.logs)}.log")
        self.apis.append(proc)
        return proc

    def _sitrep(
        self, command: list[str], env: Mapping[str, str], log_name: str
    ) -> subprocess.Popen[bytes]:
        """`sitrep <command>` on this namespace, with ``env`` added, logging to ``log_name``."""
        log = (self.log_dir / log_name).open("wb")
        self.logs.append(log)
        return subprocess.Popen(
            [sys.executable, "-m", "sitrep.cli.main", *command],
            env={
                **os.environ,
                "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
                "SITREP_TOPIC_NAMESPACE": self.names.namespace,
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.log_dir,
        )

    def stop_worker(self, proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def log_tails(self, lines: int = 40) -> str:
        """How each worker's (and API's) log ends (for a failing test's message)."""
        tails = []
        for log in self.logs:
            log.flush()
            text = Path(log.name).read_text(errors="replace").splitlines()
            tails.append(f"--- {Path(log.name).name}\n" + "\n".join(text[-lines:]))
        return "\n".join(tails)

    def stop_all(self) -> None:
        for proc in [*self.workers, *self.apis]:
            if proc.poll() is None:
                self.stop_worker(proc)
        for log in self.logs:
            log.close()

    async def publish(self, events: Iterable[Event | dict[str, Any]]) -> None:
        async with Publisher(self.bootstrap, topic=self.names.events) as publisher:
            futures = [await publisher.enqueue(e) for e in events]
            await asyncio.gather(*futures)


def _gazetteer_option(world: bool) -> list[str]:
    return [] if world else ["--seeds-only"]


def new_stack(bootstrap: str, tmp_path: Path) -> Stack:
    return Stack(bootstrap, TopicNames(f"t{uuid.uuid4().hex[:10]}"), tmp_path)


async def all_views(stack: Stack) -> dict[str, dict[bytes, bytes]]:
    """Every view topic's live records (tombstones dropped)."""
    out = {}
    for kind, topic in stack.names.views().items():
        out[kind] = {
            k: v for k, v in (await latest(stack.bootstrap, topic)).items() if v is not None
        }
    return out


def expected_views(
    events: list[Event], names: TopicNames, gazetteer: Gazetteer | None = None
) -> dict[str, dict[bytes, bytes]]:
    """What the views must say: the pure core's projection of the same events, over
    ``gazetteer`` (the seed places by default)."""
    situation = seeded(events, gazetteer)
    registry = registry_of(situation.ledgers.get(REGISTRY_KEY))
    by_topic: dict[str, dict[bytes, bytes]] = {topic: {} for topic in names.views().values()}
    for (topic, key), value in project_all(situation.ledgers.values(), registry, names).items():
        if topic in by_topic:
            by_topic[topic][key.encode()] = value
    kinds = {topic: kind for kind, topic in names.views().items()}
    return {kinds[topic]: records for topic, records in by_topic.items()}


def view_differences(
    actual: dict[str, dict[bytes, bytes]], expected: dict[str, dict[bytes, bytes]]
) -> list[str]:
    """What differs between two sets of views, one line per view record."""
    lines = []
    for kind in sorted(set(actual) | set(expected)):
        have, want = actual.get(kind, {}), expected.get(kind, {})
        for key in sorted(set(have) | set(want)):
            if key not in have:
                lines.append(f"{kind}/{key.decode()}: missing")
            elif key not in want:
                lines.append(f"{kind}/{key.decode()}: not expected")
            elif have[key] != want[key]:
                lines.append(
                    f"{kind}/{key.decode()}: differs: {have[key][:300]!r} != {want[key][:300]!r}"
                )
    return lines


async def wait_for_views(
    stack: Stack,
    events: list[Event],
    *,
    within: float = 90.0,
    gazetteer: Gazetteer | None = None,
) -> None:
    """Wait until the view topics say what the pure core says of ``events`` (over
    ``gazetteer``, the seed places by default); else fail, saying which records differ and how
    each worker's log ends."""
    expected = expected_views(events, stack.names, gazetteer)
    deadline = asyncio.get_running_loop().time() + within
    differences: list[str] = []
    while asyncio.get_running_loop().time() < deadline:
        differences = view_differences(await all_views(stack), expected)
        if not differences:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(
        f"views not as expected within {within}s; {len(differences)} records differ:\n"
        + "\n".join(differences[:30])
        + "\n"
        + stack.log_tails()
    )


async def api_answering(
    stack: Stack, api: subprocess.Popen[bytes], client: Any, *, within: float = 90.0
) -> None:
    """Wait until ``api`` (one of ``stack``'s) answers ``/healthz`` through ``client`` (an
    ``httpx.AsyncClient``); fail at once, with the logs, if it ended."""

    async def answers() -> bool:
        if api.poll() is not None:
            raise AssertionError(f"`sitrep api` ended:\n{stack.log_tails()}")
        try:
            return bool((await client.get("/healthz")).status_code == 200)
        except httpx.TransportError:
            return False

    await wait_for(answers, within=within, every=0.1)


async def wait_for(check: Callable[[], Any], *, within: float = 90.0, every: float = 0.5) -> Any:
    """Poll ``check`` (async) until it returns something truthy; return it, or fail."""
    deadline = asyncio.get_running_loop().time() + within
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"not reached within {within}s (last: {last!r:.500})")
