"""A large file is published line by line: exactly its good lines arrive, once each; every other
line is reported by number; the window of unacknowledged sends stays bounded; and a send the
broker refuses is a failure that stops the run, never a rejected line."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from sitrep.contract import EventBase
from sitrep.publishing import Publisher, Receipt, publish_lines, read_lines
from tests.examples import example, with_data
from tests.integration.records import read_topic

TopicFactory = Callable[..., str]

TEMPLATES = ("control.changed", "clash.reported", "strike.reported", "statement.issued")


def _generated(count: int) -> tuple[bytes, dict[str, Any]]:
    """``count`` lines: mostly valid events with ids of their own, every 500th a broken or
    invalid line, every 700th a repeat of an earlier line's id. Also what each should become."""
    lines: list[bytes] = []
    good: list[str] = []
    rejected: dict[int, str] = {}  # line number -> the field named
    duplicates: dict[int, int] = {}  # line number -> the first line with its event
    conflicts: dict[int, int] = {}  # line number -> the first line with its id
    first_line: dict[str, int] = {}
    for number in range(1, count + 1):
        if number % 500 == 0:
            if number % 1000 == 0:
                lines.append(b'{"id": "cut-' + str(number).encode() + b'", "type"')
                rejected[number] = ""
            else:
                raw = with_data("strike.reported", means="laser") | {"id": f"bad-{number}"}
                lines.append(orjson.dumps(raw))
                rejected[number] = "data.means"
        elif number % 700 == 0:
            # Every other repeat is the very same line; the rest only share the id.
            repeat = good[len(good) // 2]
            same = number % 1400 == 0
            line = lines[first_line[repeat] - 1]
            lines.append(
                line
                if same
                else orjson.dumps(example("strike.reported", id=repeat, notes="told again"))
            )
            (duplicates if same else conflicts)[number] = first_line[repeat]
        else:
            event_id = f"gen-{number}"
            lines.append(orjson.dumps(example(TEMPLATES[number % len(TEMPLATES)], id=event_id)))
            good.append(event_id)
            first_line[event_id] = number
    expected = {
        "good": good,
        "rejected": rejected,
        "duplicates": duplicates,
        "conflicts": conflicts,
    }
    return b"\n".join(lines) + b"\n", expected


def _sitrep(*args: str, bootstrap: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    return subprocess.run(
        [sys.executable, "-m", "sitrep.cli.main", *args],
        capture_output=True,
        env=env,
        timeout=280,
        check=False,
    )


def test_a_large_file_lands_its_good_lines_once_and_names_every_other_line(
    kafka_bootstrap: str, topic_factory: TopicFactory, tmp_path: Path
) -> None:
    topic = topic_factory(partitions=3)
    data, expected = _generated(20_000)
    path = tmp_path / "large.jsonl"
    path.write_bytes(data)

    done = _sitrep(
        "publish",
        str(path),
        "--topic",
        topic,
        "--json",
        "--window",
        "500",
        "--details",
        "10",
        bootstrap=kafka_bootstrap,
    )
    assert done.returncode == 1, done.stderr.decode()
    report = orjson.loads(done.stdout)

    good, rejected = expected["good"], expected["rejected"]
    duplicates, conflicts = expected["duplicates"], expected["conflicts"]
    assert report["counts"] == {
        "lines": 20_000,
        "published": len(good),
        "duplicates": len(duplicates),
        "conflicts": len(conflicts),
        "rejected": len(rejected),
        "failed": 0,
        "warned": 0,  # every example names a known place
    }
    assert report["published"] == len(good)
    assert report["omitted"] == {
        "duplicates": len(duplicates) - 10,
        "conflicts": len(conflicts) - 10,
        "rejected": len(rejected) - 10,
        "failed": 0,
        "warned": 0,
    }
    assert report["stopped_at_line"] is None
    # The first of each kind are listed, in the order of the file.
    assert [d["line"] for d in report["duplicates"]] == sorted(duplicates)[:10]
    for listed in report["duplicates"]:
        assert listed["first_line"] == duplicates[listed["line"]]
    assert [c["line"] for c in report["conflicts"]] == sorted(conflicts)[:10]
    for listed in report["conflicts"]:
        assert listed["first_line"] == conflicts[listed["line"]]
        assert "notes" in listed["fields"]
    assert [r["line"] for r in report["rejected"]] == sorted(rejected)[:10]
    for listed in report["rejected"]:
        fields = {e["field"]: e["reason"] for e in listed["errors"]}
        assert rejected[listed["line"]] in fields
        if rejected[listed["line"]] == "":
            assert "not valid JSON" in fields[""]
        else:
            assert "must be one of" in fields["data.means"]

    records = asyncio.run(read_topic(kafka_bootstrap, topic, within=120))
    ids = [orjson.loads(r.value)["id"] for r in records]
    assert len(ids) == len(good)
    assert set(ids) == set(good)


class _Counting(Publisher):
    """The real publisher, noting how many of its sends await acknowledgement at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.awaiting = 0
        self.most_awaiting = 0

    async def send(
        self, event: EventBase, *, headers: Mapping[str, str] | None = None
    ) -> asyncio.Future[Receipt]:
        receipt = await super().send(event, headers=headers)
        self.awaiting += 1
        self.most_awaiting = max(self.most_awaiting, self.awaiting)
        receipt.add_done_callback(self._settled)
        return receipt

    def _settled(self, _: asyncio.Future[Receipt]) -> None:
        self.awaiting -= 1


async def test_no_more_than_the_window_awaits_acknowledgement(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(partitions=2)
    data, expected = _generated(3_000)
    async with _Counting(kafka_bootstrap, topic=topic) as publisher:
        report = await publish_lines(publisher, read_lines(io.BytesIO(data)), window=40)
    assert report.published == len(expected["good"])
    assert 1 < publisher.most_awaiting <= 40
    assert publisher.awaiting == 0


async def test_a_record_the_broker_refuses_fails_and_stops_the_run_instead_of_being_rejected(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(partitions=1, config={"max.message.bytes": "4000"})
    big = with_data("statement.issued", text="t" * 6_000) | {"id": "too-big-for-the-topic"}
    small = [orjson.dumps(example("clash.reported", id=f"small-{i}")) for i in range(3)]
    data = b"\n".join([small[0], orjson.dumps(big), small[1], b"not json", small[2]])
    async with Publisher(kafka_bootstrap, topic=topic) as publisher:
        report = await publish_lines(publisher, read_lines(io.BytesIO(data)), window=1)
    assert report.published == 1
    assert not report.rejected.total
    assert [(f.line, f.event_id) for f in report.failed.items] == [(2, "too-big-for-the-topic")]
    assert report.stopped_at == 3
    assert not report.ok
    records = await read_topic(kafka_bootstrap, topic)
    assert [orjson.loads(r.value)["id"] for r in records] == ["small-0"]
