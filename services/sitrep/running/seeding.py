"""The seed data on the event log: the actor registry, then the baseline, then the article.

Publishing the seeds twice changes nothing: every seed event has a fixed id.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sitrep.contract import parse_event
from sitrep.publishing import Publisher

SEED_ORDER = ("actors.jsonl", "events/001_*.jsonl", "events/000_*.jsonl")
"""Registry first, then who held what before, then the reports: every name and every starting
state is on the log before the events that need them."""


@dataclass(frozen=True)
class Loaded:
    path: Path
    events: int


def seed_files(seeds_dir: Path) -> list[Path]:
    """The seed files in publishing order; any other ``events/*.jsonl`` comes last, by name."""
    ordered: list[Path] = []
    for pattern in SEED_ORDER:
        ordered.extend(sorted(p for p in seeds_dir.glob(pattern) if p not in ordered))
    ordered.extend(sorted(p for p in seeds_dir.glob("events/*.jsonl") if p not in ordered))
    if not ordered:
        raise FileNotFoundError(f"no seed files in {seeds_dir}")
    return ordered


async def load_seeds(bootstrap: str, topic: str, seeds_dir: Path) -> list[Loaded]:
    """Publish every seed event, file by file; returns once the broker acknowledged all."""
    loaded = []
    async with Publisher(bootstrap, topic=topic, client_id="sitrep-seed") as publisher:
        for path in seed_files(seeds_dir):
            events = [parse_event(line) for line in path.read_bytes().splitlines() if line.strip()]
            for event in events:
                await publisher.publish(event)
            loaded.append(Loaded(path, len(events)))
    return loaded
