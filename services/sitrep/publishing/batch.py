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
from sitrep.publishing.lines import Conflict, Duplicate, Line, Rejected, check_line
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


@dataclass(frozen=True)
class Warned:
    """A published line whose names nobody knows, with the closest known ones."""

    line: int
    event_id: str
    warnings: tuple[str, ...]


Notice = Callable[[EventBase], list[str]]
"""What to warn of in an event that is published all the same (names nobody knows)."""


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
    conflicts: Listed[Conflict] = field(init=False)
    rejected: Listed[Rejected] = field(init=False)
    failed: Listed[Failed] = field(init=False)
    warned: Listed[Warned] = field(init=False)
    """Lines sent with warnings (counted apart: a warned line is also published or failed)."""
    stopped_at: int | None = None
    """The first line left unpublished and unreported, when a failed send stopped the run."""

    def __post_init__(self) -> None:
        self.duplicates = Listed(self.details)
        self.conflicts = Listed(self.details)
        self.rejected = Listed(self.details)
        self.failed = Listed(self.details)
        self.warned = Listed(self.details)

    @property
    def ok(self) -> bool:
        return not (self.rejected.total or self.conflicts.total or self.failed.total)

    @property
    def lines(self) -> int:
        """Non-blank lines read."""
        return (
            self.published
            + self.duplicates.total
            + self.conflicts.total
            + self.rejected.total
            + self.failed.total
        )


class _Window:
    """Sends at most ``size`` events awaiting acknowledgement, and notes how each settles."""

    def __init__(self, publisher: Publisher, report: BatchReport, size: int) -> None:
        if size < 1:
            raise ValueError(f"the window must hold at least 1 send, not {size}")
        self._publisher = publisher
        self._report = report
        self._size = size
        self._room = asyncio.Semaphore(size)
        self._unexpected: BaseException | None = None

    @property
    def faulted(self) -> bool:
        return bool(self._report.failed.total) or self._unexpected is not None

    async def send(self, number: int, event: EventBase) -> bool:
        """Send once there is room; ``False``, sending nothing, if a send failed meanwhile."""
        await self._room.acquire()
        if self.faulted:
            self._room.release()
            return False
        try:
            receipt = await self._publisher.send(event)
        except PublishFailed as exc:
            self._room.release()
            self._report.failed.add(Failed(number, event.id, str(exc)))
            return True
        receipt.add_done_callback(partial(self._settled, number, event.id))
        return True

    async def drain(self) -> None:
        """Wait until every send has settled: every slot is back."""
        for _ in range(self._size):
            await self._room.acquire()
        if self._unexpected is not None:
            raise self._unexpected

    def _settled(self, number: int, event_id: str, receipt: asyncio.Future[Receipt]) -> None:
        self._room.release()
        if receipt.cancelled():
            failure = Failed(number, event_id, "cancelled before the broker answered")
            self._report.failed.add(failure)
        elif isinstance(error := receipt.exception(), PublishFailed):
            self._report.failed.add(Failed(number, event_id, str(error)))
        elif error is not None:
            self._unexpected = error  # a bug, not a broker fault: raised once all settled
        else:
            self._report.published += 1


async def publish_lines(
    publisher: Publisher,
    lines: Iterable[Line | Rejected],
    *,
    window: int = WINDOW,
    details: int = DETAILS,
    on_line: Callable[[], None] = lambda: None,
    notice: Notice | None = None,
) -> BatchReport:
    """Send each valid line's event once, with at most ``window`` awaiting acknowledgement.

    ``on_line`` is called as each line is read. The first send the broker fails (after the
    producer's own retries: the broker is down, or refuses the topic or the record) stops the
    run: the sends in flight settle, later lines are left for the next attempt, which may send
    the whole file again since an event's id makes a resent event the same event.
    ``notice`` says what to warn of in each event sent.
    """
    report = BatchReport(details)
    sender = _Window(publisher, report, window)
    seen = FirstSeen()
    for item in lines:
        number = item.line if isinstance(item, Rejected) else item.number
        if sender.faulted:
            report.stopped_at = number
            break
        on_line()
        outcome = (
            item
            if isinstance(item, Rejected)
            else check_line(item, validate=publisher.validate, seen=seen)
        )
        match outcome:
            case Rejected():
                report.rejected.add(outcome)
            case Duplicate():
                report.duplicates.add(outcome)
            case Conflict():
                report.conflicts.add(outcome)
            case EventBase():
                if not await sender.send(number, outcome):
                    report.stopped_at = number
                    break
                warnings = notice(outcome) if notice is not None else []
                if warnings:
                    report.warned.add(Warned(number, outcome.id, tuple(warnings)))
    await sender.drain()
    report.failed.items.sort(key=lambda failed: failed.line)
    return report
