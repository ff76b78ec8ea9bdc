"""`sitrep kafka start --secure`: a client that does not sign in is refused, and each principal
may do what it needs and nothing more (a scraper writes the event log, not the views)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError

from sitrep.cli.kafka import start_local
from sitrep.kafka import LocalCluster
from sitrep.kafka.clients import Principal
from sitrep.kafka.security import API, SCRAPER, principal
from sitrep.topics import TopicNames
from tests.integration.local_kafka import local_settings

NAMES = TopicNames()


@dataclass(frozen=True)
class Secured:
    bootstrap: str
    data_dir: Path


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def secured(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Secured]:
    cluster = LocalCluster(local_settings(tmp_path_factory.mktemp("secure"), 1))
    result, _ = await start_local(cluster, 1, secure=True)
    try:
        yield Secured(result.bootstrap_servers, cluster.data_dir)
    finally:
        await cluster.stop()


def _as(who: Principal | None) -> dict[str, object]:
    return who.options() if who is not None else {}


async def _producer(secured: Secured, who: Principal | None) -> AIOKafkaProducer:
    producer = AIOKafkaProducer(
        bootstrap_servers=secured.bootstrap, request_timeout_ms=5_000, **_as(who)
    )
    await producer.start()
    return producer


async def test_a_client_that_does_not_sign_in_or_signs_in_wrongly_is_refused(
    secured: Secured,
) -> None:
    scraper = principal(secured.data_dir, SCRAPER)
    wrong = Principal(SCRAPER, scraper.password + "x")
    for who in (None, wrong):
        producer = AIOKafkaProducer(
            bootstrap_servers=secured.bootstrap, request_timeout_ms=5_000, **_as(who)
        )
        try:
            with pytest.raises(KafkaError):
                await asyncio.wait_for(producer.start(), 30)
        finally:
            await producer.stop()


async def test_each_principal_may_do_what_it_needs_and_no_more(secured: Secured) -> None:
    scraper = await _producer(secured, principal(secured.data_dir, SCRAPER))
    try:
        await scraper.send_and_wait(NAMES.events, b'{"id": "x"}', key=b"x")  # allowed
        with pytest.raises(TopicAuthorizationFailedError):
            await scraper.send_and_wait(NAMES.view_control, b"{}", key=b"sy-aleppo")
    finally:
        await scraper.stop()

    api = await _producer(secured, principal(secured.data_dir, API))
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await api.send_and_wait(NAMES.view_control, b"{}", key=b"sy-aleppo")
    finally:
        await api.stop()
    reader = AIOKafkaConsumer(
        bootstrap_servers=secured.bootstrap,
        enable_auto_commit=False,
        **_as(principal(secured.data_dir, API)),
    )
    await reader.start()
    try:
        events = TopicPartition(NAMES.events, 0)
        ends = await reader.end_offsets([TopicPartition(NAMES.events, p) for p in range(6)])
        assert sum(ends.values()) == 1  # the API reads the log the scraper wrote
        assert events in ends
    finally:
        await reader.stop()
