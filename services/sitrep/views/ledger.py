"""A ledger: every report filed for one entity, once each, with the place it concerns."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar, cast

from sitrep.contract.events import (
    ClaimDeniedEvent,
    Event,
    EventRetractedEvent,
)
from sitrep.resolution.places import Place
from sitrep.views.moments import Asked, order_key


@dataclass(frozen=True)
class Filed:
    """One report in a ledger, with the canonical place it concerns (if any).

    A denial or retraction is filed with the place of the event it concerns.
    """

    event: Event
    place: Place | None = None


@dataclass(frozen=True)
class Ledger:
    """Every report filed for one entity (a place and its sub-places, an actor...)."""

    key: str
    filed: Mapping[str, Filed] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.filed)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self.filed

    def __iter__(self) -> Iterator[Filed]:
        return iter(self.filed.values())

    def places(self) -> dict[str, Place]:
        """Every place a report here concerns, by id; later reports add coordinates."""
        out: dict[str, Place] = {}
        for item in self.filed.values():
            if item.place is not None:
                known = out.get(item.place.id)
                if known is None or (known.lat is None and item.place.lat is not None):
                    out[item.place.id] = item.place
        return out


def evolve(ledger: Ledger, event: Event, place: Place | None = None) -> Ledger:
    """The ledger with ``event`` filed; an event id already filed changes nothing."""
    if event.id in ledger.filed:
        return ledger
    return Ledger(ledger.key, {**ledger.filed, event.id: Filed(event, place)})


Memo = dict[str, tuple[tuple[object, ...], object]]
"""What a view made of each report, by event id, with what it was made from (the report, the
registry, its denials): a view made again at each new report of a long ledger reads again only
what changed. The same inputs give the same, so a memo never changes an answer."""

T = TypeVar("T")


def recalled(
    memo: Memo | None, event_id: str, inputs: tuple[object, ...], make: Callable[[], T]
) -> T:
    """``make()``; with a ``memo``, what it gave before for ``event_id`` if ``inputs`` are
    those it was made from (each the same object, or equal)."""
    if memo is None:
        return make()
    known = memo.get(event_id)
    if known is not None and known[0] == inputs:
        return cast(T, known[1])
    made = make()
    memo[event_id] = (inputs, made)
    return made


@dataclass(frozen=True)
class Visible:
    """What a ledger shows for one question: the reports seen, and what was withdrawn."""

    reports: tuple[Filed, ...]
    retractions: dict[str, EventRetractedEvent]
    """Known retractions, by the id of the event they retract."""
    denials: dict[str, tuple[ClaimDeniedEvent, ...]]
    """Denials seen and not retracted, by the id of the event they deny."""

    def denied(self, event_id: str) -> tuple[ClaimDeniedEvent, ...]:
        return self.denials.get(event_id, ())


def visible(ledger: Ledger, asked: Asked) -> Visible:
    """The reports a reader sees at ``asked``, without the retracted ones.

    A retraction takes effect from when it was reported, whatever moment is asked about.
    """
    retractions: dict[str, EventRetractedEvent] = {}
    for item in ledger:
        event = item.event
        if isinstance(event, EventRetractedEvent) and asked.knows(event):
            retractions.setdefault(event.data.event_id, event)
    seen = [
        item
        for item in ledger
        if asked.sees(item.event)
        and item.event.id not in retractions
        and not isinstance(item.event, EventRetractedEvent)
    ]
    denials: dict[str, list[ClaimDeniedEvent]] = {}
    for item in seen:
        if isinstance(item.event, ClaimDeniedEvent):
            denials.setdefault(item.event.data.event_id, []).append(item.event)
    return Visible(
        reports=tuple(item for item in seen if not isinstance(item.event, ClaimDeniedEvent)),
        retractions=retractions,
        # In event order, not the order they were filed in: a ledger read back from a store
        # lists its reports by id, one built as they arrive in arrival order.
        denials={k: tuple(sorted(v, key=order_key)) for k, v in denials.items()},
    )
