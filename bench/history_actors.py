"""The actors of :mod:`bench.history`: the seeded registry, foreign forces, and synthetic armed
groups of each country, each with the aliases reports call it by."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from bench.load import SEEDS
from sitrep.resolution.names import fold

ACTORS = 150

# Synthetic actors are made from these: "<Town> Military Council", "Liwa <Root>", ...
ROOTS = (
    "al-Fatah", "al-Nasr", "al-Haqq", "al-Tahrir", "al-Sham", "al-Furqan", "al-Ansar",
    "al-Mujahideen", "al-Karama", "al-Thuwar", "al-Izza", "al-Sunna", "al-Umma", "al-Jabal",
    "al-Badiya", "al-Furat", "al-Rafidain", "al-Quds", "al-Hussein", "al-Abbas", "al-Zahraa",
    "al-Mahdi", "al-Khorasani", "al-Salam",
)  # fmt: skip
PATTERNS: tuple[tuple[str, str], ...] = (
    ("Liwa {root}", "rebel_group"),
    ("Jaysh {root}", "rebel_group"),
    ("Kataib {root}", "militia"),
    ("Saraya {root}", "militia"),
    ("{town} Military Council", "militia"),
    ("{town} Tribal Forces", "militia"),
    ("{ordinal} Division", "state_forces"),
    ("{ordinal} Brigade", "state_forces"),
)
FOREIGN: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("US-led coalition", "US", ("CJTF-OIR", "the coalition", "international coalition")),
    ("Russian Aerospace Forces", "RU", ("VKS", "Russian air force", "Russian warplanes")),
    ("Islamic Revolutionary Guard Corps", "IR", ("IRGC", "Revolutionary Guards")),
    ("Turkish Armed Forces", "TR", ("TSK", "Turkish army", "Turkish forces")),
    ("Israel Defense Forces", "IL", ("IDF", "Israeli army", "Israeli forces")),
)
COUNTRY_NAMES = {"SY": "Syrian", "IQ": "Iraqi", "LB": "Lebanese", "TR": "Turkish",
                 "JO": "Jordanian", "IL": "Israeli", "PS": "Palestinian"}  # fmt: skip


@dataclass
class ActorSpec:
    """One actor of the history: its registry entry, and the names reports call it by."""

    name: str
    aliases: list[str]
    kind: str
    country: str

    def described(self, event_id: str, when: datetime, aliases: Sequence[str]) -> dict[str, Any]:
        return {
            "id": event_id,
            "type": "actor.described",
            "occurred_at": when.date().isoformat(),
            "reported_at": instant(when),
            "source": {"name": "Sitrep bench registry", "kind": "other"},
            "data": {
                "name": self.name,
                "aliases": list(aliases),
                "kind": self.kind,
                "country": self.country,
            },
        }


def instant(moment: datetime) -> str:
    """A moment as the contract spells an instant."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seeded_actors() -> list[ActorSpec]:
    """The project's seeded registry (``seeds/actors.jsonl``)."""
    lines = (SEEDS / "actors.jsonl").read_text(encoding="utf-8").splitlines()
    actors = []
    for line in filter(str.strip, lines):
        data = orjson.loads(line)["data"]
        actors.append(
            ActorSpec(
                data["name"],
                list(data.get("aliases") or []),
                data.get("kind") or "other",
                data.get("country") or "SY",
            )
        )
    return actors


def make_actors(
    towns: Mapping[str, Sequence[str]],
    busyness: Mapping[str, float],
    rng: random.Random,
    total: int = ACTORS,
) -> list[ActorSpec]:
    """The seeded registry, foreign forces, and synthetic groups up to ``total`` (named after
    ``towns`` of their country, countries drawn by ``busyness``); no name or alias is another
    actor's."""
    actors = seeded_actors()
    actors += [ActorSpec(name, list(aliases), "external_forces", c) for name, c, aliases in FOREIGN]
    taken = {fold(n) for a in actors for n in (a.name, *a.aliases)}
    countries = [c for c in busyness if towns.get(c)]
    shares = [busyness[c] for c in countries]
    attempts = 0
    while len(actors) < total:
        attempts += 1
        if attempts > 100 * total:
            raise ValueError(f"only {len(actors)} distinct actors could be made")
        country = rng.choices(countries, shares)[0]
        pattern, kind = rng.choice(PATTERNS)
        name = pattern.format(
            root=rng.choice(ROOTS),
            town=rng.choice(towns[country]),
            ordinal=_ordinal(rng.randrange(1, 40)),
        )
        if kind == "state_forces":
            name = f"{COUNTRY_NAMES[country]} Army {name}"
        aliases = _aliases_of(name, country)
        names = [name, *aliases]
        if any(fold(n) in taken for n in names) or len({fold(n) for n in names}) < len(names):
            continue
        taken.update(fold(n) for n in names)
        actors.append(ActorSpec(name, aliases, kind, country))
    return actors


def _ordinal(n: int) -> str:
    suffix = "th" if 10 < n % 100 < 14 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _aliases_of(name: str, country: str) -> list[str]:
    """What reports call an actor besides its name: its initials (with the country, as two
    countries' groups share initials), an "el-" spelling of "al-", the name with the country."""
    words = [w for w in name.replace("-", " ").split() if w[0].isupper()]
    aliases = ["".join(w[0] for w in words) + f"-{country}"]
    if "al-" in name:
        aliases.append(name.replace("al-", "el-"))
    aliases.append(f"{name} ({country})")
    return aliases
