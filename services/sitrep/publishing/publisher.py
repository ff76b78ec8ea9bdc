"""The async client scrapers publish with: validates first, returns once the broker has it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from sitrep.contract import EventBase, encode_event, event_key, parse_event
from sitrep.kafka import clients
from sitrep.lifecycle import StartStop
from sitrep.topics import EVENTS


class PublishFailed(RuntimeError):
    """The broker did not acknowledge the event: it may or may not be on the log.

    Publishing the same event again is safe: the id makes it one event.
    """


@dataclass(frozen=True)
class Receipt:
    """Where the broker stored an acknowledged event."""

    event_id: str
    topic: str
    partition: int
    offset: int


def _utcnow() -> datetime:
    return datetime.now(UTC)


def event_producer(
    bootstrap_servers: str, *, client_id: str, request_timeout_ms: int = 30_000
) -> AIOKafkaProducer:
    """The producer events go onto the log with: idempotent, ``acks=all``, batches gathered
    over 5 ms."""
    return clients.producer(
        bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=request_timeout_ms,
    )


class Publisher(StartStop):
    """Publish contract-valid events to the event log.

    Nothing invalid reaches the topic through it: every event is validated first and
    :class:`~sitrep.contract.InvalidEvent` names each bad field. The producer is idempotent
    with ``acks=all``; :meth:`publish` returns only after the broker acknowledged.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        topic: str = EVENTS,
        client_id: str = "sitrep-publisher",
        request_timeout_ms: int = 30_000,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._topic = topic
        self._clock = clock
        self._producer = event_producer(
            bootstrap_servers, client_id=client_id, request_timeout_ms=request_timeout_ms
        )
        self._started = False

    async def start(self) -> None:
        try:
            await self._producer.start()
        except KafkaError as exc:
            await self._producer.stop()
            raise PublishFailed(f"cannot reach Kafka: {exc}") from exc
        self._started = True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self._producer.stop()

    def validate(self, raw: EventBase | bytes | str | Mapping[str, Any]) -> EventBase:
        """The event, checked against the contract as of now; raises ``InvalidEvent``."""
        if isinstance(raw, EventBase):
            raw = raw.model_dump(mode="json", by_alias=True, exclude_none=True)
        return parse_event(raw, now=self._clock())

    async def enqueue(
        self,
        raw: EventBase | bytes | str | Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
    ) -> asyncio.Future[Receipt]:
        """Validate and hand the event to the producer; the future resolves on acknowledgement.

        Lets a caller keep many events in flight. Raises ``InvalidEvent`` before anything is
        sent when the event breaks the contract. ``headers`` go on the record (UTF-8).
        """
        return await self.send(self.validate(raw), headers=headers)

    async def send(
        self, event: EventBase, *, headers: Mapping[str, str] | None = None
    ) -> asyncio.Future[Receipt]:
        """Hand an event :meth:`validate` returned to the producer, without validating it again;
        the future resolves on acknowledgement, or fails with ``PublishFailed``."""
        record_headers = [(k, v.encode()) for k, v in (headers or {}).items()] or None
        try:
            sent = await self._producer.send(
                self._topic,
                value=encode_event(event),
                key=event_key(event),
                headers=record_headers,
            )
        except KafkaError as exc:
            raise PublishFailed(f"event {event.id} was not sent: {exc}") from exc
        receipt: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        # A callback rather than a task per event: a file keeps thousands in flight.
        sent.add_done_callback(partial(_settle, receipt, event.id))
        return receipt

    async def publish(
        self,
        raw: EventBase | bytes | str | Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
    ) -> Receipt:
        """Validate, send and wait until the broker acknowledged the event."""
        return await (await self.enqueue(raw, headers=headers))


def _settle(receipt: asyncio.Future[Receipt], event_id: str, sent: asyncio.Future[Any]) -> None:
    if receipt.done():  # the caller cancelled it: nobody waits for the answer
        return
    if sent.cancelled():
        receipt.cancel()
        return
    error = sent.exception()
    if error is None:
        meta = sent.result()
        receipt.set_result(Receipt(event_id, meta.topic, meta.partition, meta.offset))
    elif isinstance(error, KafkaError):
        failure = PublishFailed(f"event {event_id} was not acknowledged: {error}")
        failure.__cause__ = error
        receipt.set_exception(failure)
    else:
        receipt.set_exception(error)
