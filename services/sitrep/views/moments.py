"""The two clocks: how things stood *at* a moment, from what was *known at* another."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sitrep.contract.events import EventBase


@dataclass(frozen=True)
class Asked:
    """A question put to a view: the situation at ``at`` (event time), from the reports
    published by ``known_at`` (report time)."""

    at: datetime
    known_at: datetime

    def sees(self, event: EventBase) -> bool:
        """Whether the event had happened by ``at`` and been reported by ``known_at``.

        An event known only by its day counts from the start of that day (UTC).
        """
        return event.starts_at <= self.at and event.reported_at <= self.known_at

    def knows(self, event: EventBase) -> bool:
        """Whether the event had been reported by ``known_at``, whenever it happened."""
        return event.reported_at <= self.known_at


def end_of_day(day: date) -> datetime:
    """The last instant of a UTC day: asking "at 30 Nov" includes all of 30 Nov."""
    return datetime.combine(day, time.max, tzinfo=UTC)


def order_key(event: EventBase) -> tuple[datetime, datetime, str]:
    """Events in the order they happened; ties broken by report time, then id."""
    return (event.starts_at, event.reported_at, event.id)


def day_of(event: EventBase) -> date:
    """The UTC day an event happened on."""
    return event.starts_at.astimezone(UTC).date()


CONTESTED_WINDOW = timedelta(hours=72)
