"""What became of an event: applied, waiting (an answer to an event not on the log yet),
refused (a retraction by another than the event's publisher), a duplicate, corroborating,
denied, retracted or rejected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sitrep.api.answers import Answers
from sitrep.api.readmodel import Copy, ReadModel
from sitrep.contract import event_to_dict
from sitrep.contract.events import (
    ClaimDeniedEvent,
    ControlChangedEvent,
    EventBase,
    EventRetractedEvent,
    StrikeReportedEvent,
)
from sitrep.resolution.places import Gazetteer, Place
from sitrep.resolution.suggestions import name_warnings, place_flag
from sitrep.views.control import control_history
from sitrep.views.ledger import visible
from sitrep.views.moments import day_of
from sitrep.views.refs import SourceRef

Status = Literal[
    "applied",
    "waiting",
    "refused",
    "duplicate",
    "corroborating",
    "denied",
    "retracted",
    "rejected",
]
CONFLICT = "differs from the first event published with this id, which stands, in: "


@dataclass(frozen=True)
class CopyFate:
    """One record of the event on the log, and what the read model made of it."""

    partition: int
    offset: int
    status: Literal["applied", "duplicate", "conflict", "rejected"]
    reason: str | None = None


@dataclass(frozen=True)
class PlaceRef:
    id: str
    name: str
    country: str | None
    admin1: str | None
    lat: float | None
    lon: float | None

    @classmethod
    def of(cls, place: Place) -> PlaceRef:
        return cls(place.id, place.name, place.country, place.admin1, place.lat, place.lon)


SHOWN_OTHERS = 10
"""How many of the other places a name could have meant a fate lists ("Springfield" has 34)."""


@dataclass(frozen=True)
class Placed:
    """Where the event was placed, and what else its location could have named."""

    given: str
    """The location's name as reported."""
    place: PlaceRef
    chosen_by: Literal["nearest", "ranked"] | None
    """How ``place`` was chosen among ``others``: the nearest to the coordinates given, or
    first by rank (the project's own places, countries, populated places, population)."""
    others: tuple[PlaceRef, ...]
    """Other places the name could have meant, given the event's hints, best first (the first
    ten)."""
    other_count: int
    flag: str | None
    """Why the place is kept as given, when no known place fits."""


def placed(gazetteer: Gazetteer, event: EventBase) -> Placed | None:
    """Where ``event`` was placed, or None if it names no place."""
    location = event.location
    if location is None:
        return None
    choice = gazetteer.choose(location)
    place = choice.place
    return Placed(
        given=location.name,
        place=PlaceRef.of(place),
        chosen_by=choice.by,
        others=tuple(PlaceRef.of(p) for p in choice.others[:SHOWN_OTHERS]),
        other_count=len(choice.others),
        flag=place_flag(location, place),
    )


@dataclass(frozen=True)
class Fate:
    event_id: str
    status: Status
    reason: str | None
    event: dict[str, Any] | None
    """The event as published (None when no copy of it kept to the contract)."""
    copies: tuple[CopyFate, ...]
    placed: Placed | None = None
    """Where the event was placed (None if it names no place, or was rejected)."""
    warnings: tuple[str, ...] = ()
    """Names the event gives that nobody knows, with the closest known ones (as its publish
    receipt said, but for the actors known as asked)."""


def _corroborates(answers: Answers, event: EventBase, keys: list[str]) -> str | None:
    """The first report of the same fact, when ``event`` repeats one from before."""
    ledgers = [answers.situation.ledgers[k] for k in keys if k in answers.situation.ledgers]
    sources: list[tuple[SourceRef, ...]] = []
    for ledger in ledgers:
        if isinstance(event, ControlChangedEvent):
            for item in ledger:
                if item.event.id == event.id and item.place is not None:
                    history = control_history(
                        ledger, item.place.id, answers.registry, answers.asked
                    )
                    sources.extend(change.sources for change in history)
        elif isinstance(event, StrikeReportedEvent):
            sources.extend(s.sources for s in answers.strikes_on(day_of(event)))
    for group in sources:
        ids = [s.event_id for s in group]
        if event.id in ids and ids[0] != event.id:
            return ids[0]
    return None


def _status(answers: Answers, event: EventBase) -> tuple[Status, str | None]:
    router = answers.situation.router
    refused = router.refused(event.id)
    if refused is not None:
        return "refused", refused
    routes = router.routes_of(event.id)
    if routes == [] and isinstance(event, ClaimDeniedEvent | EventRetractedEvent):
        target = event.data.event_id
        return "waiting", f"waiting for its event: {target!r} is not on the log yet"
    keys = [route.key for route in routes or []]
    for key in keys:
        ledger = answers.situation.ledgers.get(key)
        if ledger is None:
            continue
        seen = visible(ledger, answers.asked)
        retraction = seen.retractions.get(event.id)
        if retraction is not None:
            return "retracted", f"{retraction.id}: {retraction.data.reason}"
        denials = seen.denied(event.id)
        if denials:
            said = "; ".join(
                f"{d.data.denied_by}" + (f": {d.data.text}" if d.data.text else "") for d in denials
            )
            return "denied", f"denied by {said}"
    first = _corroborates(answers, event, keys)
    if first is not None:
        return "corroborating", f"corroborates {first}, reported before it"
    return "applied", None


def fate_of(model: ReadModel, answers: Answers, event_id: str) -> Fate | None:
    """What became of ``event_id`` as asked, or None if the log holds no record of it."""
    published = model.published(event_id)
    rejected = [
        (r.copy, CopyFate(r.copy.partition, r.copy.offset, "rejected", r.reason))
        for r in model.rejections(event_id)
    ]
    if published is None:
        if not rejected:
            return None
        copies = tuple(c for _, c in sorted(rejected, key=lambda r: _order(r[0])))
        return Fate(event_id, "rejected", copies[0].reason, None, copies)
    kept = [(copy, _copy_fate(i, copy)) for i, copy in enumerate(published.copies)]
    status, reason = _status(answers, published.event)
    copies = tuple(c for _, c in sorted([*kept, *rejected], key=lambda r: _order(r[0])))
    event = published.event
    gazetteer = answers.situation.gazetteer
    warnings = tuple(name_warnings(event, gazetteer, answers.registry))
    where = placed(gazetteer, event)
    return Fate(event_id, status, reason, event_to_dict(event), copies, where, warnings)


def _copy_fate(i: int, copy: Copy) -> CopyFate:
    if i == 0:
        return CopyFate(copy.partition, copy.offset, "applied")
    if copy.differs:
        return CopyFate(copy.partition, copy.offset, "conflict", CONFLICT + ", ".join(copy.differs))
    return CopyFate(copy.partition, copy.offset, "duplicate")


def _order(copy: Copy) -> tuple[int, int]:
    return (copy.partition, copy.offset)
