"""The filters of the list endpoints, applied to the views the core answered."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import partial
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Query

from sitrep.api.answers import Answers
from sitrep.api.paging import Page, after_key, key_cursor
from sitrep.api.stored import moment_key
from sitrep.contract.events import start_of
from sitrep.contract.values import CountryCode
from sitrep.resolution.names import skeleton
from sitrep.resolution.places import Place
from sitrep.views.casualties import Casualties
from sitrep.views.control import ControlView
from sitrep.views.moments import end_of_day
from sitrep.views.statements import Statement
from sitrep.views.strikes import Strike

Country = Annotated[
    CountryCode | None, Query(description="ISO 3166-1 alpha-2 code, such as SY (any case).")
]
"""A ``country`` filter: a code that is no country is refused, never an empty answer."""

T = TypeVar("T")


def _in_region(place: Place | None, country: str | None, admin1: str | None) -> bool:
    if place is None:
        return country is None and admin1 is None
    return _region_is(place.country, place.admin1, country, admin1)


def _region_is(
    place_country: str | None, place_admin1: str | None, country: str | None, admin1: str | None
) -> bool:
    if country is not None and (place_country or "").upper() != country.upper():
        return False
    # "Idleb" is "Idlib": admin1 names are compared by their skeleton, as the gazetteer does.
    return admin1 is None or (
        place_admin1 is not None and skeleton(place_admin1) == skeleton(admin1)
    )


Ranked = Callable[[tuple[str, ...] | None], Iterable[tuple[tuple[str, ...], bytes]]]
"""A list read in order from just after a sort key: each item's sort key and JSON."""


def ranked_list(items: Sequence[T], sort_key: Callable[[T], tuple[str, ...]]) -> Ranked:
    """:data:`Ranked` over a list already in order (what the core answered whole)."""

    def ranked(after: tuple[str, ...] | None) -> Iterator[tuple[tuple[str, ...], bytes]]:
        for item in items:
            found = sort_key(item)
            if after is None or found > after:
                yield found, orjson.dumps(item)

    return ranked


LOOKS_PER_ITEM = 4
LEAST_LOOKS = 400
"""How many items a page of a list read in order may look at: ``LOOKS_PER_ITEM`` for each it
may hold, and no fewer than ``LEAST_LOOKS``. Past that the page ends early (its
``next_cursor`` goes on from there), so a filter few items pass never holds the API up; a
count rather than a time, so the same question gets the same pages."""


def _looks(limit: int) -> int:
    return max(1, LEAST_LOOKS, LOOKS_PER_ITEM * limit)


Candidates = Iterable[tuple[Sequence[str], Callable[[], Iterable[T]]]]
"""A list read in order: each candidate's sort key, and what it gives once looked at (nothing
when a filter leaves it out)."""


def _page(candidates: Candidates[T], limit: int) -> Page[T]:
    """A page of what ``candidates`` give: it ends once it holds ``limit`` items or has looked
    at :func:`_looks` candidates, and its cursor is the key of the last one looked at."""
    items: list[T] = []
    looks = _looks(limit)
    looked: Sequence[str] | None = None
    for sort_key, give in candidates:
        if len(items) == limit or looks == 0:
            assert looked is not None
            return Page(items, key_cursor(looked))
        looked = sort_key
        looks -= 1
        items.extend(give())
    return Page(items, None)


def places_page(
    answers: Answers,
    limit: int,
    cursor: str | None,
    *,
    country: str | None = None,
    admin1: str | None = None,
    controller: str | None = None,
    status: str | None = None,
) -> Page[ControlView]:
    """A page of :func:`places_matching`, by name: only the places it looks at are worked
    out, never those before the cursor."""
    held_by = answers.actor_id(controller) if controller is not None else None
    admin1 = answers.region_name(admin1, country) if admin1 is not None else None
    index = answers.shared.places
    order, keys = index.by_name, index.name_keys
    start = bisect.bisect_right(keys, after_key(cursor, 2)) if cursor else 0
    items: list[ControlView] = []
    at, looks = start, _looks(limit)
    while at < len(order) and len(items) < limit:
        if at - start >= looks:
            break
        place_id = order[at]
        at += 1
        if not _in_region(index.places[place_id], country, admin1):
            continue
        view = answers.control_of(place_id)
        if (
            view is not None
            and (held_by is None or (view.controller is not None and view.controller.id == held_by))
            and (status is None or view.status == status)
        ):
            items.append(view)
    return Page(items, key_cursor(keys[at - 1]) if at < len(order) else None)


def places_matching(
    answers: Answers,
    *,
    country: str | None = None,
    admin1: str | None = None,
    controller: str | None = None,
    status: str | None = None,
) -> list[ControlView]:
    """The control views in the region, held by ``controller`` (any alias), in ``status``."""
    held_by = answers.actor_id(controller) if controller is not None else None
    admin1 = answers.region_name(admin1, country) if admin1 is not None else None
    return [
        view
        for view in answers.control
        if _in_region(view.place, country, admin1)
        and (held_by is None or (view.controller is not None and view.controller.id == held_by))
        and (status is None or view.status == status)
    ]


