"""The route agent's state: where each event was filed, and the answers waiting for their event.

Kept in memory, and in the faust table ``routes`` as one row per batch and partition of the
event log, keyed ``@<partition>:<offset of the batch's first event there>:<when written>``: a
row per event cost the worker a changelog record per event, an eighth of its time at 1,000
events/s. A row lists what the batch did, in order (``route``, ``wait``, ``release``), so
replaying the rows of a partition in offset order gives the state back, after a start or a
rebalance. A batch replayed after a crash writes a row of its own (the time in the key): it
holds only what the rows before it did not, and must not replace them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from sitrep.worker.heldrows import HeldRows, IncompatibleState, written_by_older_sitrep

ROW_MARK = "@"
"""Starts every row key: no event id does, so rows of the older format (one per event id)
are told apart."""


class RouteBook(HeldRows):
    """Routes and waiting answers of the log partitions this worker holds."""

    def __init__(self, table: Any, clock: Callable[[], int] = time.time_ns) -> None:
        super().__init__()
        self.table = table
        self.clock = clock
        self.routes: dict[str, bytes] = {}
        """Where each event id was filed (:func:`~sitrep.worker.records.encode_routes`)."""
        self.waiting: dict[str, list[str]] = {}
        """Denials and retractions (their JSON) whose event has not been routed yet."""
        self.unwritten: dict[int, tuple[int, list[list[str]]]] = {}
        """What routing did since the last rows were written: per partition, the offset of
        its first event and the steps."""

    def _clear(self) -> None:
        self.routes.clear()
        self.waiting.clear()
        self.unwritten.clear()

    def _index(self) -> None:
        rows: list[tuple[int, int, int, bytes]] = []
        for row_key, payload in self.table.items():
            key = bytes(row_key).decode()
            parts = key[1:].split(":")
            if not (key.startswith(ROW_MARK) and len(parts) == 3 and all(map(str.isdigit, parts))):
                raise written_by_older_sitrep("routes", bytes(row_key))
            partition, offset, written = map(int, parts)
            if partition in self.owned:
                rows.append((partition, offset, written, payload))
        for *_, payload in sorted(rows, key=lambda r: r[:3]):
            for step in orjson.loads(payload):
                self._apply(step)

    def _apply(self, step: list[str]) -> None:
        match step:
            case ["route", event_id, routes]:
                self.routes[event_id] = routes.encode()
            case ["wait", target, raw]:
                self.waiting.setdefault(target, []).append(raw)
            case ["release", target]:
                self.waiting.pop(target, None)
            case _:
                raise IncompatibleState(f"a routes row holds an unknown step: {step!r:.80}")

    def _do(self, partition: int, offset: int, step: list[str]) -> None:
        self._ready()
        self._apply(step)
        unwritten = self.unwritten.get(partition)
        if unwritten is None:
            unwritten = self.unwritten[partition] = (offset, [])
        unwritten[1].append(step)

    def route(self, event_id: str) -> bytes | None:
        """Where ``event_id`` was filed, if it was routed."""
        self._ready()
        return self.routes.get(event_id)

    def held(self, target: str) -> list[str]:
        """The answers waiting for ``target`` (JSON of each)."""
        self._ready()
        return list(self.waiting.get(target, ()))

    def routed(self, partition: int, offset: int, event_id: str, routes: bytes) -> None:
        """``event_id`` (at ``offset`` of log ``partition``, or released there) was filed."""
        self._do(partition, offset, ["route", event_id, routes.decode()])

    def wait(self, partition: int, offset: int, target: str, raw: str) -> None:
        """The answer ``raw`` waits for ``target`` to be routed."""
        self._do(partition, offset, ["wait", target, raw])

    def release(self, partition: int, offset: int, target: str) -> None:
        """The answers waiting for ``target`` were routed with it."""
        self._do(partition, offset, ["release", target])

    def rows(self) -> list[tuple[int, bytes, bytes]]:
        """The rows to write for what was done since last asked: (partition, key, value)."""
        now = self.clock()
        out = [
            (partition, f"{ROW_MARK}{partition}:{offset}:{now}".encode(), orjson.dumps(steps))
            for partition, (offset, steps) in sorted(self.unwritten.items())
        ]
        self.unwritten.clear()
        return out
