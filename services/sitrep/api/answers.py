"""The questions a request puts to the pure core, for one moment asked.

Every answer is a view of :mod:`sitrep.views`, computed from the ledgers the read model holds
with the same functions the worker projects onto the view topics.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property

import orjson

from sitrep.api.stored import StoredSituation
from sitrep.resolution.actors import ActorRegistry, actor_id
from sitrep.resolution.names import fold, skeleton
from sitrep.resolution.places import Place
from sitrep.views.actors import ActorView, actor_views, descriptions, holdings_of
from sitrep.views.casualties import Casualties, casualties
from sitrep.views.control import Change, ControlView, control_history, control_view
from sitrep.views.ledger import Ledger, visible
from sitrep.views.moments import Asked
from sitrep.views.refs import actor_ref
from sitrep.views.routing import REGISTRY_KEY
from sitrep.views.statements import Statement, statements
from sitrep.views.strikes import Strike, strikes


def _ledgers(situation: StoredSituation, kind: str) -> list[Ledger]:
    return [situation.ledgers[key] for key in situation.ledgers.keys_of(f"{kind}:")]


def _seen_at(ledger: Ledger, place_id: str, asked: Asked) -> bool:
    """Whether any report about the place is visible as asked."""
    return any(
        f.place is not None and f.place.id == place_id for f in visible(ledger, asked).reports
    )


@dataclass
class PlaceIndex:
    """Every place reported and the key of the ledger it is filed in, by place id."""

    ledger_keys: dict[str, str]
    places: dict[str, Place]

    @classmethod
    def of(cls, situation: StoredSituation) -> PlaceIndex:
        ledger_keys: dict[str, str] = {}
        places: dict[str, Place] = {}
        for ledger_key, place in situation.places_filed():
            ledger_keys[place.id] = ledger_key
            places[place.id] = place
        return cls(ledger_keys, places)

    @cached_property
    def by_name(self) -> list[str]:
        """Every place id, in the order lists give: by folded name, then id."""
        return [place_id for _, place_id in self.name_keys]

    @cached_property
    def name_keys(self) -> list[tuple[str, str]]:
        """The sort key of each place in :attr:`by_name`: (folded name, id)."""
        return sorted((fold(place.name), place_id) for place_id, place in self.places.items())


ENCODED_KEPT = 1024
ENCODED_BYTES_KEPT = 8 * 1024 * 1024
"""How many encoded views, and how many bytes of them, one :class:`Answers` keeps: past
either, all are forgotten (a region's overview at a busy moment is over a megabyte)."""
STRIKE_DAYS_KEPT = 256
"""How many days' strikes one :class:`Answers` keeps."""
REGISTRIES_KEPT = 64
"""How many registries (one per set of descriptions seen) :class:`Shared` keeps."""


class Shared:
    """What every question put to one state of the situation shares, whatever the moment
    asked: where each place is filed, and the registry each set of descriptions makes.

    Make a new one when the situation changes.
    """

    def __init__(self, situation: StoredSituation) -> None:
        self.situation = situation
        self._registries: dict[tuple[str, ...], ActorRegistry] = {}

    @cached_property
    def places(self) -> PlaceIndex:
        return PlaceIndex.of(self.situation)

    def registry(self, asked: Asked) -> ActorRegistry:
        """The actors as described by the reports known at ``asked.known_at``."""
        described = descriptions(self.situation.ledgers.get(REGISTRY_KEY), asked)
        # Most moments see the same descriptions: describing them again would give the same.
        key = tuple(event.id for event in described)
        found = self._registries.get(key)
        if found is None:
            if len(self._registries) >= REGISTRIES_KEPT:
                self._registries.clear()
            found = self._registries[key] = ActorRegistry().describe_all(described)
        return found


class Answers:
    """The views as they stood at ``asked.at``, from the reports known at ``asked.known_at``.

    ``shared`` is what answers for other moments computed already, if any.
    """

    def __init__(
        self, situation: StoredSituation, asked: Asked, shared: Shared | None = None
    ) -> None:
        self.situation = situation
        self.asked = asked
        self.shared = shared if shared is not None else Shared(situation)
        self._within: dict[str, set[str]] = {}
        self._views: dict[str, ControlView | None] = {}
        self._strike_days: dict[date, list[Strike]] = {}
        self._encoded: dict[Hashable, bytes] = {}
        self._encoded_bytes = 0

    @cached_property
    def registry(self) -> ActorRegistry:
        """The actors as described by the reports known at ``known_at``."""
        return self.shared.registry(self.asked)

    def encoded(self, key: Hashable, view: Callable[[], object | None]) -> bytes | None:
        """The JSON of ``view()`` (as :class:`sitrep.api.encoding.ViewResponse` encodes it),
        computed once per ``key`` for these answers; None, never kept, when it is None.

        ``key`` names the question completely (the route and its parameters): a remembered
        :class:`Answers` is asked it again by the next request for the same moment.
        """
        found = self._encoded.get(key)
        if found is not None:
            return found
        value = view()
        if value is None:
            return None
        return self.remembered(key, lambda: orjson.dumps(value))

    def remembered(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        """``make()`` (an answer's bytes), made once per ``key`` for these answers: the
        requests of one second that ask one question are answered by the first's bytes."""
        found = self._encoded.get(key)
        if found is not None:
            return found
        found = make()
        if len(self._encoded) >= ENCODED_KEPT or self._encoded_bytes > ENCODED_BYTES_KEPT:
            self._encoded.clear()
            self._encoded_bytes = 0
        self._encoded[key] = found
        self._encoded_bytes += len(found)
        return found

    # --- places ----------------------------------------------------------------------------

    def _reports_of(self, place_id: str) -> Ledger:
        """The reports that make a reported place's control view."""
        return self.situation.control(self.shared.places.ledger_keys[place_id], place_id)

    def control_of(self, place_id: str) -> ControlView | None:
        """The control of a reported place as asked; None when no report of it is visible."""
        if place_id not in self._views:
            reports = self._reports_of(place_id)
            self._views[place_id] = (
                control_view(reports, place_id, self.registry, self.asked)
                if _seen_at(reports, place_id, self.asked)
                else None
            )
        return self._views[place_id]

    @cached_property
    def control(self) -> list[ControlView]:
        """Every place with a report visible as asked, by name."""
        return [
            view
            for place_id in self.shared.places.by_name
            for view in [self.control_of(place_id)]
            if view is not None
        ]

    def place(self, name: str) -> ControlView | None:
        """One place by its id or any of its names and spellings."""
        place_id = self.place_id(name)
        if place_id is None:
            return None
        return control_view(self._reports_of(place_id), place_id, self.registry, self.asked)

    def history(self, name: str) -> list[Change] | None:
        """Every change of hands of one place (by id, name or spelling), oldest first."""
        place_id = self.place_id(name)
        if place_id is None:
            return None
        return control_history(self._reports_of(place_id), place_id, self.registry, self.asked)

    def place_id(self, name: str) -> str | None:
        """The id of the reported place ``name`` is the id, a name or a spelling of."""
        known = self.shared.places.ledger_keys
        if name in known:
            return name
        for candidate in self.situation.gazetteer.find(name):
            if candidate.id in known:
                return candidate.id
        wanted = fold(name)
        return next((p.id for p in self._places.values() if fold(p.name) == wanted), None)

    def place_ids(self, name: str) -> set[str]:
        """A place and the places within it (its sub-places, theirs...)."""
        if name not in self._within:
            root = self.place_id(name)
            found = {root} if root is not None else set()
            grew = bool(found)
            while grew:
                inside = {p.id for p in self._places.values() if p.parent in found}
                grew = not inside <= found
                found |= inside
            self._within[name] = found
        return self._within[name]

    def region_name(self, name: str, country: str | None = None) -> str:
        """The admin1 (governorate, province...) that ``name`` names, in any script or
        spelling the gazetteer knows: "Ḩalab" and "حلب" are Aleppo's. A region by that name,
        else a city named as its region; else ``name`` as given (compared by skeleton, so
        "Idleb" is still "Idlib")."""
        found = self.situation.gazetteer.find(name, country.upper() if country else None)
        for candidate in found:
            if candidate.kind == "region" and candidate.admin1:
                return candidate.admin1
        for candidate in found:
            if candidate.admin1 and skeleton(candidate.name) == skeleton(candidate.admin1):
                return candidate.admin1
        return name

    @property
    def _places(self) -> dict[str, Place]:
        """Every place reported, by id."""
        return self.shared.places.places

    # --- actors ----------------------------------------------------------------------------

    def actor_id(self, name: str) -> str:
        """The canonical id of the actor ``name`` is an id, name or alias of."""
        if name in self.registry.actors:
            return name
        found = self.registry.lookup(name)
        return found.id if found is not None else actor_id(name)

    @cached_property
    def actors(self) -> list[ActorView]:
        return actor_views(self.registry, holdings_of(self.control))

    def actor(self, name: str) -> ActorView | None:
        wanted = self.actor_id(name)
        return next((a for a in self.actors if a.id == wanted), None)

    # --- reports ---------------------------------------------------------------------------

    def strikes_on(self, day: date, reports: dict[str, list[str]] | None = None) -> list[Strike]:
        """The strikes of one (UTC) day as asked, by id: made from that day's strike reports
        (``reports``, by ledger, when the caller has them) and their answers alone."""
        found = self._strike_days.get(day)
        if found is None:
            if reports is None:
                on, reports = next(self.situation.strike_days(day), (day, {}))
                if on != day:
                    reports = {}
            found = sorted(
                (
                    strike
                    for ledger, ids in sorted(reports.items())
                    for strike in strikes(
                        self.situation.with_answers(ledger, ids), self.registry, self.asked
                    )
                    if strike.day == day
                ),
                key=lambda s: s.id,
            )
            if len(self._strike_days) >= STRIKE_DAYS_KEPT:
                self._strike_days.clear()
            self._strike_days[day] = found
        return found

    def strike_pages(self, first: date | None = None) -> Iterator[tuple[date, list[Strike]]]:
        """Each day with strikes reported, from ``first`` on, and its strikes (by id)."""
        for day, reports in self.situation.strike_days(first):
            yield day, self.strikes_on(day, reports)

    @property
    def strikes(self) -> list[Strike]:
        """Every strike, oldest first (as many days as the log holds: lists page instead)."""
        return [strike for _, found in self.strike_pages() for strike in found]

    def strikes_between(self, since: datetime, until: datetime) -> list[Strike]:
        """The strikes of the days from ``since`` to ``until`` (bounds included)."""
        first, last = since.astimezone(UTC).date(), until.astimezone(UTC).date()
        out: list[Strike] = []
        for day, found in self.strike_pages(first):
            if day > last:
                break
            out.extend(found)
        return out

    @cached_property
    def casualties(self) -> list[Casualties]:
        return casualties(_ledgers(self.situation, "casualties"), self.registry, self.asked)

    def latest_statements(self, country: str | None, limit: int) -> list[Statement]:
        """The latest ``limit`` statements as asked, newest first; with ``country``, of the
        actors of that country: read from the newest back, only as far as it takes."""
        out: list[Statement] = []
        for sort_key, actor in self.situation.said(self.asked.at):
            if len(out) >= limit:
                break
            if self.of_country(actor, country):
                out.extend(self.statement(sort_key))
        return out[:limit]

    def of_country(self, actor: str, country: str | None) -> bool:
        """Whether the actor named ``actor`` is of ``country`` (any, when None)."""
        if country is None:
            return True
        found = self.registry.actors.get(actor_ref(self.registry, actor).id)
        own = found.country if found is not None else None
        return own is not None and own.upper() == country.upper()

    def statement(self, sort_key: tuple[str, ...]) -> list[Statement]:
        """The statement of a sort key :meth:`StoredSituation.said` gave, if seen as asked."""
        *_, event_id, ledger = sort_key
        return statements(
            [self.situation.with_answers(ledger, [event_id])], self.registry, self.asked
        )

    @cached_property
    def statements(self) -> list[Statement]:
        return statements(_ledgers(self.situation, "statements"), self.registry, self.asked)
