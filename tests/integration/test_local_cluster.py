"""The project's own Kafka: the broker answers, carries Sitrep's topics, replicates, stops cleanly."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from sitrep.kafka import KafkaSetupError, LocalCluster, describe_cluster, ensure_topics
from sitrep.settings import Settings
from sitrep.topics import DEAD_LETTER, EVENTS, TopicSpec, dead_letter, event_log
from tests.integration.local_kafka import KafkaTarget, TopicFactory, local_settings

pytestmark = pytest.mark.integration


async def _topic_configs(admin: AIOKafkaAdminClient, topic: str) -> dict[str, str]:
    responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    (resource,) = [r for resp in responses for r in resp.to_object()["resources"]]
    assert resource["error_code"] == 0, resource
    return {e["config_names"]: e["config_value"] for e in resource["config_entries"]}


async def _partitions(admin: AIOKafkaAdminClient, topic: str) -> list[dict[str, Any]]:
    (described,) = await admin.describe_topics([topic])
    assert described["error_code"] == 0, described
    return list(described["partitions"])


async def _round_trip(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    """Produce `records` with acks=all and read the same records back from the start."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        seen: list[tuple[bytes, bytes]] = []
        while len(seen) < len(records):
            batches = await consumer.getmany(timeout_ms=10_000)
            assert batches, f"read {len(seen)} of {len(records)} records, then nothing"
            seen += [(m.key, m.value) for msgs in batches.values() for m in msgs]
    finally:
        await consumer.stop()
    assert sorted(seen) == sorted(records)


def _java_processes_under(directory: Path) -> list[int]:
    """Pids of live processes whose command line mentions `directory`."""
    needle = str(directory).encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in cmdline and state != "Z":
            pids.append(int(proc.name))
    return pids


async def test_broker_answers_with_project_topics(kafka_target: KafkaTarget) -> None:
    info = await describe_cluster(kafka_target.bootstrap)
    assert info.broker_ids
    assert info.controller_id is not None

    partitions = Settings().events_partitions
    min_isr = 2 if kafka_target.replication_factor >= 3 else 1
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_target.bootstrap)
    await admin.start()
    try:
        for spec in (event_log(partitions, min_isr), dead_letter(partitions, min_isr)):
            assert len(await _partitions(admin, spec.name)) == partitions
            configs = await _topic_configs(admin, spec.name)
            assert {key: configs[key] for key in spec.config} == spec.config
        events = await _topic_configs(admin, EVENTS)
        assert events["retention.ms"] == "-1"
        assert events["retention.bytes"] == "-1"
        assert (await _topic_configs(admin, DEAD_LETTER))["retention.ms"] == str(90 * 86_400_000)
    finally:
        await admin.close()


async def test_topic_factory_gives_a_fresh_usable_topic(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    first = topic_factory(partitions=3, config={"retention.ms": "60000"})
    second = topic_factory()
    assert first != second

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        assert len(await _partitions(admin, first)) == 3
        assert (await _topic_configs(admin, first))["retention.ms"] == "60000"
    finally:
        await admin.close()
    await _round_trip(kafka_bootstrap, first, [(b"k%d" % i, b"v%d" % i) for i in range(6)])


async def test_ensure_topics_is_idempotent(kafka_bootstrap: str) -> None:
    spec = TopicSpec(name=f"test.idempotent.{uuid.uuid4().hex[:10]}", partitions=2)
    assert await ensure_topics(kafka_bootstrap, [spec], 1) == [spec.name]
    assert await ensure_topics(kafka_bootstrap, [spec], 1) == []


async def test_status_stop_restart_and_start_twice(tmp_path: Path) -> None:
    settings = local_settings(tmp_path, 1)
    cluster = LocalCluster(settings)
    never = await cluster.status()
    assert never.state is None
    assert not never.running

    first = await cluster.start(1)
    try:
        assert first.started == (1,)
        again = await cluster.start(1)
        assert again.already_running
        assert again.cluster_id == first.cluster_id
        # Another process (here: another object) sees the running node through its pid file.
        other = LocalCluster(settings)
        assert (await other.start(1)).already_running
        assert len(_java_processes_under(cluster.data_dir)) == 1
        assert (await other.status()).healthy
        with pytest.raises(KafkaSetupError, match="formatted for a 1-node cluster"):
            await other.start(3)
    finally:
        assert await cluster.stop() == [1]

    stopped = await cluster.status()
    assert not stopped.running
    assert [(n.alive, n.answers, n.pid) for n in stopped.nodes] == [(False, False, None)]
    assert _java_processes_under(cluster.data_dir) == []

    # A pid file whose process is gone is stale: not running, and cleaned up.
    pid_file = cluster.data_dir / "node-1" / "kafka.pid"
    dead = await asyncio.create_subprocess_exec("true")
    await dead.wait()
    pid_file.write_text(f"{dead.pid}\n")
    assert not (await cluster.status()).running
    assert not pid_file.exists()

    restarted = await cluster.start(1)
    try:
        assert restarted.cluster_id == first.cluster_id  # formatted once, reused
    finally:
        await cluster.stop()


@pytest.mark.slow
async def test_three_nodes_replicate_with_min_isr_two(tmp_path: Path) -> None:
    cluster = LocalCluster(local_settings(tmp_path, 3))
    try:
        result = await cluster.start(3)
        assert result.started == (1, 2, 3)
        info = await describe_cluster(result.bootstrap_servers)
        assert info.broker_ids == (1, 2, 3)

        topic = "test.replicated"
        await ensure_topics(result.bootstrap_servers, [TopicSpec(name=topic, partitions=3)], 3)
        admin = AIOKafkaAdminClient(bootstrap_servers=result.bootstrap_servers)
        await admin.start()
        try:
            for partition in await _partitions(admin, topic):
                assert sorted(partition["replicas"]) == [1, 2, 3]
            # Not set on the topic: the brokers' default for a three-node cluster.
            assert (await _topic_configs(admin, topic))["min.insync.replicas"] == "2"
        finally:
            await admin.close()
        await _round_trip(result.bootstrap_servers, topic, [(b"a", b"1"), (b"b", b"2")])
    finally:
        stopped = await cluster.stop()
    assert stopped == [1, 2, 3]
    assert _java_processes_under(cluster.data_dir) == []
    assert not list(cluster.data_dir.glob("node-*/kafka.pid"))
    assert not (await cluster.status()).running


def _kafka_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "from sitrep.cli.kafka import kafka_app; kafka_app(prog_name='sitrep kafka')"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_cli_status_of_a_cluster_never_started(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    done = _kafka_cli("status", "--data-dir", str(tmp_path / "kafka"), env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "not running" in done.stdout


def test_cli_start_with_bootstrap_servers_set_starts_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    data_dir = tmp_path / "kafka"
    done = _kafka_cli("start", "--data-dir", str(data_dir), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "not starting a local broker" in done.stdout
    assert f"Bootstrap servers: {kafka_bootstrap}" in done.stdout
    assert not data_dir.exists()
