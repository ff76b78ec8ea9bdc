"""Publishing through the Python client and the CLI lands exactly the valid events on the log."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from sitrep.contract import EVENT_TYPES, InvalidEvent, parse_event
from sitrep.publishing import Publisher, PublishFailed
from tests.examples import BY_TYPE, example, with_data
from tests.integration.records import read_topic

pytestmark = pytest.mark.integration

TopicFactory = Callable[..., str]


async def test_every_type_round_trips_through_the_publisher(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(partitions=3)
    async with Publisher(kafka_bootstrap, topic=topic) as publisher:
        receipts = [await publisher.publish(BY_TYPE[t]) for t in EVENT_TYPES]
    assert [r.event_id for r in receipts] == [BY_TYPE[t]["id"] for t in EVENT_TYPES]

    records = await read_topic(kafka_bootstrap, topic)
    assert len(records) == len(EVENT_TYPES)
    by_id = {orjson.loads(r.value)["id"]: r for r in records}
    for event_type in EVENT_TYPES:
        raw = BY_TYPE[event_type]
        record = by_id[raw["id"]]
        assert parse_event(record.value) == parse_event(raw)
        assert record.key == parse_event(raw).subject_id.encode()
    for receipt in receipts:
        record = by_id[receipt.event_id]
        assert (record.partition, record.offset) == (receipt.partition, receipt.offset)


async def test_a_denial_lands_on_the_partition_of_the_event_it_denies(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(partitions=6)
    async with Publisher(kafka_bootstrap, topic=topic) as publisher:
        withdrawal = await publisher.publish(BY_TYPE["forces.withdrew"])
        denial = await publisher.publish(BY_TYPE["claim.denied"])
    assert denial.partition == withdrawal.partition
    assert denial.offset > withdrawal.offset


async def test_nothing_invalid_reaches_the_topic(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(partitions=1)
    async with Publisher(kafka_bootstrap, topic=topic) as publisher:
        with pytest.raises(InvalidEvent, match=r"data\.means"):
            await publisher.publish(with_data("strike.reported", means="laser"))
        with pytest.raises(InvalidEvent, match="lies in the future"):
            await publisher.publish(example("strike.reported", reported_at="2190-01-01T00:00:00Z"))
        await publisher.publish(BY_TYPE["strike.reported"])
    records = await read_topic(kafka_bootstrap, topic)
    assert [orjson.loads(r.value)["id"] for r in records] == ["seed-russian-strikes"]


async def test_an_unreachable_broker_is_a_clear_failure() -> None:
    publisher = Publisher("127.0.0.1:1", request_timeout_ms=2_000)
    with pytest.raises(PublishFailed, match="cannot reach Kafka"):
        await publisher.start()


def _sitrep(
    *args: str, stdin: bytes | None = None, bootstrap: str
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    return subprocess.run(
        [sys.executable, "-m", "sitrep.cli.main", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )


def _jsonl_with_good_and_bad_lines(tmp_path: Path) -> Path:
    lines = [
        orjson.dumps(BY_TYPE["control.changed"]),  # 1 ok
        b"",  # blank lines are skipped
        b'{"id": "broken", ',  # 3 broken JSON
        orjson.dumps(BY_TYPE["strike.reported"]),  # 4 ok
        orjson.dumps(with_data("strike.reported", means="laser", killed=-1) | {"id": "bad-2"}),
        orjson.dumps(BY_TYPE["control.changed"]),  # 6 duplicate of line 1
        orjson.dumps(example("clash.reported", type="town.seized")),  # 7 unknown type
        orjson.dumps(BY_TYPE["statement.issued"]),  # 8 ok
        orjson.dumps(with_data("control.changed", method="retaken")),  # 9 conflict with line 1
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_cli_publishes_good_lines_and_reports_the_rest(
    kafka_bootstrap: str, topic_factory: TopicFactory, tmp_path: Path
) -> None:
    topic = topic_factory(partitions=2)
    path = _jsonl_with_good_and_bad_lines(tmp_path)
    done = _sitrep("publish", str(path), "--topic", topic, "--json", bootstrap=kafka_bootstrap)
    assert done.returncode == 1, done.stderr.decode()
    report = orjson.loads(done.stdout)
    assert report["published"] == 3
    assert report["duplicates"] == [{"line": 6, "id": "seed-aleppo-control", "first_line": 1}]
    assert report["conflicts"] == [
        {"line": 9, "id": "seed-aleppo-control", "first_line": 1, "fields": ["data.method"]}
    ]
    rejected = {
        r["line"]: {e["field"]: e["reason"] for e in r["errors"]} for r in report["rejected"]
    }
    assert set(rejected) == {3, 5, 7}
    assert "not valid JSON" in rejected[3][""]
    assert "must be one of" in rejected[5]["data.means"]
    assert "at least 0" in rejected[5]["data.killed"]
    assert "unknown event type" in rejected[7]["type"]

    records = asyncio.run(read_topic(kafka_bootstrap, topic))
    assert sorted(orjson.loads(r.value)["id"] for r in records) == sorted(
        ["seed-aleppo-control", "seed-russian-strikes", "seed-assad-vow"]
    )


def test_cli_reads_stdin_and_prints_a_readable_summary(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(partitions=1)
    lines = orjson.dumps(BY_TYPE["clash.reported"]) + b"\n" + b"not json\n"
    done = _sitrep("publish", "-", "--topic", topic, stdin=lines, bootstrap=kafka_bootstrap)
    out = done.stdout.decode()
    assert done.returncode == 1
    assert "published 1, duplicates within the file 0, rejected 1" in out
    assert "not valid JSON" in out


def test_cli_exits_zero_when_everything_was_published(
    kafka_bootstrap: str, topic_factory: TopicFactory, tmp_path: Path
) -> None:
    topic = topic_factory(partitions=1)
    path = tmp_path / "ok.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(BY_TYPE[t]) for t in EVENT_TYPES))
    done = _sitrep("publish", str(path), "--topic", topic, bootstrap=kafka_bootstrap)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    assert f"published {len(EVENT_TYPES)}" in done.stdout.decode()


def test_kcat_reads_back_the_same_json(
    kafka_bootstrap: str, topic_factory: TopicFactory, tmp_path: Path
) -> None:
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if kcat is None:
        if os.environ.get("SITREP_REQUIRE_KCAT"):
            pytest.fail("kcat is required here (SITREP_REQUIRE_KCAT) but not installed")
        pytest.skip("Debian's kcat is not installed (apt-get install kcat)")
    topic = topic_factory(partitions=3)
    path = tmp_path / "all.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(BY_TYPE[t]) for t in EVENT_TYPES))
    assert (
        _sitrep("publish", str(path), "--topic", topic, bootstrap=kafka_bootstrap).returncode == 0
    )
    done = subprocess.run(
        [kcat, "-C", "-b", kafka_bootstrap, "-t", topic, "-e", "-q", "-f", "%k\t%s\n"],
        capture_output=True,
        timeout=60,
        check=True,
    )
    read = {}
    for line in done.stdout.decode().splitlines():
        key, value = line.split("\t", 1)
        event = orjson.loads(value)
        read[event["id"]] = (key, event)
    assert set(read) == {BY_TYPE[t]["id"] for t in EVENT_TYPES}
    for event_type in EVENT_TYPES:
        raw = BY_TYPE[event_type]
        key, event = read[raw["id"]]
        event.pop("schema_version")
        assert event == raw
        assert key == parse_event(raw).subject_id
