"""Things that are started and stopped, and may be used as ``async with``."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class StartStop:
    """``async with`` for a class with ``start()`` and ``stop()`` coroutines."""

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
