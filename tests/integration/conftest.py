"""A real Apache Kafka for the integration tests: one cluster per session, a fresh topic per test.

Where the cluster comes from (``SITREP_TEST_KAFKA=env|docker|local`` forces one):

- ``env``: the cluster named by ``KAFKA_BOOTSTRAP_SERVERS`` (chosen first when that is set);
- ``docker``: testcontainers' KafkaContainer in KRaft mode (next, when a Docker engine answers);
- ``local``: the project's own broker (``sitrep.kafka.LocalCluster``, one node) in a temporary
  directory on free ports, stopped when the session ends.

Sitrep's topics are created on it before any test runs.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient

from sitrep.kafka import KafkaSetupError, LocalCluster, ensure_topics
from sitrep.settings import Settings
from sitrep.topics import TopicSpec, all_topics
from tests.integration.local_kafka import KafkaTarget, TopicFactory, local_settings

_HERE = Path(__file__).resolve().parent
T = TypeVar("T")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this directory needs a broker: mark it `integration`."""
    for item in items:
        if _HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.integration)


def _docker_answers() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        done = subprocess.run(
            [docker, "info"], capture_output=True, timeout=5, check=False, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def _kafka_container() -> Any:
    try:
        from testcontainers.community.kafka import KafkaContainer
    except ImportError:  # testcontainers before 4.13 kept it at the top level
        from testcontainers.kafka import KafkaContainer
    return KafkaContainer().with_kraft()


async def _with_project_topics(target: KafkaTarget) -> KafkaTarget:
    specs = all_topics(Settings().events_partitions, target.replication_factor)
    await ensure_topics(target.bootstrap, specs, target.replication_factor)
    return target


@pytest_asyncio.fixture(scope="session")
async def kafka_target(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KafkaTarget]:
    """The session's Kafka cluster, with Sitrep's topics on it."""
    mode = os.environ.get("SITREP_TEST_KAFKA", "auto")
    if mode not in ("auto", "env", "docker", "local"):
        pytest.fail(f"SITREP_TEST_KAFKA must be env, docker or local, not {mode!r}")
    settings = Settings()

    if mode == "env" or (mode == "auto" and settings.kafka_bootstrap_servers):
        if not settings.kafka_bootstrap_servers:
            pytest.fail("SITREP_TEST_KAFKA=env needs KAFKA_BOOTSTRAP_SERVERS")
        target = KafkaTarget("env", settings.kafka_bootstrap_servers, settings.replication_factor)
        yield await _with_project_topics(target)
        return

    if mode == "docker" or (mode == "auto" and _docker_answers()):
        if mode == "docker" and not _docker_answers():
            pytest.fail("SITREP_TEST_KAFKA=docker, but `docker info` does not answer")
        container = _kafka_container()
        container.start()
        try:
            target = KafkaTarget("docker", container.get_bootstrap_server(), 1)
            yield await _with_project_topics(target)
        finally:
            container.stop()
        return

    cluster = LocalCluster(local_settings(tmp_path_factory.mktemp("kafka-state"), 1))
    try:
        result = await cluster.start(1)
    except KafkaSetupError as exc:
        if mode == "auto":
            pytest.skip(f"no Kafka for the integration tests: {exc}")
        raise
    try:
        yield await _with_project_topics(KafkaTarget("local", result.bootstrap_servers, 1, cluster))
    finally:
        await cluster.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_target: KafkaTarget) -> str:
    """``host:port,...`` of a real Kafka cluster on which Sitrep's topics exist."""
    return kafka_target.bootstrap


def _run_apart(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to the end on a loop of its own: callable from sync tests and async ones alike."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()


@pytest.fixture
def topic_factory(
    kafka_target: KafkaTarget, request: pytest.FixtureRequest
) -> Iterator[TopicFactory]:
    """``topic_factory(partitions=3)`` creates a fresh, uniquely named topic and returns its name.

    A plain function, so sync tests can use it too; the test's topics are deleted afterwards.
    """
    created: list[str] = []
    slug = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-")[:80]

    def make(partitions: int = 1, *, config: Mapping[str, str] | None = None) -> str:
        name = f"test.{slug}.{uuid.uuid4().hex[:10]}"
        spec = TopicSpec(name=name, partitions=partitions, config=dict(config or {}))
        _run_apart(ensure_topics(kafka_target.bootstrap, [spec], kafka_target.replication_factor))
        created.append(name)
        return name

    yield make
    if created:
        _run_apart(_delete_topics(kafka_target.bootstrap, created))
