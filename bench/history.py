"""A realistic synthetic event history for the scale benchmark: years of reports over thousands
of places, streamed, reproducible for a seed.

- Places: every place of the project's gazetteer (GeoNames for :data:`COUNTRIES`, with the
  seeds) that has coordinates and no parent, reported with its name (now and then one of its
  alternate spellings) and coordinates, so each resolves to itself: one ledger each. How busy a
  place is follows a Zipf-Mandelbrot law over a ranking that favours populous places in Syria
  and Iraq; its offset keeps the busiest place to about 1% of the reports.
- Actors: the seeded registry and synthetic ones, :data:`ACTORS` in all, each with aliases,
  published first as ``actor.described`` events; rarely a later description adds an alias (a
  registry change, which makes the worker re-project every ledger). Reports name actors of the
  place's country (and a few foreign forces), by name or by alias.
- Incidents, in order of when they occurred over :data:`YEARS` years, in an ACLED-like mix
  (:data:`MIX`); each is reported by one to five sources, each report 0 to 5 days late
  (most within hours). A few reports are denied by an actor involved, or retracted by their
  source; a few of those answers reach the log before the report they answer.

The log is in order of ``reported_at``: reports wait in a heap until no later incident can be
reported before them, so memory holds a few days of reports, whatever the length asked.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import accumulate
from typing import Any

import orjson

from bench.history_actors import ActorSpec, instant, make_actors
from bench.load import SEEDS
from sitrep.resolution.actors import actor_id
from sitrep.resolution.catalogue import seed_places
from sitrep.resolution.geonames import load_admin1_names, merge_seeds
from sitrep.resolution.names import fold
from sitrep.resolution.places import Place
from sitrep.resolution.world import WorldIndex, ensure_index
from sitrep.settings import Settings

COUNTRIES = ("SY", "IQ", "LB", "TR", "JO", "IL", "PS")
"""The gazetteer's default countries (``SITREP_GAZETTEER_COUNTRIES``): the worker and the API
must load at least these for the places to resolve as generated."""
START = datetime(2021, 1, 1, tzinfo=UTC)
YEARS = 4
MAX_LATE = timedelta(days=5)

MIX: dict[str, float] = {
    "strike.reported": 0.33,
    "clash.reported": 0.27,
    "casualties.reported": 0.12,
    "statement.issued": 0.12,
    "control.changed": 0.10,
    "forces.withdrew": 0.06,
}
"""Shares of incidents by type: explosions and remote violence, then battles, as in ACLED."""
REPORTS_PER_INCIDENT = (1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5)
"""Drawn from uniformly: most incidents have one report, some are picked up by several."""
DENIED = 0.02
RETRACTED = 0.004
EARLY = 0.1
"""Of denials and retractions, the share that reaches the log before the report it answers."""
COUNTRY_BUSYNESS = {"SY": 4.0, "IQ": 3.0, "LB": 1.5, "TR": 0.35, "JO": 0.3, "IL": 1.0, "PS": 2.0}
ZIPF_S = 0.9
ZIPF_OFFSET = 40
CIVILIANS = 0.08
"""The share of casualty reports about civilians (the rest are about an armed actor)."""
REGISTRY_CHANGE_EVERY = 100_000
"""Events per registry change (at least one in any history of some size)."""

SOURCES: tuple[tuple[str, str, float], ...] = (
    ("AFP", "news_agency", 6),
    ("Reuters", "news_agency", 6),
    ("Associated Press", "news_agency", 5),
    ("Anadolu Agency", "news_agency", 3),
    ("Syrian Observatory for Human Rights", "monitor", 8),
    ("Airwars", "monitor", 2),
    ("SANA", "government", 3),
    ("Iraqi News Agency", "government", 2),
    ("WAFA", "news_agency", 2),
    ("National News Agency", "government", 2),
    ("Al Jazeera", "broadcaster", 4),
    ("Rudaw", "broadcaster", 3),
    ("Kurdistan24", "broadcaster", 2),
    ("Shafaq News", "newspaper", 3),
    ("Enab Baladi", "newspaper", 3),
    ("The Times of Israel", "newspaper", 2),
    ("L'Orient Today", "newspaper", 2),
    ("North Press Agency", "news_agency", 3),
    ("OCHA", "ngo", 1),
    ("local activists on Telegram", "social_media", 4),
)
MEANS = ("air", "air", "drone", "drone", "missile", "artillery", "artillery", "rocket", "unknown")
METHODS = ("captured", "captured", "retaken", "handed_over", "withdrawal", "unknown")
STANCES = ("support", "oppose", "condemn", "condemn", "concern", "call_for_deescalation", "neutral")
TARGETS = ("positions", "a checkpoint", "a convoy", "a depot", "a residential area", "a vehicle")


@dataclass(frozen=True)
class Site:
    """A place reports name: its id in the gazetteer, how it is reported, how busy it is."""

    place_id: str
    country: str
    location: dict[str, Any]
    spellings: tuple[str, ...]
    """Other Latin spellings a report may use (the gazetteer's alternate names)."""


@cache
def gazetteer_places(countries: tuple[str, ...] = COUNTRIES) -> tuple[Place, ...]:
    """The towns and cities the worker's gazetteer holds for ``countries``, seeds included
    (read once)."""
    seeds = seed_places(orjson.loads((SEEDS / "places.json").read_bytes()))
    world = WorldIndex(
        ensure_index(Settings().cache_dir), countries, 1000, load_admin1_names(SEEDS)
    )
    places = [p for p in world.places() if p.kind != "region"]
    return tuple(merge_seeds(seeds, places))


def sites_of(places: Sequence[Place], rng: random.Random) -> list[Site]:
    """The places reports can name, busiest first (see the module's description)."""
    usable = [p for p in places if p.lat is not None and p.lon is not None and p.country]
    usable = [p for p in usable if p.parent is None]

    def busyness(place: Place) -> float:
        size = math.log10(max(place.population, 1000))
        return COUNTRY_BUSYNESS.get(place.country or "", 0.2) * size * rng.uniform(0.3, 1.7)

    ranked = sorted(usable, key=lambda p: (-busyness(p), p.id))
    sites = []
    for place in ranked:
        location: dict[str, Any] = {
            "name": place.name,
            "country": place.country,
            "lat": round(place.lat or 0.0, 5),
            "lon": round(place.lon or 0.0, 5),
        }
        if place.kind:
            location["kind"] = place.kind
        if place.admin1:
            location["admin1"] = place.admin1
        spellings = tuple(n for n in place.alternate_names if n.isascii() and fold(n))[:4]
        sites.append(Site(place.id, place.country or "", location, spellings))
    return sites


def zipf_weights(count: int, offset: int = ZIPF_OFFSET, s: float = ZIPF_S) -> list[float]:
    """Zipf-Mandelbrot weights of ranks 0..count-1."""
    return [1.0 / (rank + offset) ** s for rank in range(count)]


def _pool(actors: list[ActorSpec]) -> tuple[list[ActorSpec], list[float]]:
    """Actors with the running sums of their weights: the first busiest, none above ~15%
    (statements and casualties are filed by actor: a busy actor is a big ledger)."""
    return actors, list(accumulate(zipf_weights(len(actors), offset=3, s=1.0)))


@dataclass(order=True)
class _Pending:
    """An event waiting in the heap until it is its turn on the log."""

    reported: datetime
    order: int
    event: dict[str, Any] = field(compare=False)
    place_id: str | None = field(compare=False, default=None)
    early_for: str | None = field(compare=False, default=None)
    """The report this answer reaches the log before, if it does."""


class History:
    """The events of one history: :meth:`events` streams them in log order."""

    def __init__(self, seed: int = 20241130, *, prefix: str = "h", years: int = YEARS) -> None:
        self.rng = random.Random(seed)
        self.prefix = prefix
        self.span = timedelta(days=365 * years)
        self.sites = sites_of(gazetteer_places(), self.rng)
        self.cum_site_weights = list(accumulate(zipf_weights(len(self.sites))))
        towns: dict[str, list[str]] = {}
        for site in self.sites[:600]:  # synthetic groups are named after the busier places
            towns.setdefault(site.country, []).append(site.location["name"])
        self.actors = make_actors(towns, COUNTRY_BUSYNESS, self.rng)
        armed: dict[str, list[ActorSpec]] = {}
        for actor in self.actors:
            if actor.kind in ("state_forces", "rebel_group", "militia"):
                armed.setdefault(actor.country, []).append(actor)
        self.foreign = [a for a in self.actors if a.kind == "external_forces"]
        self.pools = {c: _pool(actors) for c, actors in armed.items()}
        """Each country's armed actors, with the running sums of how busy each is."""
        self.foreign_pool = _pool(self.foreign)
        self.cum_sources = list(accumulate(w for _, _, w in SOURCES))
        self.types, self.type_weights = list(MIX), list(accumulate(MIX.values()))
        self.created = 0
        self.pending: list[_Pending] = []
        self.place_counts: Counter[str] = Counter()
        """How many reports each place got, counted as they are streamed."""
        self.last_reported = START
        """When the last event streamed so far was reported."""

    # -- the stream --------------------------------------------------------------------------

    def events(self, total: int) -> Iterator[dict[str, Any]]:
        """``total`` events in log order: the registry first, then the reports and answers."""
        emitted = 0
        for actor in self.actors[:total]:
            yield self._counted(actor.described(self._id("actor"), START, actor.aliases), None)
            emitted += 1
        changes = sorted(
            self.rng.randrange(total // 10, total - total // 10)
            for _ in range(max(1, total // REGISTRY_CHANGE_EVERY) if total >= 2_000 else 0)
        )
        early: set[str] = set()
        """Reports whose denial or retraction is already on the log: they must follow."""
        step = self.span / max(1.0, (total - emitted) / self._events_per_incident())
        now = START
        while emitted < total:
            now += step * self.rng.uniform(0.5, 1.5)
            self._incident(now)
            while self.pending and self.pending[0].reported <= now and emitted < total:
                item = heapq.heappop(self.pending)
                if item.early_for is not None:
                    if total - emitted < len(early) + 2:
                        continue  # no room left for the report it answers: leave it out
                    early.add(item.early_for)
                early.discard(item.event["id"])
                yield self._counted(item.event, item.place_id)
                emitted += 1
                if changes and emitted >= changes[0] and total - emitted > len(early):
                    changes.pop(0)
                    yield self._counted(self._registry_change(item.reported), None)
                    emitted += 1
                if emitted < total and total - emitted == len(early):
                    for last in self._those(early):
                        yield self._counted(last.event, last.place_id)
                        emitted += 1
                    return

    # -- incidents and their reports ---------------------------------------------------------

    def _events_per_incident(self) -> float:
        reports = sum(REPORTS_PER_INCIDENT) / len(REPORTS_PER_INCIDENT)
        return reports * (1 + DENIED + RETRACTED)

    def _id(self, kind: str) -> str:
        self.created += 1
        return f"{self.prefix}-{self.created:08d}-{kind}"

    def _counted(self, event: dict[str, Any], place_id: str | None) -> dict[str, Any]:
        self.last_reported = datetime.fromisoformat(event["reported_at"])
        if place_id is not None:
            self.place_counts[place_id] += 1
        return event

    def _those(self, wanted: set[str]) -> Iterator[_Pending]:
        """The pending reports with ids in ``wanted``, in log order (the rest are dropped)."""
        for item in sorted(self.pending):
            if item.event["id"] in wanted:
                yield item
        self.pending.clear()

    def _incident(self, when: datetime) -> None:
        rng = self.rng
        event_type = self.types[_pick(rng, self.type_weights)]
        site = self.sites[_pick(rng, self.cum_site_weights)]
        data = self._data(event_type, site.country)
        count = rng.choice(REPORTS_PER_INCIDENT)
        sources = rng.sample(range(len(SOURCES)), count)
        for source in sources:
            late = timedelta(hours=min(rng.expovariate(1 / 10), MAX_LATE.total_seconds() / 3600))
            precise = rng.random() < 0.35
            if not precise:
                # A day's report is late from the start of its day: keep that within bounds.
                day = when.replace(hour=0, minute=0, second=0, microsecond=0)
                late = min(late, MAX_LATE - (when - day))
            event = {
                "id": self._id(event_type.split(".")[0]),
                "type": event_type,
                "occurred_at": instant(when) if precise else when.date().isoformat(),
                "reported_at": instant(when + late),
                "source": self._source(source),
                "data": data,
            }
            if event_type != "statement.issued":
                event["location"] = self._location(site)
            reported = when + late
            self._push(reported, event, site.place_id if "location" in event else None)
            self._answers(event, reported, when, data)

    def _push(self, reported: datetime, event: dict[str, Any], place_id: str | None) -> None:
        heapq.heappush(self.pending, _Pending(reported, self.created, event, place_id))

    def _answers(
        self, event: dict[str, Any], reported: datetime, when: datetime, data: dict[str, Any]
    ) -> None:
        """Perhaps a denial by an actor involved, or a retraction by the source."""
        rng = self.rng
        roll = rng.random()
        if roll >= DENIED + RETRACTED:
            return
        early = rng.random() < EARLY and reported - when > timedelta(hours=1)
        if early:
            # Before the report: it still comes after the incident (reports never precede it).
            at = reported - timedelta(minutes=rng.uniform(1, 59))
        else:
            at = reported + timedelta(hours=rng.uniform(1, 72))
        at = at.replace(microsecond=0)
        if roll < DENIED:
            involved = _involved(data) or [self._actor(event.get("location", {}).get("country"))]
            answer_data: dict[str, Any] = {
                "event_id": event["id"],
                "denied_by": rng.choice(involved),
                "text": "Denied the report.",
            }
            answer = self._answer("claim.denied", at, self._source(rng.randrange(len(SOURCES))))
        else:
            answer_data = {"event_id": event["id"], "reason": "The report could not be verified."}
            answer = self._answer("event.retracted", at, event["source"])
        answer["data"] = answer_data
        early_for = event["id"] if early else None
        heapq.heappush(self.pending, _Pending(at, self.created, answer, None, early_for))

    def _answer(self, kind: str, at: datetime, source: dict[str, str]) -> dict[str, Any]:
        return {
            "id": self._id(kind.split(".")[0]),
            "type": kind,
            "occurred_at": at.date().isoformat(),
            "reported_at": instant(at),
            "source": source,
        }

    def _registry_change(self, after: datetime) -> dict[str, Any]:
        """A later description of an actor that adds an alias (as when a group renames)."""
        actor = self.rng.choice(self.actors)
        alias = f"{actor.name} (renamed {after.year})"
        actor.aliases.append(alias)
        return actor.described(self._id("actor"), after, [alias])

    def _source(self, index: int | None = None) -> dict[str, str]:
        if index is None:
            index = _pick(self.rng, self.cum_sources)
        name, kind, _ = SOURCES[index]
        return {"name": name, "kind": kind}

    def _location(self, site: Site) -> dict[str, Any]:
        if site.spellings and self.rng.random() < 0.15:
            return {**site.location, "name": self.rng.choice(site.spellings)}
        return site.location

    def _actor(self, country: str | None) -> str:
        """An armed actor of ``country`` (rarely a foreign one), by its name or an alias."""
        actors, weights = self.pools.get(country or "") or self.foreign_pool
        if self.rng.random() < 0.1:
            actors, weights = self.foreign_pool
        actor = actors[_pick(self.rng, weights)]
        if actor.aliases and self.rng.random() < 0.3:
            return self.rng.choice(actor.aliases)
        return actor.name

    def _two(self, country: str) -> tuple[str, str]:
        first = self._actor(country)
        for _ in range(10):
            second = self._actor(country)
            if actor_id(second) != actor_id(first) and fold(second) != fold(first):
                return first, second
        return first, self.foreign[0].name if self.foreign[0].name != first else "unknown forces"

    def _data(self, event_type: str, country: str) -> dict[str, Any]:
        rng = self.rng
        if event_type == "strike.reported":
            data: dict[str, Any] = {"means": rng.choice(MEANS), "target": rng.choice(TARGETS)}
            if rng.random() < 0.7:
                data["perpetrator"] = self._actor(country)
            if rng.random() < 0.6:
                data["killed"] = int(rng.paretovariate(1.5)) - 1
            return data
        if event_type == "clash.reported":
            data = {"parties": list(self._two(country))}
            if rng.random() < 0.5:
                data["killed"] = int(rng.paretovariate(1.3)) - 1
            return data
        if event_type == "casualties.reported":
            # "civilians" is one ledger for every country and year: kept to ~1% of the log.
            party = "civilians" if rng.random() < CIVILIANS else self._actor(country)
            return {"party": party, "killed": int(rng.paretovariate(1.2))}
        if event_type == "control.changed":
            new, old = self._two(country)
            return {"controller": new, "previous_controller": old, "method": rng.choice(METHODS)}
        if event_type == "forces.withdrew":
            return {"actor": self._actor(country)}
        actor = self._actor(country)
        return {
            "speaker": f"a spokesperson for {actor}",
            "actor": actor,
            "text": "Said its forces had responded to attacks on their positions.",
            "about": [self._actor(country)],
            "stance": rng.choice(STANCES),
        }


def _pick(rng: random.Random, cumulative: Sequence[float]) -> int:
    """An index drawn with the weights whose running sums are ``cumulative``."""
    return min(bisect(cumulative, rng.random() * cumulative[-1]), len(cumulative) - 1)


def _about(event: dict[str, Any]) -> str | None:
    """The id a denial or retraction answers; None for any other event."""
    if event["type"] in ("claim.denied", "event.retracted"):
        answered: str = event["data"]["event_id"]
        return answered
    return None


def _involved(data: dict[str, Any]) -> list[str]:
    names = [data.get(k) for k in ("perpetrator", "controller", "actor", "party")]
    return [
        n for n in (*names, *data.get("parties", ())) if isinstance(n, str) and n != "civilians"
    ]
