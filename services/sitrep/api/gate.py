"""The API's way onto the event log: a Publisher started on demand, replaced when it fails.

An aiokafka producer is made inside the running event loop and cannot be started again once
stopped, so the gate makes Publishers itself when needed: at first use, and after a failure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sitrep.contract import EventBase, parse_event
from sitrep.publishing import Publisher, PublishFailed

log = logging.getLogger("sitrep.api.gate")


class PublishGate:
    """Hands out a started Publisher, or raises ``PublishFailed`` if the broker is out of
    reach; remembers the ids the broker acknowledged through it."""

    def __init__(self, make: Callable[[], Publisher], publisher: Publisher | None = None) -> None:
        self._make = make
        self._publisher = publisher
        self._started = False
        self._lock = asyncio.Lock()
        self.acknowledged: set[str] = set()
        self.published_by: dict[str, str] = {}
        """Who published each acknowledged event, until the read model has folded it."""

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
