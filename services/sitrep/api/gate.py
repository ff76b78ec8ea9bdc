"""The API's way onto the event log: a Publisher started on demand, replaced when it fails.

An aiokafka producer is made inside the running event loop and cannot be started again once
stopped, so the gate makes Publishers itself when needed: at first use, and after a failure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sitrep.contract import EventBase, encode_event, parse_event
from sitrep.engine.recent import Recent
from sitrep.publishing import Publisher, PublishFailed

log = logging.getLogger("sitrep.api.gate")

SENT_KEPT = 20_000
"""How many events acknowledged lately are remembered (a few hundred bytes each): the read
model folds an event within seconds, and then knows it for good; past this many, an event
sent again before it did is sent again (the worker drops it by its id)."""


@dataclass(frozen=True, slots=True)
class Sent:
    """An event acknowledged through the gate: who published it, and what it said."""

    publisher: str
    encoded: bytes

    def event(self) -> EventBase:
        return parse_event(self.encoded)


class PublishGate:
    """Hands out a started Publisher, or raises ``PublishFailed`` if the broker is out of
    reach; remembers the ids the broker acknowledged through it."""

    def __init__(self, make: Callable[[], Publisher], publisher: Publisher | None = None) -> None:
        self._make = make
        self._publisher = publisher
        self._started = False
        self._lock = asyncio.Lock()
        self.sent: Recent = Recent(SENT_KEPT)
        """The events the broker acknowledged through this gate lately, by id, with who
        published each (:class:`Sent`): what the read model may not have folded yet."""

    def remember(self, events: list[EventBase], publisher: str) -> None:
        """``events`` were acknowledged, published by ``publisher``."""
        for event in events:
            self.sent.keep(event.id, Sent(publisher, encode_event(event)))

    def sent_lately(self, event_id: str) -> Sent | None:
        found: Sent | None = self.sent.get(event_id)
        return found

    def _current(self) -> Publisher:
        if self._publisher is None:
            self._publisher = self._make()
        return self._publisher

    @staticmethod
    def validate(raw: Mapping[str, Any]) -> EventBase:
        """The event, checked against the contract as of now (as ``Publisher.validate`` does,
        without making a producer); raises ``InvalidEvent``."""
        return parse_event(raw, now=datetime.now(UTC))

    async def open(self) -> Publisher:
        async with self._lock:
            publisher = self._current()
            if not self._started:
                try:
                    await publisher.start()
                except PublishFailed:
                    self._publisher = None  # spent: the next attempt makes a new one
                    raise
                self._started = True
        return publisher

    async def try_open(self) -> None:
        """Start publishing if the broker answers; else leave it to the first request."""
        try:
            await self.open()
        except PublishFailed as exc:
            log.warning("event log not reachable yet: %s", exc)

    async def close(self) -> None:
        async with self._lock:
            if self._started and self._publisher is not None:
                self._started = False
                await self._publisher.stop()