@dataclass(frozen=True)
class ReportFilter:
    """Which reports a list shows: where, about whom, and when (bounds included)."""

    country: str | None = None
    admin1: str | None = None
    place: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def _when(self, start: datetime, end: datetime | None = None) -> bool:
        end = end or start
        return (self.since is None or end >= self.since) and (
            self.until is None or start <= self.until
        )

    def _where(self, answers: Answers, places: Iterable[Place | None]) -> bool:
        places = list(places)
        if self.place is not None:
            wanted = answers.place_ids(self.place)
            if not any(p is not None and p.id in wanted for p in places):
                return False
        if self.country is None and self.admin1 is None:
            return True
        return any(_in_region(p, self.country, self.admin1) for p in places)

    def _named(self, answers: Answers) -> ReportFilter:
        """This filter with its ``admin1`` as the gazetteer names the region."""
        if self.admin1 is None:
            return self
        return replace(self, admin1=answers.region_name(self.admin1, self.country))

    def strikes(self, answers: Answers) -> list[Strike]:
        named = self._named(answers)
        actor = answers.actor_id(self.actor) if self.actor is not None else None
        if self.since is not None and self.until is not None:
            candidates = answers.strikes_between(self.since, self.until)
        else:
            candidates = answers.strikes
        return [
            s
            for s in candidates
            if named._where(answers, [s.place])
            and (actor is None or (s.perpetrator is not None and s.perpetrator.id == actor))
            and named._when(start_of(s.day), end_of_day(s.day))
        ]

    def strikes_page(self, answers: Answers, limit: int, cursor: str | None) -> Page[Strike]:
        """A page of :meth:`strikes`, read day by day from the cursor: only the days it looks
        at are worked out."""
        named = self._named(answers)
        actor = answers.actor_id(self.actor) if self.actor is not None else None
        after = after_key(cursor, 2) if cursor else None
        first = self.since.astimezone(UTC).date() if self.since is not None else None
        if after is not None:
            resumed = date.fromisoformat(after[0])
            first = resumed if first is None else max(first, resumed)
        last = self.until.astimezone(UTC).date() if self.until is not None else None

        def passing(strike: Strike) -> list[Strike]:
            by = strike.perpetrator
            if (
                named._where(answers, [strike.place])
                and (actor is None or (by is not None and by.id == actor))
                and named._when(start_of(strike.day), end_of_day(strike.day))
            ):
                return [strike]
            return []

        def candidates() -> Candidates[Strike]:
            for day, found in answers.strike_pages(first):
                if last is not None and day > last:
                    return
                for strike in found:
                    sort_key = (day.isoformat(), strike.id)
                    if after is None or sort_key > after:
                        yield sort_key, partial(passing, strike)

        return _page(candidates(), limit)

    def casualties(self, answers: Answers) -> list[Casualties]:
        named = self._named(answers)
        party = answers.actor_id(self.actor) if self.actor is not None else None
        return [
            c
            for c in answers.casualties
            if named._where(answers, [r.place for r in c.reports])
            and (party is None or c.party.id == party)
            and any(named._when(start_of(p.start), end_of_day(p.end)) for p in c.periods)
        ]

    def casualties_page(
        self, answers: Answers, limit: int, cursor: str | None, ranked: Ranked
    ) -> Page[orjson.Fragment]:
        """A page of :meth:`casualties` read from ``ranked`` (each party's casualties, most
        killed first) from the cursor on: a page looks at no more than a page of places does."""
        named = self._named(answers)
        party = answers.actor_id(self.actor) if self.actor is not None else None
        wanted = answers.place_ids(self.place) if self.place is not None else None

        def passing(value: bytes) -> list[orjson.Fragment]:
            return (
                [orjson.Fragment(value)] if named.passes(orjson.loads(value), party, wanted) else []
            )

        ranking = ranked(after_key(cursor, 2) if cursor else None)
        return _page(((key, partial(passing, value)) for key, value in ranking), limit)

    def passes(self, found: dict[str, Any], party: str | None, wanted: set[str] | None) -> bool:
        """Whether a party's casualties (as JSON) pass: :meth:`casualties` on the JSON."""
        if party is not None and found["party"]["id"] != party:
            return False
        places = [r["place"] for r in found["reports"]]
        if wanted is not None and not any(p is not None and p["id"] in wanted for p in places):
            return False
        if (self.country is not None or self.admin1 is not None) and not any(
            p is not None and _region_is(p["country"], p["admin1"], self.country, self.admin1)
            for p in places
        ):
            return False
        return any(
            self._when(
                start_of(date.fromisoformat(p["start"])), end_of_day(date.fromisoformat(p["end"]))
            )
            for p in found["periods"]
        )

    def statements(self, answers: Answers) -> list[Statement]:
        """Statements have no place: ``country`` is the country of the actor spoken for."""
        actor = answers.actor_id(self.actor) if self.actor is not None else None
        return [
            s
            for s in answers.statements
            if (actor is None or actor in (s.actor.id, s.speaker.id))
            and (self.country is None or self._country_of(answers, s) == self.country.upper())
            and self._when(start_of(s.occurred_at))
        ]

    def statements_page(self, answers: Answers, limit: int, cursor: str | None) -> Page[Statement]:
        """A page of :meth:`statements`, read newest first from the cursor by the index of
        statements by time: only the statements a page looks at are made."""
        actor = answers.actor_id(self.actor) if self.actor is not None else None
        until = answers.asked.at if self.until is None else min(self.until, answers.asked.at)
        since = moment_key(self.since) if self.since is not None else None

        def passing(sort_key: tuple[str, ...], named: str) -> list[Statement]:
            if not answers.of_country(named, self.country):
                return []
            return [
                s
                for s in answers.statement(sort_key)
                if actor is None or actor in (s.actor.id, s.speaker.id)
            ]

        def candidates() -> Candidates[Statement]:
            for sort_key, named in answers.situation.said(
                until, after_key(cursor, 4) if cursor else None
            ):
                if since is not None and sort_key[0] < since:
                    return
                yield sort_key, partial(passing, sort_key, named)

        return _page(candidates(), limit)

    @staticmethod
    def _country_of(answers: Answers, statement: Statement) -> str | None:
        actor = answers.registry.actors.get(statement.actor.id)
        return actor.country.upper() if actor is not None and actor.country else None
