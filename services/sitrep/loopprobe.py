"""How long the event loop goes without running its tasks: a probe for the benchmarks.

With ``SITREP_LOOP_PROBE=<path>`` set, a task sleeps :data:`TICK_S` again and again and notes
how late each wake-up is: a late wake-up is the loop blocked by whatever ran meanwhile (a
fold, a garbage collection, a synchronous call). Every :data:`WRITE_EVERY_S` it replaces
``<path>`` with ``{"max_block_ms", "blocks_over_100ms", "ticks", "pid", "written_at"}`` as
JSON, so a reader never sees half a file. Without the variable nothing runs.

It is read from the outside (``bench.scale``), so it lives in the process it measures and
reports through a file rather than an endpoint: the worker has no HTTP server.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

ENV = "SITREP_LOOP_PROBE"
TICK_S = 0.010
WRITE_EVERY_S = 1.0
BLOCK_MS = 100.0
"""A wake-up this late counts as a block (the benchmarks' goal for the longest one)."""


@dataclass
class Blocks:
    """What the probe has seen so far."""

    max_block_ms: float = 0.0
    blocks_over_100ms: int = 0
    ticks: int = 0

    def note(self, late_s: float) -> None:
        late_ms = max(0.0, late_s * 1000)
        self.ticks += 1
        self.max_block_ms = max(self.max_block_ms, late_ms)
        if late_ms > BLOCK_MS:
            self.blocks_over_100ms += 1


def write(path: Path, blocks: Blocks) -> None:
    """Replace ``path`` with what ``blocks`` holds (atomically: a temporary file, renamed)."""
    record = {
        "max_block_ms": round(blocks.max_block_ms, 3),
        "blocks_over_100ms": blocks.blocks_over_100ms,
        "ticks": blocks.ticks,
        "pid": os.getpid(),
        "written_at": time.time(),
    }
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_bytes(orjson.dumps(record))
    os.replace(partial, path)


async def probe(path: Path) -> None:
    """Probe the running loop until cancelled, writing what it saw to ``path``."""
    blocks = Blocks()
    clock = time.monotonic
    last_write = clock()
    try:
        while True:
            due = clock() + TICK_S
            await asyncio.sleep(TICK_S)
            now = clock()
            blocks.note(now - due)
            if now - last_write >= WRITE_EVERY_S:
                write(path, blocks)
                last_write = now
    finally:
        write(path, blocks)  # what was seen since the last write is not lost on stopping


async def watch() -> None:
    """:func:`probe` to ``SITREP_LOOP_PROBE`` if it is set, else return at once.

    It takes no argument so that it can be a faust ``app.task`` (faust passes the app to a
    task that takes one)."""
    where = os.environ.get(ENV)
    if where:
        await probe(Path(where))


def start() -> asyncio.Task[None] | None:
    """Start :func:`watch` on the running loop if ``SITREP_LOOP_PROBE`` is set; the task, to
    keep (the loop holds only a weak reference to it)."""
    if not os.environ.get(ENV):
        return None
    return asyncio.get_running_loop().create_task(watch(), name="sitrep-loop-probe")
