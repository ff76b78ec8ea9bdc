"""The processors on a real broker: views from the seed article, duplicates, poison messages,
rebuilds and two workers."""

from __future__ import annotations

import asyncio
import os
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from sitrep.contract import event_to_dict, parse_event
from sitrep.faults import EXIT_FAULT
from sitrep.running import wait_until_caught_up
from tests.examples import retraction
from tests.integration.records import end_offsets, latest
from tests.integration.stack import (
    Stack,
    all_views,
    expected_views,
    new_stack,
    wait_for,
    wait_for_views,
)
from tests.seeded import seed_events

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def stack(kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Stack]:
    running = new_stack(kafka_bootstrap, tmp_path)
    await running.create_topics()
    yield running
    running.stop_all()


async def test_the_seed_article_becomes_the_views_the_core_computes(stack: Stack) -> None:
    events = list(seed_events())
    stack.start_worker()
    await stack.publish(events)
    await wait_for_views(stack, events)
    views = await all_views(stack)
    aleppo = orjson.loads(views["control"][b"sy-aleppo"])["view"]
    assert aleppo["controller"]["name"] == "Hayat Tahrir al-Sham"
    assert aleppo["status"] == "partial"
    hama = orjson.loads(views["control"][b"sy-hama"])["view"]
    assert hama["status"] == "disputed"
    army = orjson.loads(views["casualties"][b"syrian-army"])["view"]
    assert army["party"]["name"] == "Syrian Arab Army"
    hts = orjson.loads(views["actors"][b"hayat-tahrir-al-sham"])["view"]
    assert [place["name"] for place in hts["controls"]] == ["Aleppo", "Idlib"]
    assert "Nusra Front" in hts["aliases"]


async def test_duplicates_are_one_event(stack: Stack) -> None:
    events = list(seed_events())
    stack.start_worker()
    await stack.publish(events)
    await stack.publish(events)  # re-published: the same ids, one event each
    await wait_for_views(stack, events)
    strikes = await all_views(stack)
    for value in strikes["strikes"].values():
        sources = orjson.loads(value)["view"]["sources"]
        assert len(sources) == len({s["event_id"] for s in sources})


