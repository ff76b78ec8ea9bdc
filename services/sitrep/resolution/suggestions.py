"""Did you mean: the known names closest to a name nobody knows, and the warnings that name
them for an event's unknown places and actors.

An unknown name is accepted (it is a fact somebody reported); the warning is there so that
whoever published it sees a misspelling at once. Names are compared by their normal key
(:func:`sitrep.resolution.names.normal`: no case, marks or articles, in Latin letters), so a
misspelling in Cyrillic meets its Latin twin, with rapidfuzz's edit-distance ratio.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache

from rapidfuzz import fuzz, process

from sitrep.contract.events import (
    CasualtiesReportedEvent,
    ClaimDeniedEvent,
    ClashReportedEvent,
    ControlChangedEvent,
    EventBase,
    ForcesWithdrewEvent,
    StatementIssuedEvent,
    StrikeReportedEvent,
)
from sitrep.contract.values import Location
from sitrep.resolution.actors import ActorRegistry
from sitrep.resolution.names import fold, normal
from sitrep.resolution.places import Gazetteer, Place

CLOSEST = 3
"""How many known names a warning offers."""
CUTOFF = 75.0
"""How alike (0-100, rapidfuzz's ratio of normal keys) a known name must be to be offered:
"Kramatorks" is 90 like "Kramatorsk", "Aleppo" 40 like "Idlib"."""
UNCOUNTED_PARTIES = frozenset({"civilians"})
"""Parties the contract names that are no actor: never unknown."""


class Closest:
    """Known names, and the closest of them to any other name."""

    def __init__(self, names: Iterable[str]) -> None:
        keyed: dict[str, str] = {}
        for name in names:
            key = normal(name)
            if key:
                keyed.setdefault(key, name)
        self._keys = list(keyed)
        self._names = list(keyed.values())

    def __len__(self) -> int:
        return len(self._keys)

    def to(self, name: str, limit: int = CLOSEST) -> list[str]:
        """The known names most like ``name``, closest first (none as alike as :data:`CUTOFF`:
        an empty list)."""
        key = normal(name)
        if not key:
            return []
        # More than ``limit``: namesakes in several places share one display name.
        found = process.extract(
            key, self._keys, scorer=fuzz.ratio, limit=limit * 4, score_cutoff=CUTOFF
        )
        shown: dict[str, None] = {}
        for _, _, index in found:
            shown.setdefault(self._names[index])
            if len(shown) == limit:
                break
        return list(shown)


def did_you_mean(names: Sequence[str]) -> str:
    return f"; did you mean {', '.join(map(repr, names))}?" if names else ""


def actor_names(event: EventBase) -> Iterator[tuple[str, str]]:
    """``(field, name)`` for every actor ``event`` names (not the actor it describes)."""
    if event.claimed_by is not None:
        yield "claimed_by", event.claimed_by
    match event:
        case ControlChangedEvent():
            yield "data.controller", event.data.controller
            if event.data.previous_controller is not None:
                yield "data.previous_controller", event.data.previous_controller
        case ClashReportedEvent():
            for index, party in enumerate(event.data.parties):
                yield f"data.parties.{index}", party
        case ForcesWithdrewEvent():
            yield "data.actor", event.data.actor
        case StrikeReportedEvent() if event.data.perpetrator is not None:
            yield "data.perpetrator", event.data.perpetrator
        case CasualtiesReportedEvent() if fold(event.data.party) not in UNCOUNTED_PARTIES:
            yield "data.party", event.data.party
        case StatementIssuedEvent():
            yield "data.actor", event.data.actor
            yield "data.speaker", event.data.speaker
        case ClaimDeniedEvent():
            yield "data.denied_by", event.data.denied_by


class KnownActors:
    """The actors a registry describes, and for any name, the closest of theirs if the name is
    none of them (remembered: a file of reports names the same few actors again and again)."""

    REMEMBERED = 10_000

    def __init__(self, registry: ActorRegistry) -> None:
        self.registry = registry
        self._names = Closest(n for actor in registry.actors.values() for n in actor.names)
        self._closest: dict[str, tuple[str, ...]] = {}

    def closest(self, name: str) -> tuple[str, ...]:
        """The known names most like ``name`` when it is none of them (else none)."""
        found = self._closest.get(name)
        if found is None:
            if len(self._closest) >= self.REMEMBERED:
                self._closest.clear()
            unknown = self.registry.lookup(name) is None
            found = self._closest[name] = tuple(self._names.to(name)) if unknown else ()
        return found


def actor_warnings(event: EventBase, known: KnownActors) -> list[str]:
    """A warning for each actor ``event`` names that is no known actor but is called much like
    one; a name like no known one is a new actor, named without a warning."""
    warnings = []
    for field, name in actor_names(event):
        closest = known.closest(name)
        if closest:
            warnings.append(f"{field}: {name!r} is no known actor{did_you_mean(closest)}")
    return warnings


def place_flag(location: Location, place: Place) -> str | None:
    """Why ``place``, resolved from ``location``, is kept as given: no known place fits."""
    where = f" in {location.country}" if location.country else ""
    if place.origin == "unresolved":
        return (
            f"no known place{where} is called {location.name!r}: kept as given, without "
            "coordinates, so not on the map"
        )
    if place.origin == "reported":
        return (
            f"no known place{where} called {location.name!r} lies within "
            f"{Gazetteer.MAX_MATCH_KM:g} km of the coordinates given: kept as a new place there"
        )
    return None


@lru_cache(maxsize=16)
def _known_places(gazetteer: Gazetteer, country: str | None) -> Closest:
    """The names a misspelt place name in ``country`` may have meant, made once per country:
    a few tenths of a second for a country's few thousand places."""
    return Closest(gazetteer.known_names(country))


def place_names(event: EventBase) -> Iterator[tuple[str, Location]]:
    """``(field, location)`` for every place ``event`` names: its location, the location's
    parent, where forces withdrew to."""
    location = event.location
    if location is None:
        return
    yield "location", location
    if location.parent is not None:
        yield "location.parent", Location(name=location.parent, country=location.country)
    if isinstance(event, ForcesWithdrewEvent) and event.data.to is not None:
        yield "data.to", Location(name=event.data.to, country=location.country)


def place_warnings(event: EventBase, gazetteer: Gazetteer) -> list[str]:
    """A warning for each place ``event`` names that no known place fits, with the closest
    known names."""
    warnings = []
    for field, location in place_names(event):
        flag = place_flag(location, gazetteer.resolve(location))
        if flag is not None:
            closest = _closest_places(gazetteer, location.country, location.name)
            warnings.append(f"{field}: {flag}{did_you_mean(closest)}")
    return warnings


@lru_cache(maxsize=10_000)
def _closest_places(gazetteer: Gazetteer, country: str | None, name: str) -> tuple[str, ...]:
    """The known place names closest to ``name``, remembered: a file of reports names the
    same unknown village again and again, and each search takes a millisecond or more."""
    return tuple(_known_places(gazetteer, country).to(name))


_ACTORS: dict[int, KnownActors] = {}
"""The known actors of the last few registries, by identity (a registry is never changed:
describing an actor makes a new one)."""


def _known_actors(registry: ActorRegistry) -> KnownActors:
    found = _ACTORS.get(id(registry))
    if found is None or found.registry is not registry:
        if len(_ACTORS) >= 8:
            _ACTORS.clear()
        found = _ACTORS[id(registry)] = KnownActors(registry)
    return found


def name_warnings(event: EventBase, gazetteer: Gazetteer, registry: ActorRegistry) -> list[str]:
    """Warnings for the names ``event`` gives that nobody knows: its place, if none fits, and
    its actors, where known ones are called something close."""
    return [
        *place_warnings(event, gazetteer),
        *actor_warnings(event, _known_actors(registry)),
    ]
