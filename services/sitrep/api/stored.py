"""The API's picture of the situation, kept in a store: every ledger on disk, the ones asked
about lately in memory.

The read model files each event with the engine (:class:`~sitrep.engine.engine.Engine`), so
routing and filing are the worker's own rules, and keeps nothing of the log in memory but
what :class:`StoredLedgers` caches: a ledger read is decoded from the store and kept, up to
``CACHED_REPORTS`` reports in all, the least recently asked dropped first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping

import orjson

from sitrep.engine.entities import PLACE, is_place_ledger
from sitrep.engine.folding import Folder
from sitrep.engine.keyvalue import SEP, KeyValue, key
from sitrep.engine.routing import Router, place_from
from sitrep.resolution.places import Gazetteer, Place
from sitrep.views.ledger import Ledger

LEDGER = "ledger"
CACHED_REPORTS = 50_000
"""How many reports the ledgers kept in memory hold in all (a few KB each, decoded)."""


class StoredLedgers(Mapping[str, Ledger]):
    """Every ledger by key, read from the store when asked and cached."""

    def __init__(self, kv: KeyValue, folder: Folder, cached_reports: int = CACHED_REPORTS) -> None:
        self.kv = kv
        self.folder = folder
        self.cached_reports = cached_reports
        self._cache: OrderedDict[str, Ledger] = OrderedDict()
        self._cached = 0

    def note(self, ledger: str) -> None:
        """``ledger`` was filed in: listed if new, and read again when next asked."""
        listed = key(LEDGER, ledger)
        if self.kv.get(listed) is None:
            self.kv.put(listed, b"")
        dropped = self._cache.pop(ledger, None)
        if dropped is not None:
            self._cached -= len(dropped)

    def __getitem__(self, ledger: str) -> Ledger:
        found = self._cache.get(ledger)
        if found is not None:
            self._cache.move_to_end(ledger)
            return found
        if self.kv.get(key(LEDGER, ledger)) is None:
            raise KeyError(ledger)
        found = self.folder.ledger(ledger)
        self._cache[ledger] = found
        self._cached += len(found)
        while self._cached > self.cached_reports and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached -= len(old)
        return found

    def __contains__(self, ledger: object) -> bool:
        return isinstance(ledger, str) and self.kv.get(key(LEDGER, ledger)) is not None

    def __iter__(self) -> Iterator[str]:
        return self.keys_of("")

    def keys_of(self, prefix: str) -> Iterator[str]:
        """The keys of the ledgers that start with ``prefix``, in order."""
        start = len(key(LEDGER, ""))
        for found, _ in self.kv.scan(key(LEDGER, prefix)):
            yield found[start:].decode()

    def __len__(self) -> int:
        return sum(1 for _ in self.kv.scan(key(LEDGER, "")))


class StoredSituation:
    """What the API's answers read: the ledgers, where each event went, the gazetteer."""

    def __init__(self, kv: KeyValue, folder: Folder, router: Router, gazetteer: Gazetteer) -> None:
        self.kv = kv
        self.router = router
        self.gazetteer = gazetteer
        self.ledgers = StoredLedgers(kv, folder)

    def places_filed(self) -> Iterator[tuple[str, Place]]:
        """Every place reported, with the key of the ledger it is filed in, from the index
        the engine keeps (no report is read)."""
        for found, value in self.kv.scan(key(PLACE, "")):
            _, ledger, _ = found.split(SEP, 2)
            place = place_from(orjson.loads(value))
            if place is not None and is_place_ledger(ledger.decode()):
                yield ledger.decode(), place
