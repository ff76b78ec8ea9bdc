"""The worker's engine: the router and the folder over two stores on disk, each with the log
positions it reflects.

- ``routes`` (the route agent's): where each event went and the answers waiting for their
  event (:mod:`sitrep.engine.routing`), and the next offset to read of each event log
  partition;
- ``ledgers`` (the fold agent's): the reports, the entity index, what was published
  (:mod:`sitrep.engine.folding`), who holds which place, and the next offset to read of each
  partition of the filed topic and of the control views.

A store's writes are grouped in generations: an agent seals one when it has sent what those
writes gave (filed records, view records, dead letters), and it is committed, in order after
the ones before, once the broker has acknowledged all of that. After a crash a store holds
the state of its last commit and the positions that state reflects, and the worker reads on
from there: nothing acknowledged is lost, and nothing is counted twice (an event or report
read again is dropped by its id).

The stores live in ``<worker dir>/engine/slot-<n>`` (:mod:`sitrep.stores.slots`), so workers
sharing a state directory keep apart, and a restarted one takes a slot back with the positions
it reflects.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path

from sitrep.engine.folding import Folder
from sitrep.engine.keyvalue import key
from sitrep.engine.routing import Router
from sitrep.faults import stopping_on_fault
from sitrep.resolution.places import Gazetteer
from sitrep.stores.rocks import RocksKeyValue
from sitrep.stores.slots import claim
from sitrep.topics import TopicNames

FORMAT = b"sitrep-engine-3"
"""What a store holds, written at its creation; a store of another format is not read
(3: who wrote each event, for the ownership of retractions)."""
FORMAT_KEY = key("format")
OFFSET = "offset"
EXIT_INCOMPATIBLE = 78
"""The worker's exit status when its store holds state it cannot read, or state the log does
not match (EX_CONFIG)."""


class IncompatibleState(RuntimeError):
    """A store holds state in a format this version does not read."""


def next_offset_key(topic: str, partition: int) -> bytes:
    return key(OFFSET, topic, str(partition))


class Commits:
    """Commits a store's generations in order, each once what it gave was acknowledged."""

    def __init__(self, store: RocksKeyValue, lock: asyncio.Lock | None = None) -> None:
        self.store = store
        self.lock = lock
        """Held while another thread uses the store: a commit waits for it."""
        self._last: asyncio.Task[None] | None = None

    def after(self, sent: Awaitable[object]) -> None:
        """Seal the writes made so far; commit them once ``sent`` is done (it raises, or
        exits the process, if what it waits for was refused) and every earlier generation
        is committed."""
        generation = self.store.seal()
        previous = self._last

        async def commit() -> None:
            await sent
            if previous is not None:
                await previous
            with stopping_on_fault(f"committing {self.store.path}"):
                if self.lock is None:
                    self.store.commit(through=generation)
                    return
                async with self.lock:
                    self.store.commit(through=generation)

        self._last = asyncio.create_task(commit())

    async def settled(self) -> None:
        """Wait for every generation sealed so far to be committed."""
        if self._last is not None:
            await self._last


@dataclass
class _Opened:
    slot: Path
    lock: int
    routes: RocksKeyValue
    ledgers: RocksKeyValue
    router: Router
    folder: Folder
    route_log: Commits
    fold_log: Commits


class WorkerEngine:
    """The engine's two halves over the stores of one slot, opened at first use."""

    def __init__(
        self, root: Path, gazetteer: Gazetteer, names: TopicNames, *, cache_mb: int = 64
    ) -> None:
        """``cache_mb``: RocksDB's block cache for both stores, a quarter to the routes (a
        lookup of an id its bloom filter mostly answers), the rest to the ledgers (the reports
        every make reads)."""
        self.root = root
        self.gazetteer = gazetteer
        self.names = names
        self.cache_mb = cache_mb
        self._opened: _Opened | None = None
        self._opening = threading.Lock()  # faust's consumer thread asks for positions too
        self.folding = asyncio.Lock()
        """Held by whatever uses the folder or its store (``ledgers``): the worker makes
        views in a thread, so that a big make never blocks its event loop, and nothing else
        may touch them meanwhile."""

    def open(self) -> None:
        """Open the stores now (raises :class:`IncompatibleState` for a store not read)."""
        self._open()

    def _open(self) -> _Opened:
        opened = self._opened
        if opened is not None:
            return opened
        with self._opening:
            if self._opened is None:
                slot, lock = claim(self.root)
                routes: RocksKeyValue | None = None
                try:
                    routes = _store(slot / "routes", max(1, self.cache_mb // 4))
                    ledgers = _store(slot / "ledgers", max(1, self.cache_mb - self.cache_mb // 4))
                except BaseException:
                    if routes is not None:
                        routes.close()
                    os.close(lock)
                    raise
                self._opened = _Opened(
                    slot,
                    lock,
                    routes,
                    ledgers,
                    Router(routes, self.gazetteer),
                    Folder(ledgers, self.names),
                    Commits(routes),
                    Commits(ledgers, self.folding),
                )
            return self._opened

    @property
    def slot(self) -> Path:
        return self._open().slot

    @property
    def router(self) -> Router:
        return self._open().router

    @property
    def folder(self) -> Folder:
        return self._open().folder

    @property
    def routes(self) -> RocksKeyValue:
        return self._open().routes

    @property
    def ledgers(self) -> RocksKeyValue:
        return self._open().ledgers

    @property
    def route_log(self) -> Commits:
        """Commits the route agent's store."""
        return self._open().route_log

    @property
    def fold_log(self) -> Commits:
        """Commits the fold agent's store."""
        return self._open().fold_log

    def _store_of(self, topic: str) -> RocksKeyValue | None:
        if topic == self.names.events:
            return self.routes
        if topic in (self.names.filed, self.names.view_control):
            return self.ledgers  # the control views: who holds which place
        return None

    def took(self, topic: str, partition: int, offset: int) -> None:
        """The record at ``offset`` of ``topic``/``partition`` is handled (staged with what
        handling it wrote)."""
        store = self._store_of(topic)
        assert store is not None, f"no store reflects {topic}"
        store.put(next_offset_key(topic, partition), str(offset + 1).encode())

    def position(self, topic: str, partition: int) -> int | None:
        """Where to read ``topic``/``partition`` from for the state committed: 0 when the
        store holds nothing of it; None for a topic no store reflects."""
        store = self._store_of(topic)
        if store is None:
            return None
        found = store.committed(next_offset_key(topic, partition))
        return 0 if found is None else int(found)

    def close(self) -> None:
        if self._opened is not None:
            self._opened.routes.close()
            self._opened.ledgers.close()
            os.close(self._opened.lock)
            self._opened = None


def _store(path: Path, cache_mb: int) -> RocksKeyValue:
    store = RocksKeyValue(path, cache_mb=cache_mb)
    found = store.get(FORMAT_KEY)
    if found is None:
        if next(store.scan(b""), None) is not None:
            found = b"(none)"
        else:
            store.put(FORMAT_KEY, FORMAT)
            store.commit()
            return store
    if found != FORMAT:
        store.close()
        raise IncompatibleState(
            f"the store {path} holds state of format {found.decode(errors='replace')!r}, "
            f"not {FORMAT.decode()!r}: start the worker with a new SITREP_WORKER_ID (or "
            "delete the store), which rebuilds the views from the log"
        )
    return store
