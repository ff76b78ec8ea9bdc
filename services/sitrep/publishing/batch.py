"""Publishing a JSON Lines file: every line published, skipped as a duplicate, or rejected."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sitrep.contract import FieldError, InvalidEvent, decode_json
from sitrep.publishing.publisher import Publisher, PublishFailed, Receipt

MAX_IN_FLIGHT = 2_000


@dataclass(frozen=True)
class Rejected:
    """A line that breaks the contract and was not sent."""

    line: int
    event_id: str | None
    errors: tuple[FieldError, ...]


@dataclass(frozen=True)
class Duplicate:
    """A line whose id an earlier line of the same file already used; not sent again."""

    line: int
    event_id: str
    first_line: int
    differs: bool


@dataclass(frozen=True)
class Failed:
    """A valid line the broker did not acknowledge: publish the file again to retry it."""

    line: int
    event_id: str
    reason: str


@dataclass
class BatchReport:
    published: list[tuple[int, Receipt]] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.failed

    @property
    def lines(self) -> int:
        return len(self.published) + len(self.duplicates) + len(self.rejected) + len(self.failed)


async def publish_lines(
    publisher: Publisher,
    lines: Iterable[bytes | str],
    *,
    on_line: Callable[[], None] = lambda: None,
) -> BatchReport:
    """Publish each non-blank line as one event; ``on_line`` is called as each line settles."""
    report = BatchReport()
    first_seen: dict[str, tuple[int, bytes | str]] = {}
    in_flight: dict[asyncio.Future[Receipt], tuple[int, str]] = {}

    async def settle(wait_for_all: bool) -> None:
        if not in_flight:
            return
        done, _ = await asyncio.wait(
            in_flight,
            return_when=asyncio.ALL_COMPLETED if wait_for_all else asyncio.FIRST_COMPLETED,
        )
        for fut in done:
            number, event_id = in_flight.pop(fut)
            try:
                report.published.append((number, fut.result()))
            except PublishFailed as exc:
                report.failed.append(Failed(number, event_id, str(exc)))
            on_line()

    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text:
            continue
        try:
            obj = decode_json(text)
            event = publisher.validate(obj)
        except InvalidEvent as exc:
            report.rejected.append(Rejected(number, exc.event_id, exc.errors))
            on_line()
            continue
        if event.id in first_seen:
            first, first_text = first_seen[event.id]
            report.duplicates.append(Duplicate(number, event.id, first, first_text != text))
            on_line()
            continue
        first_seen[event.id] = (number, text)
        try:
            in_flight[await publisher.enqueue(event)] = (number, event.id)
        except PublishFailed as exc:
            report.failed.append(Failed(number, event.id, str(exc)))
            on_line()
        if len(in_flight) >= MAX_IN_FLIGHT:
            await settle(wait_for_all=False)
    await settle(wait_for_all=True)
    report.published.sort(key=lambda item: item[0])
    report.failed.sort(key=lambda item: item.line)
    return report
