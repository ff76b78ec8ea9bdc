"""The situation at a glance: who holds how much, what changed hands lately, what is disputed
or contested and why, the last day's strikes and casualties, and the latest statements.

Every list is bounded: the holders with most places (each with its count and its first places
by name), the latest changes and the first unsettled places by name, each with how many there
are in all (``/v1/places`` lists the rest, a page at a time). Asked about a moment for which
the read model's index of the present holds (:class:`~sitrep.api.now.NowIndex`), the holders,
changes and unsettled places are read from it (:func:`indexed`); otherwise every place's
control is projected for the moment asked (:func:`overview`), which gives the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import orjson

from sitrep.api.answers import Answers
from sitrep.api.filters import ReportFilter, places_matching
from sitrep.api.now import NowIndex, region_of
from sitrep.api.now_parties import rank_of_json
from sitrep.contract.events import start_of
from sitrep.views.casualties import Casualties
from sitrep.views.control import Change, Status
from sitrep.views.refs import ActorRef
from sitrep.views.statements import Statement
from sitrep.views.strikes import Strike

RECENT_CHANGES = timedelta(days=7)
LAST_DAY = timedelta(hours=24)
LATEST_STATEMENTS = 10
HOLDERS_SHOWN = 50
PLACES_SHOWN = 100
"""How many places each holder lists (the first by name)."""
CHANGES_SHOWN = 100
UNSETTLED_SHOWN = 100


@dataclass(frozen=True)
class Holder:
    """An actor, how many places it holds in the region, and the first of them by name."""

    actor: ActorRef
    count: int
    places: tuple[str, ...]
    """The ids of the first ``PLACES_SHOWN`` places it holds, by name."""


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
    """The ``HOLDERS_SHOWN`` actors holding most places, most first (then by id)."""
    holder_count: int
    """How many actors hold a place in the region."""
    recent_changes: tuple[PlaceChange, ...]
    """The latest ``CHANGES_SHOWN`` changes of hands of the last seven days (baselines left
    out), newest first."""
    recent_change_count: int
    unsettled: tuple[Unsettled, ...]
    """The first ``UNSETTLED_SHOWN`` disputed or contested places, by name."""
    unsettled_count: int
    strikes: tuple[Strike, ...]
    """Strikes of the last 24 hours."""
    casualties: tuple[Casualties, ...]
    """Parties with losses reported for the last 24 hours."""
    statements: tuple[Statement, ...]
    """The latest statements, newest first."""


def overview(answers: Answers, *, country: str | None, admin1: str | None) -> Overview:
    """The overview of a region (or everywhere) as asked, from every place's control."""
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
    recent = sorted(changes, key=lambda c: (_start(c), c.place_id), reverse=True)
    unsettled = [
        Unsettled(v.place.id, v.place.name, v.status, v.reasons)
        for v in places
        if v.status in ("disputed", "contested")
    ]
    holders = sorted(held.values(), key=lambda h: (-len(h[1]), h[0].id))
    return Overview(
        holders=tuple(
            Holder(actor, len(ids), tuple(ids[:PLACES_SHOWN]))
            for actor, ids in holders[:HOLDERS_SHOWN]
        ),
        holder_count=len(holders),
        recent_changes=tuple(recent[:CHANGES_SHOWN]),
        recent_change_count=len(recent),
        unsettled=tuple(unsettled[:UNSETTLED_SHOWN]),
        unsettled_count=len(unsettled),
        **_reports(answers, country, admin1),
    )


def indexed(
    now: NowIndex, answers: Answers, *, country: str | None, admin1: str | None
) -> dict[str, Any]:
    """:func:`overview` (as JSON-ready values) read from ``now``, which must hold for the
    moment asked (:meth:`NowIndex.fresh_for`)."""
    at = answers.asked.at
    named = answers.region_name(admin1, country) if admin1 is not None else None
    region = region_of(country, named)
    holders = []
    actors = list(now.holders(region))
    for actor in actors[:HOLDERS_SHOWN]:
        held = [orjson.loads(v) for v in islice(now.held(region, actor), PLACES_SHOWN)]
        holders.append(
            {
                "actor": held[0]["actor"],
                "count": now.held_count(region, actor),
                "places": [h["held"]["place_id"] for h in held],
            }
        )
    changes = list(now.changes(region, at - RECENT_CHANGES, at))
    return {
        "holders": holders,
        "holder_count": len(actors),
        "recent_changes": [orjson.Fragment(c) for c in changes[:CHANGES_SHOWN]],
        "recent_change_count": len(changes),
        "unsettled": [orjson.Fragment(u) for u in islice(now.unsettled(region), UNSETTLED_SHOWN)],
        "unsettled_count": now.unsettled_count(region),
        **_reports(answers, country, admin1, now),
    }


def _reports(
    answers: Answers, country: str | None, admin1: str | None, now: NowIndex | None = None
) -> dict[str, Any]:
    """The last day's strikes and casualties and the latest statements; with ``now``, the
    casualties of the parties whose periods end in the last day or after, read from it."""
    at = answers.asked.at
    last_day = ReportFilter(country=country, admin1=admin1, since=at - LAST_DAY, until=at)
    casualties: tuple[Any, ...]
    if now is None:
        casualties = tuple(last_day.casualties(answers))
    else:
        named = last_day._named(answers)
        found = []
        for party in now.parties.ending_from((at - LAST_DAY).astimezone(UTC).date()):
            value = now.casualties_of(party)
            if value is not None and named.passes(parsed := orjson.loads(value), None, None):
                found.append((rank_of_json(parsed), orjson.Fragment(value)))
        casualties = tuple(value for _, value in sorted(found, key=lambda f: f[0]))
    return {
        "strikes": tuple(last_day.strikes(answers)),
        "casualties": casualties,
        "statements": tuple(answers.latest_statements(country, LATEST_STATEMENTS)),
    }


def _start(change: Change | PlaceChange) -> datetime:
    return start_of(
        change.change.occurred_at if isinstance(change, PlaceChange) else change.occurred_at
    )
