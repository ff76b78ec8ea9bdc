"""The situation at a glance: who holds how much, what changed hands lately, what is disputed
or contested and why, the last day's strikes and casualties, and the latest statements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sitrep.api.answers import Answers
from sitrep.api.filters import ReportFilter, places_matching
from sitrep.contract.events import start_of
from sitrep.views.casualties import Casualties
from sitrep.views.control import Change, Status
from sitrep.views.refs import ActorRef
from sitrep.views.statements import Statement
from sitrep.views.strikes import Strike

RECENT_CHANGES = timedelta(days=7)
LAST_DAY = timedelta(hours=24)
LATEST_STATEMENTS = 10


@dataclass(frozen=True)
class Holder:
    """An actor and the places it holds in the region."""

    actor: ActorRef
    places: tuple[str, ...]


@dataclass(frozen=True)
class PlaceChange:
    place_id: str
    name: str
    change: Change


@dataclass(frozen=True)
class Unsettled:
    """A place whose control is disputed or contested, and why."""

    place_id: str
    name: str
    status: Status
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Overview:
    holders: tuple[Holder, ...]
    """Most places first."""
    recent_changes: tuple[PlaceChange, ...]
    """Changes of hands in the last seven days (baselines left out), newest first."""
    unsettled: tuple[Unsettled, ...]
    strikes: tuple[Strike, ...]
    """Strikes of the last 24 hours."""
    casualties: tuple[Casualties, ...]
    """Parties with losses reported for the last 24 hours."""
    statements: tuple[Statement, ...]
    """The latest statements, newest first."""


def overview(answers: Answers, *, country: str | None, admin1: str | None) -> Overview:
    """The overview of a region (or everywhere) as asked."""
    at = answers.asked.at
    places = places_matching(answers, country=country, admin1=admin1)
    held: dict[str, tuple[ActorRef, list[str]]] = {}
    for view in places:
        if view.controller is not None:
            held.setdefault(view.controller.id, (view.controller, []))[1].append(view.place.id)
    changes = [
        PlaceChange(view.place.id, view.place.name, change)
        for view in places
        for change in view.history
        # A baseline says who held a place all along: not a change of hands.
        if change.method != "baseline" and _start(change) > at - RECENT_CHANGES
    ]
    last_day = ReportFilter(country=country, admin1=admin1, since=at - LAST_DAY, until=at)
    return Overview(
        holders=tuple(
            Holder(actor, tuple(ids))
            for actor, ids in sorted(held.values(), key=lambda h: (-len(h[1]), h[0].id))
        ),
        recent_changes=tuple(sorted(changes, key=lambda c: (_start(c), c.place_id), reverse=True)),
        unsettled=tuple(
            Unsettled(v.place.id, v.place.name, v.status, v.reasons)
            for v in places
            if v.status in ("disputed", "contested")
        ),
        strikes=tuple(last_day.strikes(answers)),
        casualties=tuple(last_day.casualties(answers)),
        statements=tuple(ReportFilter(country=country).statements(answers)[:LATEST_STATEMENTS]),
    )


def _start(change: Change | PlaceChange) -> datetime:
    moment = change.change.occurred_at if isinstance(change, PlaceChange) else change.occurred_at
    return start_of(moment)
