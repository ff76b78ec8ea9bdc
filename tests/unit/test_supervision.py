"""A background reader is started again however it ends: failing, cancelled by a stray
timeout from within, or stuck; and it stops when its owner is cancelled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from sitrep.supervision import Heartbeat, keep_running

log = logging.getLogger("test.supervision")


Reader = Callable[[Heartbeat], Coroutine[Any, Any, None]]


def _supervise(read: Reader) -> asyncio.Task[None]:
    return asyncio.create_task(
        keep_running(read, name="reader", log=log, stuck_after_s=0.4, retry_after_s=0.01)
    )


async def _until(check: Callable[[], bool], within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_a_reader_that_fails_or_is_cancelled_from_within_is_started_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[int] = []
    failures: list[int] = []

    async def read(heartbeat: Heartbeat) -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise ConnectionError("broker gone")
        if len(runs) == 2:  # what aiokafka's leaking timeouts look like from outside
            task = asyncio.current_task()
            assert task is not None
            task.cancel()
            await asyncio.sleep(1)
        while True:
            heartbeat.beat()
            await asyncio.sleep(0.01)

    supervisor = asyncio.create_task(
        keep_running(
            read,
            name="reader",
            log=log,
            stuck_after_s=0.4,
            retry_after_s=0.01,
            on_failure=lambda: failures.append(1),
        )
    )
    with caplog.at_level(logging.WARNING, logger="test.supervision"):
        await _until(lambda: len(runs) == 3)
        await asyncio.sleep(0.5)  # the third keeps beating: it is left alone
    assert len(runs) == 3
    assert len(failures) == 2
    assert "cannot reach the broker" in caplog.text
    assert "cancelled from within" in caplog.text
    supervisor.cancel()
    with pytest.raises(asyncio.CancelledError):
        await supervisor


async def test_a_stuck_reader_is_given_up_and_replaced(caplog: pytest.LogCaptureFixture) -> None:
    beats: list[Heartbeat] = []

    async def read(heartbeat: Heartbeat) -> None:
        beats.append(heartbeat)
        if len(beats) == 1:
            await asyncio.Event().wait()  # stuck: never beats again
        while True:
            heartbeat.beat()
            await asyncio.sleep(0.01)

    with caplog.at_level(logging.WARNING, logger="test.supervision"):
        supervisor = _supervise(read)
        await _until(lambda: len(beats) == 2)
    assert beats[0].given_up
    assert not beats[1].given_up
    assert "made no progress" in caplog.text
    supervisor.cancel()
    with pytest.raises(asyncio.CancelledError):
        await supervisor


async def test_cancelling_the_supervisor_stops_its_reader() -> None:
    stopped = asyncio.Event()

    async def read(heartbeat: Heartbeat) -> None:
        try:
            while True:
                heartbeat.beat()
                await asyncio.sleep(0.01)
        finally:
            stopped.set()

    supervisor = _supervise(read)
    await asyncio.sleep(0.05)
    supervisor.cancel()
    with pytest.raises(asyncio.CancelledError):
        await supervisor
    assert stopped.is_set()
