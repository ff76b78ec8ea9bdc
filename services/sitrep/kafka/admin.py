"""Talking to a running cluster: wait until it answers, create Sitrep's topics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.protocol.metadata import MetadataRequest

from sitrep.kafka import clients
from sitrep.kafka.errors import KafkaSetupError
from sitrep.topics import TopicSpec

_REQUEST_TIMEOUT_MS = 15_000
_PROBE_S = 5.0
_POLL_S = 0.25


@dataclass(frozen=True)
class ClusterInfo:
    """What a cluster says about itself in a metadata response."""

    cluster_id: str | None
    controller_id: int | None
    broker_ids: tuple[int, ...]


async def describe_node(address: str, within: float = _PROBE_S) -> ClusterInfo:
    """The cluster as the one broker at `address` (``host:port``) sees it.

    Raises `KafkaSetupError` unless it answers a metadata request within `within` s.
    """
    host, _, port = address.strip().rpartition(":")
    try:
        async with asyncio.timeout(within):
            conn = await clients.connection(
                host.strip("[]"), int(port), request_timeout_ms=max(1, int(within * 1000))
            )
            try:
                response = await conn.send(MetadataRequest([]))
            finally:
                conn.close()
    except (KafkaError, OSError, TimeoutError, ValueError) as exc:
        raise KafkaSetupError(f"Kafka at {address} does not answer: {exc!r}") from exc
    meta: dict[str, Any] = response.to_object()
    controller = meta.get("controller_id")
    return ClusterInfo(
        cluster_id=meta.get("cluster_id"),
        controller_id=controller if isinstance(controller, int) and controller >= 0 else None,
        broker_ids=tuple(sorted(int(b["node_id"]) for b in meta["brokers"])),
    )


async def describe_cluster(bootstrap: str, within: float = _PROBE_S) -> ClusterInfo:
    """The cluster as the first broker of `bootstrap` (``host:port,...``) that answers sees it."""
    errors: list[str] = []
    for address in _addresses(bootstrap):
        try:
            return await describe_node(address, within)
        except KafkaSetupError as exc:
            errors.append(str(exc))
    raise KafkaSetupError("; ".join(errors) or f"no address in {bootstrap!r}")


async def wait_until_ready(
    bootstrap: str,
    *,
    brokers: int = 1,
    cluster_id: str | None = None,
    within: float = 60.0,
    check: Callable[[], None] | None = None,
) -> ClusterInfo:
    """Wait until every address in `bootstrap` answers, sees `brokers` brokers and a controller.

    Brokers learn of each other a moment apart, so each address is asked, not just one.
    Raises `KafkaSetupError` after `within` s. `check` runs before every attempt and may raise to
    give up early (say, the broker process died). A cluster that answers with another
    `cluster_id` is someone else's: that fails at once.
    """
    addresses = _addresses(bootstrap)
    if not addresses:
        raise KafkaSetupError(f"no broker address in {bootstrap!r}")
    deadline = time.monotonic() + within
    last = "no answer yet"
    while True:
        if check is not None:
            check()
        try:
            infos = [await describe_node(address, min(_PROBE_S, within)) for address in addresses]
        except KafkaSetupError as exc:
            last = str(exc)
        else:
            foreign = {i.cluster_id for i in infos} - {None, cluster_id}
            if cluster_id is not None and foreign:
                raise KafkaSetupError(
                    f"{bootstrap} answers as cluster {', '.join(sorted(map(str, foreign)))}, "
                    f"not {cluster_id}: is another Kafka using the port?"
                )
            short = [i for i in infos if len(i.broker_ids) < brokers or i.controller_id is None]
            if not short:
                return infos[0]
            last = f"a broker sees {len(short[0].broker_ids)} of {brokers} brokers"
        if time.monotonic() >= deadline:
            raise KafkaSetupError(f"Kafka at {bootstrap} not ready after {within:.0f} s: {last}")
        await asyncio.sleep(_POLL_S)


def _addresses(bootstrap: str) -> list[str]:
    return [address.strip() for address in bootstrap.split(",") if address.strip()]


async def ensure_topics(
    bootstrap: str,
    specs: Sequence[TopicSpec],
    replication_factor: int,
    *,
    within: float = 30.0,
) -> list[str]:
    """Create the topics of `specs` that do not exist yet, with their configs; returns those created.

    Topics that already exist are left as they are, whatever their settings. Returns once every
    broker knows a leader for every created partition, so clients can use them straight away.
    """
    admin = clients.admin(bootstrap, request_timeout_ms=_REQUEST_TIMEOUT_MS)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [
                NewTopic(
                    name=spec.name,
                    num_partitions=spec.partitions,
                    replication_factor=replication_factor,
                    topic_configs=dict(spec.config),
                )
                for spec in missing
            ],
            timeout_ms=int(within * 1000),
        )
        created = _created_names(response.to_object())
    except KafkaError as exc:
        raise KafkaSetupError(f"could not create topics on {bootstrap}: {exc!r}") from exc
    finally:
        await admin.close()
    if created:
        try:
            await _wait_until_every_broker_knows(bootstrap, created, within)
        except KafkaError as exc:
            raise KafkaSetupError(f"created topics on {bootstrap}, then: {exc!r}") from exc
    return created


def _created_names(response: dict[str, Any]) -> list[str]:
    created: list[str] = []
    failures: list[str] = []
    for entry in response["topic_errors"]:
        code = int(entry["error_code"])
        if code == 0:
            created.append(str(entry["topic"]))
        elif code != TopicAlreadyExistsError.errno:  # lost a race with another creator: fine
            message = entry.get("error_message") or f"error code {code}"
            failures.append(f"{entry['topic']}: {message}")
    if failures:
        raise KafkaSetupError("could not create topics: " + "; ".join(failures))
    return created


async def _wait_until_every_broker_knows(bootstrap: str, names: list[str], within: float) -> None:
    """Wait until every broker's metadata shows a leader for every partition of `names`.

    Brokers learn of a new topic a moment apart; a client that asks a lagging one would be told
    the topic does not exist.
    """
    client = clients.client(bootstrap, request_timeout_ms=_REQUEST_TIMEOUT_MS)
    await client.bootstrap()
    try:
        deadline = time.monotonic() + within
        while True:
            lagging: list[str] = []
            for broker in client.cluster.brokers():
                response = await client.send(
                    broker.nodeId, MetadataRequest(names, allow_auto_topic_creation=False)
                )
                topics: list[dict[str, Any]] = response.to_object()["topics"]
                known = {str(t["topic"]) for t in topics if _has_leaders(t)}
                lagging += [
                    f"{name} on broker {broker.nodeId}" for name in names if name not in known
                ]
            if not lagging:
                return
            if time.monotonic() >= deadline:
                raise KafkaSetupError(f"topics not ready after {within:.0f} s: {lagging}")
            await asyncio.sleep(_POLL_S)
    finally:
        await client.close()


def _has_leaders(topic: dict[str, Any]) -> bool:
    partitions: list[dict[str, Any]] = topic["partitions"]
    return (
        topic["error_code"] == 0 and bool(partitions) and all(p["leader"] >= 0 for p in partitions)
    )
