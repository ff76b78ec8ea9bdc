"""How long the event loop goes without running its tasks: a probe for the benchmarks.

With ``SITREP_LOOP_PROBE=<path>`` set, a task sleeps :data:`TICK_S` again and again and notes
how late each wake-up is: a late wake-up is the loop blocked by whatever ran meanwhile (a
fold, a garbage collection, a synchronous call). Every :data:`WRITE_EVERY_S` it replaces
``<path>`` with ``{"max_block_ms", "blocks_over_100ms", "ticks", "pid", "written_at",
"longest_stack"}`` as JSON, so a reader never sees half a file. ``longest_stack`` is where the
loop's thread was when the longest block had lasted ``STACK_AFTER_S`` (a thread looks every
``STACK_AFTER_S / 2``): what blocked it, for the one reading the figure. Without the variable
nothing runs.

It is read from the outside (``bench.scale``), so it lives in the process it measures and
reports through a file rather than an endpoint: the worker has no HTTP server.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import orjson

ENV = "SITREP_LOOP_PROBE"
TICK_S = 0.010
WRITE_EVERY_S = 1.0
BLOCK_MS = 100.0
"""A wake-up this late counts as a block (the benchmarks' goal for the longest one)."""
STACK_AFTER_S = 0.2


@dataclass
class Blocks:
    """What the probe has seen so far."""

    max_block_ms: float = 0.0
    blocks_over_100ms: int = 0
    ticks: int = 0
    longest_stack: str | None = None
    """Where the loop's thread was in the longest block seen by the watching thread."""
    watched_ms: float = 0.0
    longest_gc_ms: float = 0.0
    """The longest garbage collection (any thread): a collection stalls the loop wherever
    it was, so the stack alone would blame what happened to allocate."""

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
        "longest_stack": blocks.longest_stack,
        "longest_gc_ms": round(blocks.longest_gc_ms, 3),
    }
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_bytes(orjson.dumps(record))
    os.replace(partial, path)


async def probe(path: Path) -> None:
    """Probe the running loop until cancelled, writing what it saw to ``path``."""
    blocks = Blocks()
    clock = time.monotonic
    last_write = clock()
    ticked = [clock()]
    stop = threading.Event()
    loop_thread = threading.get_ident()

    def look() -> None:
        """Note the loop's stack while it has not ticked for ``STACK_AFTER_S``, for the
        longest such stretch."""
        while not stop.wait(STACK_AFTER_S / 2):
            stalled_ms = (clock() - ticked[0]) * 1000
            if stalled_ms >= STACK_AFTER_S * 1000 and stalled_ms > blocks.watched_ms:
                frame = sys._current_frames().get(loop_thread)
                if frame is not None:
                    blocks.watched_ms = stalled_ms
                    blocks.longest_stack = "".join(traceback.format_stack(frame)[-24:])

    threading.Thread(target=look, name="sitrep-loop-watch", daemon=True).start()
    collecting = [0.0]

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collecting[0] = time.perf_counter()
        else:
            took_ms = (time.perf_counter() - collecting[0]) * 1000
            blocks.longest_gc_ms = max(blocks.longest_gc_ms, took_ms)

    gc.callbacks.append(timed)
    try:
        while True:
            due = clock() + TICK_S
            await asyncio.sleep(TICK_S)
            now = clock()
            ticked[0] = now
            blocks.note(now - due)
            if now - last_write >= WRITE_EVERY_S:
                write(path, blocks)
                last_write = now
    finally:
        gc.callbacks.remove(timed)
        stop.set()
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
