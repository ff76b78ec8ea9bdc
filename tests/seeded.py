"""The seed article folded into an in-memory situation, for tests of the views."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from sitrep.contract import Event, parse_event
from sitrep.engine.situation import Situation
from sitrep.resolution.catalogue import seed_places
from sitrep.resolution.places import Gazetteer

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
SEED_FILES = (
    SEEDS / "actors.jsonl",
    SEEDS / "events" / "001_baseline_2024-11-27.jsonl",
    SEEDS / "events" / "000_aleppo_offensive.jsonl",
)


def seed_events() -> Iterator[Event]:
    for path in SEED_FILES:
        for line in path.read_bytes().splitlines():
            if line.strip():
                yield parse_event(line)


def seed_gazetteer() -> Gazetteer:
    return Gazetteer(seed_places(orjson.loads((SEEDS / "places.json").read_bytes())))


def seeded(events: list[Event] | None = None, gazetteer: Gazetteer | None = None) -> Situation:
    """``events`` (the seeds by default) folded over ``gazetteer`` (the seed places by default)."""
    situation = Situation(seed_gazetteer() if gazetteer is None else gazetteer)
    for event in events if events is not None else seed_events():
        situation.fold(event)
    return situation
