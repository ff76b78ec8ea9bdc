"""Places: a location as a report names it resolves to one canonical place.

The gazetteer holds known places: the project's own additions (``seeds/places.json``) in
memory, and the world (GeoNames and ISO 3166) in an index on disk behind :class:`PlaceIndex`.
A name it does not know is kept: as a new place when the report gives coordinates, else as an
unresolved place that is flagged, never dropped.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from sitrep.contract.values import Location
from sitrep.resolution.names import fold, name_keys, skeleton

Origin = Literal["seed", "geonames", "reported", "unresolved"]
_ORIGIN_RANK: dict[str, int] = {"seed": 0, "geonames": 1}
Tier = Literal["folded", "normal", "loose"]
"""Which key a name is found by (see :mod:`sitrep.resolution.names`), strictest first."""
TIERS: tuple[Tier, ...] = ("folded", "normal", "loose")
COUNTRY_ID_PREFIX = "cc:"
"""Ids of whole countries (``cc:UA``); they are places of kind ``region`` in the views."""


@dataclass(frozen=True)
class Place:
    """A canonical place."""

    id: str
    name: str
    origin: Origin
    kind: str | None = None
    country: str | None = None
    admin1: str | None = None
    parent: str | None = None
    """Id of the enclosing place (a neighbourhood's city), if any."""
    lat: float | None = None
    lon: float | None = None
    population: int = 0
    alternate_names: tuple[str, ...] = ()
    local_names: tuple[str, ...] = ()
    """What the place is called in its country's own scripts, shown beside ``name``
    (:mod:`sitrep.resolution.scripts`)."""

    @property
    def resolved(self) -> bool:
        return self.origin != "unresolved"


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 12_742 * math.asin(min(1.0, math.sqrt(h)))


def _distance(a: Place, b: tuple[float, float] | None) -> float | None:
    if b is None or a.lat is None or a.lon is None:
        return None
    return distance_km((a.lat, a.lon), b)


def _same_admin1(a: str | None, b: str | None) -> bool:
    """Whether two admin1 names are one ("Idleb" is "Idlib"); false if either is unknown."""
    return a is not None and b is not None and skeleton(a) == skeleton(b)


def _feature_rank(place: Place) -> int:
    """A name that is a country's means the country (not a village called Sudan); a region
    shares its name with its capital, which reports mean unless they say "region"."""
    if place.id.startswith(COUNTRY_ID_PREFIX):
        return 0
    return 2 if place.kind == "region" else 1


def _rank(place: Place) -> tuple[int, int, int, str]:
    """Seed places first (the project's word wins), then countries, then populated places
    before regions, then the most populous, then by id."""
    return (_ORIGIN_RANK.get(place.origin, 2), _feature_rank(place), -place.population, place.id)


def _unshadowed(tiers: list[list[Place]]) -> tuple[list[Place], ...]:
    """``tiers`` less the regions (not countries) named like a non-region place of theirs by
    any key: "Al-Hudayda" is exactly the governorate's name, and loosely the city's, which
    is what a report naming it means unless it says "region"."""
    countries = {p.country for tier in tiers for p in tier if p.kind != "region"}
    return tuple(
        [
            p
            for p in tier
            if p.kind != "region"
            or p.id.startswith(COUNTRY_ID_PREFIX)
            or p.country not in countries
        ]
        for tier in tiers
    )


def _ranking(name: str, country: str | None) -> Callable[[Place], tuple[object, ...]]:
    """:func:`_rank`, and within a country a place called ``name`` now before one that was
    (Pokrovsk in Yakutia, not Engels, once called Pokrovsk); across the world a former or
    foreign name of a large place wins over the name of a small one ("Kharkov")."""
    if country is None:
        return _rank
    folded = fold(name)

    def rank(place: Place) -> tuple[object, ...]:
        origin, feature, *rest = _rank(place)
        return (origin, feature, fold(place.name) != folded, *rest)

    return rank


@dataclass(frozen=True)
class Choice:
    """The place a location names, and the others it could have named, best first."""

    place: Place
    others: tuple[Place, ...] = ()
    by: Literal["nearest", "ranked"] | None = None
    """How the place was chosen among others: the nearest to the coordinates given, or the
    first by :func:`_ranking` (seed places, countries, populated places, population)."""

    @classmethod
    def among(cls, candidates: list[Place], by: Literal["nearest", "ranked"]) -> Choice:
        """The first of ``candidates`` (best first), and the others if there are any."""
        first, *others = candidates
        return cls(first, tuple(others), by if others else None)


class PlaceIndex(Protocol):
    """Known places kept outside the gazetteer (the world index on disk)."""

    def find(self, tier: Tier, key: str) -> list[Place]:
        """The places one of whose names has ``key`` as its key of ``tier``."""
        ...

    def get(self, place_id: str) -> Place | None: ...

    def names(self, country: str | None) -> list[str]:
        """The names a misspelt place name may have meant: of every place in ``country``, or
        in the whole world of the larger places, the countries and the regions."""
        ...

    def __len__(self) -> int: ...


class Gazetteer:
    """Known places, found by any of their names, spellings or transliterations."""

    MAX_MATCH_KM = 50.0
    """A name match farther than this from the reported coordinates is another place."""
    SUBPLACE_KM = 25.0
    """How far from a (city) parent a place it does not list as its child may lie."""
    MIN_SKELETON = 3
    """Letters a skeleton needs to match within a country or near coordinates."""
    MIN_SKELETON_WORLDWIDE = 5
    """Letters a skeleton needs to match anywhere in the world (no country, no coordinates)."""
    REMEMBERED = 100_000
    """How many resolved locations are kept (all are forgotten when there are more)."""

    def __init__(
        self,
        places: Iterable[Place] = (),
        world: PlaceIndex | None = None,
        twins: Mapping[str, str] | None = None,
    ) -> None:
        """The ``places`` given, and those of ``world``; ``twins`` maps a world place's id to
        the place given that stands for it (a seed place and its GeoNames twin are one)."""
        self._places: dict[str, Place] = {}
        self._keys: dict[Tier, dict[str, list[str]]] = {tier: defaultdict(list) for tier in TIERS}
        self._world = world
        self._twins = dict(twins or {})
        self._resolved: dict[tuple[object, ...], Place] = {}
        """Locations already resolved: the same names come again and again."""
        for place in places:
            self.add(place)

    def add(self, place: Place) -> None:
        self._resolved.clear()
        self._places[place.id] = place
        for name in {place.name, *place.alternate_names}:
            for tier, key in zip(TIERS, name_keys(name), strict=True):
                if key and place.id not in self._keys[tier][key]:
                    self._keys[tier][key].append(place.id)

    def __len__(self) -> int:
        world = len(self._world) - len(self._twins) if self._world is not None else 0
        return len(self._places) + world

    def get(self, place_id: str) -> Place | None:
        place = self._places.get(place_id)
        if place is None and self._world is not None and place_id not in self._twins:
            place = self._world.get(place_id)
        return place

    def known_names(self, country: str | None) -> list[str]:
        """The names a misspelt place name in ``country`` (None: anywhere) may have meant:
        every name of the places given, and the world's (:meth:`PlaceIndex.names`)."""
        given = [
            name
            for place in self._places.values()
            if country is None or place.country == country
            for name in (place.name, *place.alternate_names)
        ]
        return given + (self._world.names(country) if self._world is not None else [])

    def find(self, name: str, country: str | None = None) -> list[Place]:
        """Places called ``name``, best first.

        Exact (folded) matches, else normal, else skeleton matches (see :meth:`_tiers`), ranked
        by :func:`_ranking`. With ``country``, only places in it (or of no known country).
        """
        for tier in self._tiers(name, country, scoped=country is not None):
            if tier:
                return sorted(tier, key=_ranking(name, country))
        return []

    def _tiers(
        self, name: str, country: str | None, scoped: bool, regions: bool = False
    ) -> tuple[list[Place], ...]:
        """The places whose folded name is ``name``'s, then the others whose normal key is,
        then the others whose skeleton is; unless ``regions`` are asked for, a region that
        shares its name with a place of its country is left to that place (the governorate
        called Hama is not what "Hama" means).

        A skeleton is loose: a short one names many places ("Hayan" and "Hanoi" are both
        "hn"). It is used only when it has at least :data:`MIN_SKELETON` letters and the search
        is ``scoped`` (to a country, or near coordinates), or :data:`MIN_SKELETON_WORLDWIDE`.
        """
        *strict, loose = name_keys(name)
        letters = len(loose.replace(" ", ""))
        if letters < (self.MIN_SKELETON if scoped else self.MIN_SKELETON_WORLDWIDE):
            loose = ""
        tiers: list[list[Place]] = []
        seen: set[str] = set()
        for tier, key in zip(TIERS, (*strict, loose), strict=True):
            found = self._matches(tier, key) if key else []
            found = [p for p in found if p.id not in seen]
            seen.update(p.id for p in found)
            tiers.append([p for p in found if country is None or p.country in (None, country)])
        return tuple(tiers) if regions else _unshadowed(tiers)

    def _matches(self, tier: Tier, key: str) -> list[Place]:
        found = [self._places[i] for i in self._keys[tier].get(key, ())]
        if self._world is not None:
            for place in self._world.find(tier, key):
                twin = self._twins.get(place.id)
                found.append(self._places[twin] if twin is not None else place)
        return list({p.id: p for p in found}.values())

    def resolve(self, location: Location) -> Place:
        """The canonical place a report's location names.

        Candidates are the exact matches, else the normal, else the skeleton matches (see
        :meth:`_tiers`), in the location's country; regions alone when it names a region.
        With a ``parent``, only those that can lie inside the parent (:meth:`_inside`). With
        coordinates, the nearest within :data:`MAX_MATCH_KM` (or one with no coordinates to
        compare), else a new ``reported`` place there. Without, those in the location's
        ``admin1`` if any, and of them the best ranked (:func:`_ranking`), else an
        ``unresolved`` place. A new place is a sub-place of the parent, if one is named.
        """
        key = (
            location.name,
            location.country,
            location.admin1,
            location.parent,
            location.kind,
            location.lat,
            location.lon,
        )
        known = self._resolved.get(key)
        if known is None:
            if len(self._resolved) >= self.REMEMBERED:
                self._resolved.clear()
            known = self._resolved[key] = self._resolve(location)
        return known

    def _resolve(self, location: Location) -> Place:
        return self.choose(location).place

    def choose(self, location: Location) -> Choice:
        """:meth:`resolve`, with the other places the location could have named (not
        remembered: it is asked when someone wants to know why, not for every report)."""
        parent = self.resolve_name(location.parent, location.country) if location.parent else None
        here = (
            None if location.lat is None or location.lon is None else (location.lat, location.lon)
        )
        scoped = (
            location.country is not None or here is not None or bool(parent and parent.resolved)
        )
        regions = location.kind == "region"
        tiers = self._tiers(location.name, location.country, scoped, regions)
        if regions:  # "Kherson" the oblast, not the city
            tiers = tuple([p for p in tier if p.kind == "region"] or tier for tier in tiers)
        if parent is not None:
            tiers = tuple(self._inside(tier, parent) for tier in tiers)
        rank = _ranking(location.name, location.country)
        if here is not None:
            for tier in tiers:
                near = [(d, p) for p in tier if (d := _distance(p, here)) is not None]
                near = [(d, p) for d, p in near if d <= self.MAX_MATCH_KM]
                if near:
                    by_distance = sorted(near, key=lambda item: (item[0], rank(item[1])))
                    return Choice.among([p for _, p in by_distance], "nearest")
                # A known place without coordinates (a facility) cannot be too far away.
                unplaced = [p for p in tier if p.lat is None or p.lon is None]
                if unplaced:
                    return Choice.among(sorted(unplaced, key=rank), "ranked")
            return Choice(self._new(location, parent, "reported"))
        for tier in tiers:
            if tier:
                in_admin1 = [p for p in tier if _same_admin1(p.admin1, location.admin1)]
                return Choice.among(sorted(in_admin1 or tier, key=rank), "ranked")
        return Choice(self._new(location, parent, "unresolved"))

    def _inside(self, candidates: list[Place], parent: Place) -> list[Place]:
        """The candidates that can be the named place inside ``parent``.

        Its registered children if any match; else any other match that is not the parent
        itself and lies in it: in its admin1 for a region, within :data:`SUBPLACE_KM` of it
        otherwise (a match that cannot be placed is kept).
        """
        children = [p for p in candidates if p.parent == parent.id]
        if children:
            return children
        kept = []
        for place in candidates:
            if place.id == parent.id:
                continue
            if parent.kind == "region":
                known = place.admin1 is not None and parent.admin1 is not None
                if known and not _same_admin1(place.admin1, parent.admin1):
                    continue
            elif parent.lat is not None and parent.lon is not None:
                away = _distance(place, (parent.lat, parent.lon))
                if away is not None and away > self.SUBPLACE_KM:
                    continue
            kept.append(place)
        return kept

    def resolve_name(self, name: str, country: str | None = None) -> Place:
        """The canonical place for a bare name (a ``parent``, a ``forces.withdrew`` ``to``)."""
        return self.resolve(Location(name=name, country=country))

    @staticmethod
    def _new(location: Location, parent: Place | None, origin: Origin) -> Place:
        scope = parent.id if parent is not None else (location.country or "xx").lower()
        return Place(
            id=f"{scope}/{fold(location.name).replace(' ', '-') or 'unnamed'}",
            name=location.name,
            origin=origin,
            kind=location.kind,
            country=location.country or (parent.country if parent else None),
            admin1=location.admin1 or (parent.admin1 if parent else None),
            parent=parent.id if parent is not None else None,
            lat=location.lat,
            lon=location.lon,
        )