async def test_a_poison_message_goes_to_the_dead_letter_topic_and_processing_goes_on(
    stack: Stack,
) -> None:
    events = list(seed_events())
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(stack.names.events, b'{"id": "broken', key=b"poison-1")
        await producer.send_and_wait(
            stack.names.events, orjson.dumps({"id": "odd", "type": "town.seized"}), key=b"odd"
        )
    finally:
        await producer.stop()
    stack.start_worker()
    await stack.publish(events)
    await wait_for_views(stack, events)

    consumer = AIOKafkaConsumer(
        stack.names.dead_letter, bootstrap_servers=stack.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        dead: dict[bytes, tuple[bytes, dict[str, bytes]]] = {}
        while len(dead) < 2:
            record = await consumer.getone()
            dead[record.key] = (record.value, dict(record.headers))
    finally:
        await consumer.stop()
    value, headers = dead[b"poison-1"]
    assert value == b'{"id": "broken'
    assert b"not valid JSON" in headers["sitrep.reason"]
    assert headers["sitrep.source.topic"] == stack.names.events.encode()
    assert b"unknown event type 'town.seized'" in dead[b"odd"][1]["sitrep.reason"]


FAILING_DISK = textwrap.dedent(
    """
    # Loaded at the worker's start: its routes store fails once, as a disk would, on the
    # 25th read (RocksDB raises plain exceptions), and a file says it did.
    import os
    from pathlib import Path

    from sitrep.stores import rocks

    mark = Path(os.environ["SITREP_TEST_FAULT_MARK"])
    opened = rocks.RocksKeyValue.__init__

    class FailingOnce:
        def __init__(self, db):
            self.db, self.reads = db, 0

        def get(self, key):
            self.reads += 1
            if self.reads == 25 and not mark.exists():
                mark.touch()
                raise Exception("IO error: While pread offset 4096 len 4096: Input/output error")
            return self.db.get(key)

        def __getattr__(self, name):
            return getattr(self.db, name)

    def opening(self, path, **kwargs):
        opened(self, path, **kwargs)
        if path.name == "routes":
            self._db = FailingOnce(self._db)

    rocks.RocksKeyValue.__init__ = opening
    """
)


async def test_a_fault_stops_the_worker_and_nothing_is_dead_lettered_or_lost(
    stack: Stack, tmp_path: Path
) -> None:
    events = list(seed_events())
    shim = tmp_path / "failing-disk"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(FAILING_DISK)
    mark = tmp_path / "failed"
    path = os.pathsep.join(p for p in (str(shim), os.environ.get("PYTHONPATH")) if p)
    failing = stack.start_worker(
        extra_env={"PYTHONPATH": path, "SITREP_TEST_FAULT_MARK": str(mark)}
    )
    await stack.publish(events)

    async def exited() -> bool:
        return failing.poll() is not None

    await wait_for(exited, within=90)
    assert mark.exists(), stack.log_tails()
    assert failing.returncode == EXIT_FAULT, stack.log_tails()
    stack.start_worker()  # as `sitrep up`, or any supervisor, does: it reads on from its stores
    await wait_for_views(stack, events)
    assert sum((await end_offsets(stack.bootstrap, stack.names.dead_letter)).values()) == 0


async def test_a_retraction_applies_only_from_the_events_publisher_or_an_admin(
    stack: Stack,
) -> None:
    events = list(seed_events())
    capture, other = "seed-000-aleppo-control-hts", "seed-000-aleppo-airport-captured"
    assert {capture, other} <= {e.id for e in events}
    stack.start_worker()
    await stack.publish(events)  # straight onto the log: no publisher
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    await producer.start()
    try:
        # Written past the API, claiming to be some publisher: refused.
        await producer.send_and_wait(
            stack.names.events,
            orjson.dumps(retraction("r-mallory", capture)),
            key=capture.encode(),
            headers=[("sitrep.publisher", b"mallory")],
        )
        await wait_until_caught_up(
            stack.bootstrap, f"{stack.names.namespace}-views", [stack.names.events]
        )
        await wait_for_views(stack, events)
        admin = parse_event(retraction("r-ada", other))
        await producer.send_and_wait(
            stack.names.events,
            orjson.dumps(event_to_dict(admin)),
            key=other.encode(),
            headers=[("sitrep.publisher", b"ada"), ("sitrep.role", b"admin")],
        )
    finally:
        await producer.stop()
    await wait_for_views(stack, [*events, admin])


async def test_a_rebuild_from_zero_gives_byte_for_byte_the_same_views(stack: Stack) -> None:
    events = list(seed_events())
    first = stack.start_worker()
    await stack.publish(events)
    await wait_for_views(stack, events)
    before = await all_views(stack)
    stack.stop_worker(first)
    marks = {
        kind: await end_offsets(stack.bootstrap, topic)
        for kind, topic in stack.names.views().items()
    }

    # A new consumer group reads the log from offset zero and publishes every view again.
    stack.start_worker(worker_id=f"{stack.names.namespace}-rebuild")

    async def rebuilt() -> dict[str, dict[bytes, bytes | None]] | None:
        again = {
            kind: await latest(stack.bootstrap, topic, marks[kind])
            for kind, topic in stack.names.views().items()
        }
        return again if all(set(again[k]) >= set(before[k]) for k in before) else None

    again = await wait_for(rebuilt)
    await asyncio.sleep(2)  # let a late, different record show itself if there is one
    again = await rebuilt()
    assert again is not None
    assert {
        kind: {k: v for k, v in records.items() if v is not None} for kind, records in again.items()
    } == before


async def test_two_workers_share_the_partitions_and_give_the_same_views(stack: Stack) -> None:
    events = list(seed_events())
    stack.start_worker()
    stack.start_worker()
    await stack.publish(events)
    await wait_for_views(stack, events, within=120)
    group = f"{stack.names.namespace}-views"
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
    await admin.start()

    async def both_members() -> bool:
        # Asked until the group is stable: described mid-rebalance, it lists only the members
        # that have joined again so far.
        described = await admin.describe_consumer_groups([group])
        _, _, state, _, _, members = described[0].groups[0]
        return state == "Stable" and len(members) == 2

    try:
        assert await wait_for(both_members, within=60), "both workers share the partitions"
    finally:
        await admin.close()


async def test_a_worker_killed_mid_stream_resumes_without_losing_or_double_counting(
    stack: Stack,
) -> None:
    events = list(seed_events())
    victim = stack.start_worker()
    await stack.publish(events[: len(events) // 2])
    await asyncio.sleep(4)
    stack.stop_worker(victim, kill=True)  # SIGKILL: no clean shutdown, no final commit
    await stack.publish(events)  # the rest, and the first half again
    stack.start_worker()
    await wait_for_views(stack, events)


async def test_a_denial_published_before_its_event_waits_for_it_across_a_restart(
    stack: Stack,
) -> None:
    events = list(seed_events())
    answers = [e for e in events if e.type in ("claim.denied", "event.retracted")]
    assert answers
    first = stack.start_worker()
    await stack.publish(answers)  # before the events they answer: they wait in the routes
    await asyncio.sleep(4)  # committed (faust commits every second)
    stack.stop_worker(first, kill=True)
    stack.start_worker()  # the same worker id: what waits is read back from its table
    await stack.publish([e for e in events if e not in answers])
    await wait_for_views(stack, events)
    hama = orjson.loads((await all_views(stack))["control"][b"sy-hama"])["view"]
    assert hama["status"] == "disputed"  # the army's denial, published first, was applied


async def test_a_restarted_worker_resumes_from_its_stores_and_sends_no_view_again(
    stack: Stack,
) -> None:
    events = list(seed_events())
    first = stack.start_worker()
    await stack.publish(events)
    await wait_for_views(stack, events)
    await asyncio.sleep(3)  # its last writes committed (once the broker acknowledged them)
    stack.stop_worker(first)
    topics = {**stack.names.views(), "filed": stack.names.filed}
    marks = {kind: await end_offsets(stack.bootstrap, topic) for kind, topic in topics.items()}

    stack.start_worker()
    control = next(e for e in events if e.type == "control.changed")
    news = parse_event(
        {
            **event_to_dict(control),
            "id": "test-after-restart",
            "occurred_at": "2024-12-20",
            "reported_at": "2024-12-20T12:00:00Z",
        }
    )
    await stack.publish([news])
    await wait_for_views(stack, [*events, news])
    await asyncio.sleep(3)  # anything sent again would be on its way by now

    async def since_restart(kind: str) -> dict[bytes, bytes | None]:
        return await latest(stack.bootstrap, topics[kind], marks[kind])

    # Only what the new event changed was sent: the log was not routed or folded again.
    filed = await since_restart("filed")
    assert filed
    assert all(b"test-after-restart" in (value or b"") for value in filed.values())
    before = expected_views(events, stack.names)
    after = expected_views([*events, news], stack.names)
    for kind in stack.names.views():
        changed = {k for k in after[kind] if after[kind][k] != before[kind].get(k)}
        assert set(await since_restart(kind)) <= changed, kind
    assert await since_restart("control")
