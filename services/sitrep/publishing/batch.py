"""Publishing a JSON Lines stream: every line published, skipped as a duplicate, rejected, or
not acknowledged; read, checked and sent one line at a time, so memory does not grow with it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Generic, TypeVar

from sitrep.contract import EventBase
from sitrep.publishing.first_seen import FirstSeen
from sitrep.publishing.lines import Duplicate, Line, Rejected, check_line
from sitrep.publishing.publisher import Publisher, PublishFailed, Receipt

WINDOW = 2_000
"""Sends awaiting acknowledgement at most: enough to fill the producer's batches for every
partition, and a few megabytes of records at most."""

DETAILS = 100
"""Lines listed of each kind (duplicate, rejected, failed); the rest are only counted."""

T = TypeVar("T")


@dataclass(frozen=True)
class Failed:
    """A valid line the broker did not acknowledge: publish the file again to retry it."""

    line: int
    event_id: str
    reason: str


@dataclass
class Listed(Generic[T]):
    """The first ``limit`` lines of one kind, and how many there were in all."""

    limit: int
    items: list[T] = field(default_factory=list)
    total: int = 0

    def add(self, item: T) -> None:
        self.total += 1
        if len(self.items) < self.limit:
            self.items.append(item)

    @property
    def omitted(self) -> int:
        return self.total - len(self.items)


@dataclass
class BatchReport:
    """What became of each line: counts of all, details of the first ``details`` of each kind."""

    details: int = DETAILS
    published: int = 0
    duplicates: Listed[Duplicate] = field(init=False)
    rejected: Listed[Rejected] = field(init=False)
    failed: Listed[Failed] = field(init=False)
    unread_from: int | None = None
    """The first line left unread, when a send the broker failed stopped the reading."""

    def __post_init__(self) -> None:
        self.duplicates = Listed(self.details)
        self.rejected = Listed(self.details)
        self.failed = Listed(self.details)

    @property
    def ok(self) -> bool:
        return not self.rejected.total and not self.failed.total

    @property
    def lines(self) -> int:
        """Non-blank lines read."""
        return self.published + self.duplicates.total + self.rejected.total + self.failed.total


async def publish_lines(
    publisher: Publisher,
    lines: Iterable[Line | Rejected],
    *,
    window: int = WINDOW,
    details: int = DETAILS,
    on_line: Callable[[], None] = lambda: None,
) -> BatchReport:
    """Send each valid line's event once, with at most ``window`` awaiting acknowledgement.

    ``on_line`` is called as each line is read. The first send the broker fails (after the
    producer's own retries, so the broker is down or refuses the topic) stops the reading: the
    lines in flight settle, the rest are left for the next attempt, which may resend the whole
    file since an event's id makes a resent event the same event.
    """
    if window < 1:
        raise ValueError(f"window must be at least 1, not {window}")
    report = BatchReport(details)
    seen = FirstSeen()
    room = asyncio.Semaphore(window)
    unexpected: list[BaseException] = []

    def settled(number: int, event_id: str, receipt: asyncio.Future[Receipt]) -> None:
        room.release()
        if receipt.cancelled():
            report.failed.add(Failed(number, event_id, "cancelled before the broker answered"))
        elif isinstance(error := receipt.exception(), PublishFailed):
            report.failed.add(Failed(number, event_id, str(error)))
        elif error is not None:
            unexpected.append(error)
        else:
            report.published += 1

    async def send(number: int, event: EventBase) -> None:
        await room.acquire()
        try:
            receipt = await publisher.send(event)
        except PublishFailed as exc:
            room.release()
            report.failed.add(Failed(number, event.id, str(exc)))
            return
        receipt.add_done_callback(partial(settled, number, event.id))

    for item in lines:
        if report.failed.total or unexpected:
            report.unread_from = item.line if isinstance(item, Rejected) else item.number
            break
        on_line()
        if isinstance(item, Rejected):
            report.rejected.add(item)
            continue
        match check_line(item, validate=publisher.validate, seen=seen):
            case Rejected() as rejected:
                report.rejected.add(rejected)
            case Duplicate() as duplicate:
                report.duplicates.add(duplicate)
            case EventBase() as event:
                await send(item.number, event)
    for _ in range(window):  # every slot back: every send has settled
        await room.acquire()
    if unexpected:
        raise unexpected[0]
    report.failed.items.sort(key=lambda failed: failed.line)
    return report
