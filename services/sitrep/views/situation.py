"""The whole picture in memory: every ledger, the actor registry, and where each event went.

Tests, replays and time travel fold events through this; the stream processor keeps the same
pieces in its tables, partition by partition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sitrep.contract.events import (
    ActorDescribedEvent,
    ClaimDeniedEvent,
    Event,
    EventRetractedEvent,
)
from sitrep.resolution.actors import ActorRegistry
from sitrep.resolution.places import Gazetteer
from sitrep.views.actors import registry_of
from sitrep.views.ledger import Ledger, evolve
from sitrep.views.routing import REGISTRY_KEY, Destination, destinations


@dataclass
class Situation:
    """Ledgers by key, the registry, and the routes taken by every event folded."""

    gazetteer: Gazetteer
    registry: ActorRegistry = field(default_factory=ActorRegistry)
    ledgers: dict[str, Ledger] = field(default_factory=dict)
    routes: dict[str, list[Destination]] = field(default_factory=dict)
    waiting: dict[str, list[ClaimDeniedEvent | EventRetractedEvent]] = field(default_factory=dict)
    """Denials and retractions of events not folded yet, by the id they concern."""

    def fold(self, event: Event) -> set[str]:
        """Fold one event; returns the keys of the ledgers it changed."""
        if event.id in self.routes:
            return set()
        if isinstance(event, ClaimDeniedEvent | EventRetractedEvent):
            target = self.routes.get(event.data.event_id)
            if target is None:
                self.waiting.setdefault(event.data.event_id, []).append(event)
                self.routes[event.id] = []
                return set()
            routes = list(target)
        else:
            routes = destinations(event, self.gazetteer)
        self.routes[event.id] = routes
        changed = {self._file(event, route) for route in routes}
        if isinstance(event, ActorDescribedEvent):
            self.registry = registry_of(self.ledgers.get(REGISTRY_KEY))
        for late in self.waiting.pop(event.id, []):
            self.routes[late.id] = list(routes)
            changed |= {self._file(late, route) for route in routes}
        return changed

    def _file(self, event: Event, route: Destination) -> str:
        ledger = self.ledgers.get(route.key) or Ledger(route.key)
        self.ledgers[route.key] = evolve(ledger, event, route.place)
        return route.key

    def ledger_of(self, place_id: str) -> Ledger | None:
        """The ledger a place's reports are filed in."""
        for ledger in self.ledgers.values():
            if place_id in ledger.places():
                return ledger
        return None
