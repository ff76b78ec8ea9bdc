"""The engine in one process: routing, filing and making views over one store.

The API and the tests drive it whole; the worker drives its two halves on either side of the
filed topic (:class:`~sitrep.engine.routing.Router` in the route agent,
:class:`~sitrep.engine.folding.Folder` in the fold agent), and what the engine does here
through ``feed_back`` the worker does through the registry and control view topics.
"""

from __future__ import annotations

from sitrep.contract import Event
from sitrep.engine.folding import Changes, Folder, registry_from
from sitrep.engine.keyvalue import KeyValue
from sitrep.engine.projection import held_place
from sitrep.engine.routing import Routed, Router
from sitrep.resolution.places import Gazetteer
from sitrep.topics import TopicNames
from sitrep.views.routing import REGISTRY_KEY

ROUNDS = 4
"""How many times the views made are fed back at most (a new registry remakes the views
naming its actors, whose control changes remake the actors' view: three rounds settle)."""


class Engine:
    """Events in, view record changes out, with all state in ``kv``."""

    def __init__(self, kv: KeyValue, gazetteer: Gazetteer, names: TopicNames) -> None:
        self.names = names
        self.router = Router(kv, gazetteer)
        self.folder = Folder(kv, names)
        # Who holds what is what the control records published say (the worker reads it
        # back from their topic): a restarted engine reads it back from its store.
        self.feed_back(
            {k: v for k, v in self.folder.published().items() if k[0] == names.view_control}
        )

    def fold(self, event: Event) -> Routed:
        """Route ``event`` and file its reports (views are made by :meth:`take_changes`)."""
        routed = self.router.route(event)
        for filing in routed.filings:
            self.folder.file(filing.ledger, filing.event, filing.place)
        return routed

    def take_changes(self) -> Changes:
        """Every view record changed since last asked, with the registry and who holds
        which place fed back until they settle."""
        out: Changes = {}
        for _ in range(ROUNDS):
            changes = self.folder.take_changes()
            if not changes:
                break
            out.update(changes)
            self.feed_back(changes)
        return out

    def feed_back(self, changes: Changes) -> None:
        """What the worker learns from the registry and control view topics."""
        for (topic, record_key), value in sorted(changes.items()):
            if topic == self.names.view_control:
                self.folder.hold(record_key, held_place(value) if value is not None else None)
            elif topic == self.names.registry and record_key == REGISTRY_KEY and value:
                self.folder.describe(registry_from(value), value)
