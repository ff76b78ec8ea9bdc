"""The project's own gazetteer additions (``seeds/places.json``), as places."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sitrep.resolution.places import Place
from sitrep.resolution.scripts import local_names


def seed_places(entries: Iterable[Mapping[str, Any]]) -> list[Place]:
    """Places from decoded ``places.json`` entries."""
    return [
        Place(
            id=entry["id"],
            name=entry["name"],
            origin="seed",
            kind=entry.get("kind"),
            country=entry.get("country"),
            admin1=entry.get("admin1"),
            parent=entry.get("parent"),
            lat=entry.get("lat"),
            lon=entry.get("lon"),
            population=int(entry.get("population") or 0),
            alternate_names=tuple(entry.get("alternate_names") or ()),
            local_names=local_names(
                entry["name"], entry.get("alternate_names") or (), entry.get("country")
            ),
        )
        for entry in entries
    ]
