"""A fix to faust's consumer: records are fetched within ``FETCH_MAX_WAIT_MS`` of landing,
gathering up to ``FETCH_MIN_BYTES`` meanwhile.

faust builds its worker's aiokafka consumer with ``fetch_max_wait_ms=1500``, and no setting
changes it. aiokafka keeps one fetch request in flight per broker, and leaves out of it the
partitions that still have records waiting to be handed over; a partition left out is asked
for again only once that request returns, which the broker delays up to the maximum wait when
the partitions in it are quiet. Views then lagged the log by 1–2 s at a steady 1,000 events/s
(`bench.processors`): records of the event log waited behind a fetch of quiet filed
partitions, and the other way round.

The worker's consumer (:class:`PromptConsumer`, and ``recovery.py`` builds on it) has an
aiokafka consumer that waits at most ``FETCH_MAX_WAIT_MS``: an idle worker sends a few more
fetch requests, and a record reaches its agent within a few tens of milliseconds. The broker
answers a fetch once it has ``FETCH_MIN_BYTES`` for it, or the wait is over: answering at the
first byte (aiokafka's default) made a fetch, and a turn of faust's consumer loop, of every
few records: at 500 events/s the worker took 30% more CPU, and the broker 10% more
(`bench.processors`). Waiting for bytes adds at most ``FETCH_MAX_WAIT_MS`` to each of the
worker's two hops.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Consumer

FETCH_MAX_WAIT_MS = 10
FETCH_MIN_BYTES = 64 * 1024


class PromptConsumerThread(AIOKafkaConsumerThread):  # type: ignore[misc]  # faust is untyped
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by aiokafka when the consumer starts and builds its fetcher.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        consumer._fetch_min_bytes = FETCH_MIN_BYTES
        return consumer


class PromptConsumer(Consumer):  # type: ignore[misc]  # faust is untyped here
    """faust's aiokafka consumer, with :class:`PromptConsumerThread` fetching for it."""

    def _new_consumer_thread(self) -> Any:
        return PromptConsumerThread(self, loop=self.loop, beacon=self.beacon)
