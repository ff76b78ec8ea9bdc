"""Which ledger each event is filed in.

- An event about a place is filed under the place's *root*: the top of its chain of parents,
  so a city and its neighbourhoods share one ledger and "partial" can be decided locally.
- A casualty figure is filed under the party it counts, so one worker holds every report of a
  party and can reconcile them; a statement under the actor it speaks for; an actor
  description under the registry.
- A denial or retraction is filed wherever the event it concerns was filed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sitrep.contract.events import (
    ActorDescribedEvent,
    CasualtiesReportedEvent,
    ClaimDeniedEvent,
    Event,
    EventRetractedEvent,
    StatementIssuedEvent,
)
from sitrep.resolution.names import fold
from sitrep.resolution.places import Gazetteer, Place

REGISTRY_KEY = "registry"
MAX_PARENT_DEPTH = 8


@dataclass(frozen=True)
class Destination:
    """A ledger an event goes to, and the place it concerns there."""

    key: str
    place: Place | None = None


def place_key(place: Place) -> str:
    return f"place:{place.id}"


def _slug(name: str) -> str:
    return fold(name).replace(" ", "-")


def statements_key(actor_name: str) -> str:
    return f"statements:{_slug(actor_name)}"


def casualties_key(party: str) -> str:
    return f"casualties:{_slug(party)}"


def root_of(place: Place, gazetteer: Gazetteer) -> Place:
    """The top of ``place``'s chain of parents (itself when it has none)."""
    current = place
    for _ in range(MAX_PARENT_DEPTH):
        if current.parent is None:
            return current
        parent = gazetteer.get(current.parent)
        if parent is None:
            return current
        current = parent
    return current


def destinations(event: Event, gazetteer: Gazetteer) -> list[Destination]:
    """Where an event that stands on its own is filed (not a denial or retraction)."""
    if isinstance(event, ActorDescribedEvent):
        return [Destination(REGISTRY_KEY)]
    if isinstance(event, StatementIssuedEvent):
        return [Destination(statements_key(event.data.actor))]
    if isinstance(event, ClaimDeniedEvent | EventRetractedEvent):
        raise ValueError("a denial or retraction is filed where the event it concerns went")
    # Ledgers keep a place's identity and position; its other names stay in the gazetteer.
    place = (
        None
        if event.location is None
        else replace(gazetteer.resolve(event.location), alternate_names=())
    )
    if isinstance(event, CasualtiesReportedEvent):
        # A toll for a whole offensive or country may name no place (contract version 2).
        return [Destination(casualties_key(event.data.party), place)]
    assert place is not None  # the contract requires a location for every other type
    return [Destination(place_key(root_of(place, gazetteer)), place)]
