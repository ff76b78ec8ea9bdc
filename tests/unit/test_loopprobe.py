"""The event-loop probe: a blocked loop is noted, and the file is always whole JSON."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import orjson
import pytest

from sitrep import loopprobe


async def test_a_loop_blocked_longer_than_100_ms_is_counted_and_written(tmp_path: Path) -> None:
    path = tmp_path / "probe.json"
    task = asyncio.create_task(loopprobe.probe(path))
    await asyncio.sleep(0)  # the probe is now asleep, due back in TICK_S
    time.sleep(0.15)  # noqa: ASYNC251 — the block the probe must see
    await asyncio.sleep(loopprobe.TICK_S * 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    seen = orjson.loads(path.read_bytes())
    # The wake-up came at least 150 ms - TICK_S after it was due, whatever the machine.
    assert seen["max_block_ms"] >= 150 - loopprobe.TICK_S * 1000
    assert seen["blocks_over_100ms"] == 1
    assert seen["ticks"] >= 1
    assert os.listdir(tmp_path) == ["probe.json"], "the temporary file was renamed, none is left"


def _blocking_for(seconds: float) -> None:
    time.sleep(seconds)


async def test_the_stack_of_the_longest_block_is_written(tmp_path: Path) -> None:
    path = tmp_path / "probe.json"
    task = asyncio.create_task(loopprobe.probe(path))
    await asyncio.sleep(0)
    _blocking_for(loopprobe.STACK_AFTER_S * 2.5)
    await asyncio.sleep(loopprobe.TICK_S * 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    seen = orjson.loads(path.read_bytes())
    assert "_blocking_for" in seen["longest_stack"]
    assert seen["longest_gc_ms"] >= 0


def test_blocks_keep_the_longest_and_count_only_those_over_the_limit() -> None:
    blocks = loopprobe.Blocks()
    for late_s in (0.001, 0.25, 0.05, 0.101, -0.002):
        blocks.note(late_s)
    assert blocks.max_block_ms == pytest.approx(250.0)
    assert blocks.blocks_over_100ms == 2
    assert blocks.ticks == 5


async def test_without_the_variable_nothing_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(loopprobe.ENV, raising=False)
    assert loopprobe.start() is None
    await asyncio.wait_for(loopprobe.watch(), timeout=5)  # returns at once, does not probe


async def test_with_the_variable_start_probes_into_that_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "probe.json"
    monkeypatch.setenv(loopprobe.ENV, str(path))
    task = loopprobe.start()
    assert task is not None
    ticks = 0
    for _ in range(100):  # a busy machine may delay the first write
        await asyncio.sleep(loopprobe.TICK_S * 2)
        if path.exists():
            ticks = orjson.loads(path.read_bytes())["ticks"]
            if ticks:
                break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ticks >= 1
