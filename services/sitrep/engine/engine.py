"""The engine in one process: routing, filing and making views over one store.

The API and the tests drive it whole; the worker drives its two halves on either side of the
filed topic (:class:`~sitrep.engine.routing.Router` in the route agent,
:class:`~sitrep.engine.folding.Folder` in the fold agent), and learns the registry made here
by :meth:`Engine.take_changes` from the registry topic.
"""

from __future__ import annotations

from sitrep.contract import Event
from sitrep.engine.controls import KEPT as PLACES_KEPT
from sitrep.engine.folding import Changes, Folder, registry_from
from sitrep.engine.keyvalue import KeyValue
from sitrep.engine.ownership import UNSIGNED, Signed
from sitrep.engine.routing import Filing, Router
from sitrep.resolution.places import Gazetteer
from sitrep.topics import TopicNames
from sitrep.views.routing import REGISTRY_KEY

ROUNDS = 4
"""How many times views are made at most in one :meth:`Engine.take_changes` (a new registry
remakes the views naming its actors, whose control changes remake the actors' view: three
rounds settle)."""


class Engine:
    """Events in, view record changes out, with all state in ``kv``."""

    def __init__(
        self,
        kv: KeyValue,
        gazetteer: Gazetteer,
        names: TopicNames,
        places_kept: int = PLACES_KEPT,
    ) -> None:
        """``places_kept``: places whose settled control history is kept in memory."""
        self.names = names
        self.router = Router(kv, gazetteer)
        self.folder = Folder(kv, names, places_kept=places_kept)

    def fold(self, event: Event, signed: Signed = UNSIGNED) -> tuple[Filing, ...]:
        """Route ``event`` (written by ``signed``) and file its reports (views are made by
        :meth:`take_changes`)."""
        filings = self.router.route(event, signed)
        for filing in filings:
            self.folder.file(filing.ledger, filing.event, filing.place)
        return filings

    def take_changes(self, now: float | None = None) -> Changes:
        """Every view record changed since last asked, the registry they make taken in until
        it settles; ``now`` paces the costly (see :meth:`Folder.take_changes`)."""
        out: Changes = {}
        for _ in range(ROUNDS):
            changes = self.folder.take_changes(now)
            if not changes:
                break
            out.update(changes)
            record = changes.get((self.names.registry, REGISTRY_KEY))
            if record:
                self.folder.describe(registry_from(record), record)
        return out
