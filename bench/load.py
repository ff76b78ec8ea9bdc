"""A realistic synthetic load: contract-valid events over a few hundred places and a few dozen
actors, spread so that no single ledger holds more than about 1% of them.

- Places: the seeds (``seeds/places.json``; the Aleppo family shares one ledger, so each of its
  places is drawn less often) and synthetic villages with coordinates inside Syria, which the
  gazetteer keeps as new "reported" places, one ledger each.
- Actors: the seeded registry (``seeds/actors.jsonl``, published first as ``actor.described``
  events, as a deployment does), some of their aliases, and synthetic armed groups.
- Events: control.changed, clash.reported, forces.withdrew, strike.reported,
  casualties.reported and statement.issued, and a few claim.denied pointing at earlier events,
  occurred over four weeks, each with a unique id.

Deterministic for a given seed and run id.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from sitrep.contract.values import Location
from sitrep.resolution.catalogue import seed_places
from sitrep.resolution.places import Gazetteer
from sitrep.views.routing import casualties_key, place_key, root_of, statements_key

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"

FIRST_DAY = date(2024, 11, 10)
DAYS = 28

# Event types and their shares of the load (claim.denied is drawn against earlier events).
MIX: dict[str, float] = {
    "control.changed": 0.15,
    "clash.reported": 0.24,
    "forces.withdrew": 0.08,
    "strike.reported": 0.24,
    "casualties.reported": 0.12,
    "statement.issued": 0.15,
    "claim.denied": 0.02,
}

# (admin1, lat, lon) of areas well inside Syria; villages are scattered within ±0.2° of them.
AREAS: tuple[tuple[str, float, float], ...] = (
    ("Aleppo", 36.25, 37.45),
    ("Idlib", 35.80, 36.60),
    ("Hama", 35.20, 36.90),
    ("Homs", 34.70, 37.00),
    ("Rif Dimashq", 33.60, 36.60),
    ("Daraa", 32.80, 36.20),
    ("As-Suwayda", 32.75, 36.65),
    ("Latakia", 35.60, 36.10),
    ("Tartus", 34.95, 36.10),
    ("Raqqa", 35.90, 38.80),
    ("Deir ez-Zor", 35.20, 40.20),
    ("Al-Hasakah", 36.60, 40.80),
)
PREFIXES = (
    "Tell",
    "Khirbet",
    "Kafr",
    "Ain",
    "Deir",
    "Beit",
    "Jisr",
    "Qasr",
    "Umm",
    "Abu",
    "Bir",
    "Jabal",
    "Hammam",
    "Arab",
    "Sheikh",
    "Qalaat",
    "Marj",
    "Wadi",
    "Tal",
    "Mazraat",
)
ROOTS = (
    "Hamra",
    "Sultan",
    "Abyad",
    "Jadida",
    "Kabir",
    "Saghir",
    "Shams",
    "Zeitoun",
    "Nahr",
    "Rumman",
    "Hawa",
    "Tuffah",
    "Ward",
    "Sabil",
    "Qamar",
    "Hajar",
    "Ghazal",
    "Asfar",
    "Tahta",
    "Fawqa",
    "Sharqi",
    "Gharbi",
)
SYNTHETIC_ACTORS = (
    "Liwa al-Fatah",
    "Jaysh al-Izza",
    "Ahrar al-Sham",
    "Faylaq al-Sham",
    "Suqour al-Sham Brigade",
    "Jaysh al-Nasr",
    "Sultan Murad Division",
    "Hamza Division",
    "Tiger Forces",
    "Fourth Armoured Division",
    "National Defence Forces",
    "Quds Brigade",
    "Eighth Brigade",
    "Deir ez-Zor Military Council",
    "Manbij Military Council",
    "Jaysh al-Thuwar",
)
SOURCES: tuple[dict[str, str], ...] = (
    {"name": "AFP", "url": "https://www.afp.com/en", "kind": "news_agency"},
    {"name": "Reuters", "url": "https://www.reuters.com", "kind": "news_agency"},
    {"name": "Associated Press", "url": "https://apnews.com", "kind": "news_agency"},
    {"name": "Syrian Observatory for Human Rights", "kind": "monitor"},
    {"name": "SANA", "url": "https://sana.sy/en", "kind": "government"},
    {"name": "Al Jazeera", "url": "https://www.aljazeera.com", "kind": "broadcaster"},
    {"name": "Enab Baladi", "url": "https://english.enabbaladi.net", "kind": "newspaper"},
)
MEANS = ("air", "drone", "missile", "artillery", "rocket", "unknown")
METHODS = ("captured", "retaken", "handed_over", "withdrawal", "unknown")
STANCES = ("support", "oppose", "condemn", "concern", "call_for_deescalation", "neutral")


@dataclass(frozen=True)
class Site:
    """A place events happen at: its location as reports give it, and how often it is drawn."""

    location: dict[str, Any]
    weight: float


def seed_gazetteer() -> Gazetteer:
    """The gazetteer a ``--seeds-only`` worker resolves with."""
    return Gazetteer(seed_places(orjson.loads((SEEDS / "places.json").read_bytes())))


def actor_descriptions() -> list[dict[str, Any]]:
    """The seeded registry: ``actor.described`` events, as a deployment publishes them first."""
    lines = (SEEDS / "actors.jsonl").read_text(encoding="utf-8").splitlines()
    return [orjson.loads(line) for line in lines if line.strip()]


def _seed_sites(gazetteer: Gazetteer) -> list[Site]:
    entries = orjson.loads((SEEDS / "places.json").read_bytes())
    by_id = {entry["id"]: entry for entry in entries}
    roots: Counter[str] = Counter()
    for place in seed_places(entries):
        roots[root_of(place, gazetteer).id] += 1
    sites = []
    for entry in entries:
        known = gazetteer.get(entry["id"])
        assert known is not None
        location: dict[str, Any] = {"name": entry["name"], "country": "SY"}
        if entry.get("admin1"):
            location["admin1"] = entry["admin1"]
        if entry.get("kind"):
            location["kind"] = entry["kind"]
        if entry.get("parent"):
            location["parent"] = by_id[entry["parent"]]["name"]
        if entry.get("lat") is not None:
            location["lat"], location["lon"] = entry["lat"], entry["lon"]
        # Places sharing a root share a ledger: together they weigh as much as one village.
        sites.append(Site(location, 1.0 / roots[root_of(known, gazetteer).id]))
    return sites


def _village_sites(rng: random.Random, count: int, gazetteer: Gazetteer) -> list[Site]:
    names = [f"{prefix} {root}" for prefix in PREFIXES for root in ROOTS]
    rng.shuffle(names)
    sites: list[Site] = []
    seen: set[str] = set()
    for name in names:
        if len(sites) == count:
            break
        admin1, lat, lon = rng.choice(AREAS)
        location = {
            "name": name,
            "country": "SY",
            "admin1": admin1,
            "kind": rng.choice(("village", "village", "town")),
            "lat": round(lat + rng.uniform(-0.2, 0.2), 4),
            "lon": round(lon + rng.uniform(-0.2, 0.2), 4),
        }
        place = gazetteer.resolve(Location.model_validate(location))
        # Only names the gazetteer keeps as a new place of their own: one ledger each.
        if place.origin == "reported" and place.id not in seen:
            seen.add(place.id)
            sites.append(Site(location, 1.0))
    if len(sites) < count:
        raise ValueError(f"only {len(sites)} distinct synthetic places, {count} asked")
    return sites


class SyntheticLoad:
    """Generates the events of one benchmark run."""

    def __init__(self, run_id: str, *, seed: int = 20241130, villages: int = 400) -> None:
        self.run_id = run_id
        self.rng = random.Random(seed)
        self.gazetteer = seed_gazetteer()
        self.sites = _seed_sites(self.gazetteer) + _village_sites(
            self.rng, villages, self.gazetteer
        )
        self._site_weights = [s.weight for s in self.sites]
        registry = actor_descriptions()
        canonical = [d["data"]["name"] for d in registry]
        aliases = [a for d in registry for a in (d["data"].get("aliases") or [])[:1]]
        self.actors: list[str] = [*canonical, *aliases[:8], *SYNTHETIC_ACTORS]
        self.armed = [
            d["data"]["name"]
            for d in registry
            if d["data"].get("kind")
            in ("state_forces", "rebel_group", "militia", "external_forces")
        ] + list(SYNTHETIC_ACTORS)
        self.parties = [*self.armed, "civilians"]
        self.types = list(MIX)
        self.type_weights = [MIX[t] for t in self.types]
        self.count = 0
        self.filed: list[str] = []
        """Ids of events a denial may point at."""

    # -- envelope ------------------------------------------------------------------------

    def _id(self, kind: str) -> str:
        self.count += 1
        return f"bench-{self.run_id}-{self.count:07d}-{kind}"

    def _when(self) -> tuple[str, str]:
        day = FIRST_DAY + timedelta(days=self.rng.randrange(DAYS))
        hour = self.rng.randrange(24)
        reported = datetime(day.year, day.month, day.day, hour, tzinfo=UTC) + timedelta(
            hours=self.rng.randrange(1, 48), minutes=self.rng.randrange(60)
        )
        if self.rng.random() < 0.3:
            occurred = f"{day.isoformat()}T{hour:02d}:{self.rng.randrange(60):02d}:00Z"
        else:
            occurred = day.isoformat()
        return occurred, reported.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _envelope(self, event_type: str, **fields: Any) -> dict[str, Any]:
        occurred, reported = self._when()
        event: dict[str, Any] = {
            "id": self._id(event_type.split(".")[0]),
            "type": event_type,
            "occurred_at": occurred,
            "reported_at": reported,
            "source": self.rng.choice(SOURCES),
        }
        if self.rng.random() < 0.4:
            event["claimed_by"] = self.rng.choice(self.actors)
        event.update(fields)
        return event

    def _site(self) -> dict[str, Any]:
        return self.rng.choices(self.sites, self._site_weights)[0].location

    def _two(self, pool: list[str]) -> tuple[str, str]:
        a, b = self.rng.sample(pool, 2)
        return a, b

    def _count(self, high: int) -> int | dict[str, int]:
        low = self.rng.randrange(high)
        if self.rng.random() < 0.3:
            return {"low": low, "high": low + self.rng.randrange(1, 20)}
        return low

    # -- events --------------------------------------------------------------------------

    def event(self) -> dict[str, Any]:
        """One more event, of a type drawn from :data:`MIX`."""
        event_type = self.rng.choices(self.types, self.type_weights)[0]
        if event_type == "claim.denied" and self.filed:
            target = self.rng.choice(self.filed)
            return self._envelope(
                event_type,
                data={"event_id": target, "denied_by": self.rng.choice(self.armed)},
            )
        if event_type == "claim.denied":
            event_type = "clash.reported"
        event = self._make(event_type)
        self.filed.append(event["id"])
        return event

    def _make(self, event_type: str) -> dict[str, Any]:
        rng = self.rng
        if event_type == "control.changed":
            new, old = self._two(self.armed)
            return self._envelope(
                event_type,
                location=self._site(),
                data={
                    "controller": new,
                    "previous_controller": old,
                    "method": rng.choice(METHODS),
                },
            )
        if event_type == "clash.reported":
            a, b = self._two(self.armed)
            data: dict[str, Any] = {"parties": [a, b]}
            if rng.random() < 0.5:
                data["killed"] = self._count(40)
            return self._envelope(event_type, location=self._site(), data=data)
        if event_type == "forces.withdrew":
            return self._envelope(
                event_type, location=self._site(), data={"actor": rng.choice(self.armed)}
            )
        if event_type == "strike.reported":
            data = {"means": rng.choice(MEANS), "target": "positions and supply lines"}
            if rng.random() < 0.8:
                data["perpetrator"] = rng.choice(self.armed)
            if rng.random() < 0.6:
                data["killed"] = self._count(30)
            if rng.random() < 0.3:
                data["wounded"] = self._count(60)
            return self._envelope(event_type, location=self._site(), data=data)
        if event_type == "casualties.reported":
            return self._envelope(
                event_type,
                location=self._site(),
                data={"party": rng.choice(self.parties), "killed": rng.randrange(1, 200)},
            )
        if event_type == "statement.issued":
            actor = rng.choice(self.actors)
            return self._envelope(
                event_type,
                data={
                    "speaker": f"a spokesperson for {actor}",
                    "actor": actor,
                    "text": "Said the situation on the front lines was under control.",
                    "about": [rng.choice(self.armed)],
                    "stance": rng.choice(STANCES),
                },
            )
        raise ValueError(event_type)

    def preload(self, total: int) -> list[dict[str, Any]]:
        """``total`` events: the seeded registry first, then the drawn facts and denials."""
        registry = actor_descriptions()
        events = [{**d, "id": f"bench-{self.run_id}-{d['id']}"} for d in registry[: max(0, total)]]
        events.extend(self.event() for _ in range(total - len(events)))
        return events

    def probes(self, count: int) -> Iterator[tuple[str, dict[str, Any]]]:
        """control.changed events, each at a new place: (the control view key, the event)."""
        for i in range(count):
            admin1, lat, lon = self.rng.choice(AREAS)
            name = f"{self.rng.choice(PREFIXES)} Probe {self.run_id} {i:06d}"
            location = {
                "name": name,
                "country": "SY",
                "admin1": admin1,
                "kind": "village",
                "lat": round(lat + self.rng.uniform(-0.2, 0.2), 4),
                "lon": round(lon + self.rng.uniform(-0.2, 0.2), 4),
            }
            place = self.gazetteer.resolve(Location.model_validate(location))
            new, old = self._two(self.armed)
            event = self._envelope(
                "control.changed",
                location=location,
                data={"controller": new, "previous_controller": old, "method": "captured"},
            )
            yield place.id, event


def ledger_shares(load: SyntheticLoad, events: list[dict[str, Any]]) -> Counter[str]:
    """How many of ``events`` each ledger gets (denials count where their target went)."""
    where: dict[str, str] = {}
    out: Counter[str] = Counter()
    for event in events:
        kind = event["type"]
        if kind == "actor.described":
            key = "registry"
        elif kind == "statement.issued":
            key = statements_key(event["data"]["actor"])
        elif kind == "claim.denied":
            key = where[event["data"]["event_id"]]
        else:
            place = load.gazetteer.resolve(Location.model_validate(event["location"]))
            if kind == "casualties.reported":
                key = casualties_key(event["data"]["party"])
            else:
                key = place_key(root_of(place, load.gazetteer))
        where[event["id"]] = key
        out[key] += 1
    return out
