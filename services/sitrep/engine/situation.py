"""The whole picture in memory: every ledger, the actor registry, folded from scratch.

The reference the engine's incremental views are checked against, and what tests and
replays fold events through. Events are routed by the engine's :class:`Router`, so there is
one rule for where an event goes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sitrep.contract.events import ActorDescribedEvent, Event
from sitrep.engine.keyvalue import MemoryKeyValue
from sitrep.engine.ownership import UNSIGNED, Signed
from sitrep.engine.routing import Router
from sitrep.resolution.actors import ActorRegistry
from sitrep.resolution.places import Gazetteer
from sitrep.views.actors import registry_of
from sitrep.views.ledger import Ledger, evolve
from sitrep.views.routing import REGISTRY_KEY


@dataclass
class Situation:
    """Ledgers by key and the registry, with a router's state in memory."""

    gazetteer: Gazetteer
    registry: ActorRegistry = field(default_factory=ActorRegistry)
    ledgers: dict[str, Ledger] = field(default_factory=dict)
    router: Router = field(init=False)

    def __post_init__(self) -> None:
        self.router = Router(MemoryKeyValue(), self.gazetteer)

    def fold(self, event: Event, signed: Signed = UNSIGNED) -> set[str]:
        """Fold one event (written by ``signed``); returns the keys of the ledgers it changed."""
        changed: set[str] = set()
        for filing in self.router.route(event, signed):
            ledger = self.ledgers.get(filing.ledger) or Ledger(filing.ledger)
            self.ledgers[filing.ledger] = evolve(ledger, filing.event, filing.place)
            changed.add(filing.ledger)
        if isinstance(event, ActorDescribedEvent):
            self.registry = registry_of(self.ledgers.get(REGISTRY_KEY))
        return changed

    def ledger_of(self, place_id: str) -> Ledger | None:
        """The ledger a place's reports are filed in."""
        for ledger in self.ledgers.values():
            if place_id in ledger.places():
                return ledger
        return None
