"""The worker's consumer asks the broker to answer a fetch within FETCH_MAX_WAIT_MS, not
faust's 1.5 s (records no longer wait behind a fetch of quiet partitions), and to gather up to
FETCH_MIN_BYTES meanwhile."""

from __future__ import annotations

from pathlib import Path

from sitrep.settings import Settings
from sitrep.worker.app import create_app
from sitrep.worker.fetching import FETCH_MAX_WAIT_MS, FETCH_MIN_BYTES, PromptConsumer
from sitrep.worker.recovery import RewindingConsumerThread
from tests.seeded import seed_gazetteer


async def test_the_workers_kafka_consumer_waits_at_most_fetch_max_wait(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "state_dir": str(tmp_path)}
    )
    app = create_app(settings, seed_gazetteer())
    consumer = app.consumer
    assert isinstance(consumer, PromptConsumer)
    # ... which also rewinds partitions with no committed offset (tests/integration).
    assert isinstance(consumer._thread, RewindingConsumerThread)
    made = consumer._thread._create_worker_consumer(app.transport)
    try:
        assert made._fetch_max_wait_ms == FETCH_MAX_WAIT_MS
        assert made._fetch_min_bytes == FETCH_MIN_BYTES
    finally:
        await made.stop()  # never started: only marks it closed
        consumer._thread.thread_loop.close()  # made for the thread, which never ran
    assert FETCH_MAX_WAIT_MS <= 50
