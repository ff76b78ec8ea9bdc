"""A lean HTTP/1.1 load generator for the API benchmark, run in a process of its own.

``python -m bench.client --port P --path /healthz --connections 8 --seconds 10 --warm-up 1``

C keep-alive connections each send one GET, wait for the whole answer (the status line, the
headers, ``Content-Length`` bytes of body), note how long it took and send the next, for the
warm-up and then the timed seconds. It is plain :class:`asyncio.Protocol` code (on uvloop
when installed): no HTTP library in the way, so on a small machine the client costs the
server as little CPU as it can. Every answer must carry ``Content-Length`` (Starlette's do;
a chunked or streamed answer is an error here).

Protocol with the parent on stdout: the line ``timing`` when the warm-up is over and the timed
part starts (the parent reads the server's CPU then), and at the end one JSON line:
``{"seconds": S, "cpu_s": the client's CPU in them, "latencies_us": [...], "statuses":
{"200": n, ...}, "failures": [...]}``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections import Counter
from collections.abc import Sequence
from functools import partial
from typing import cast
from urllib.parse import quote

import orjson

HEADER_END = b"\r\n\r\n"
CONTENT_LENGTH = b"\r\ncontent-length:"


class Load:
    """What every connection shares: the request, the clock, where answers are noted."""

    def __init__(self, request: bytes, warm_up_until: float, until: float) -> None:
        self.request = request
        self.warm_up_until = warm_up_until
        self.until = until
        self.latencies_us: list[int] = []
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []


class Connection(asyncio.Protocol):
    """One keep-alive connection asking the same request back to back."""

    def __init__(self, load: Load, done: asyncio.Future[None]) -> None:
        self.load = load
        self.done = done
        self.buffer = b""
        self.sent = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.send()

    def send(self) -> None:
        assert self.transport is not None
        self.sent = time.perf_counter()
        self.transport.write(self.load.request)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        end = buffer.find(HEADER_END)
        if end < 0:
            self.buffer = buffer
            return
        head = buffer[:end].lower()
        at = head.find(CONTENT_LENGTH)
        if at < 0:
            self.fail(f"an answer without Content-Length: {bytes(head[:200])!r}")
            return
        line_end = head.find(b"\r\n", at + 2)
        length = int(head[at + len(CONTENT_LENGTH) : line_end if line_end >= 0 else None])
        total = end + 4 + length
        if len(buffer) < total:
            self.buffer = buffer
            return
        if len(buffer) > total:
            self.fail("more bytes than one answer: the server answered what was not asked")
            return
        self.buffer = b""
        now = time.perf_counter()
        load = self.load
        if self.sent >= load.warm_up_until:
            load.latencies_us.append(int((now - self.sent) * 1_000_000))
            load.statuses[int(buffer[9:12])] += 1
        if now < load.until:
            self.send()
        else:
            self.finish()

    def fail(self, why: str) -> None:
        self.load.failures.append(why)
        self.finish()

    def finish(self) -> None:
        if self.transport is not None:
            self.transport.close()
        if not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            if exc is not None or time.perf_counter() < self.load.until:
                self.load.failures.append(f"connection lost: {exc!r}")
            self.done.set_result(None)


def request_of(host: str, port: int, path: str) -> bytes:
    target = quote(path, safe="/?&=%:+,;@")
    return (
        f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: sitrep-bench\r\n"
        "Accept: */*\r\n\r\n"
    ).encode("ascii")


async def hammer(args: argparse.Namespace) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    load = Load(
        request_of(args.host, args.port, args.path),
        start + args.warm_up,
        start + args.warm_up + args.seconds,
    )
    finished: list[asyncio.Future[None]] = []
    for _ in range(args.connections):
        done: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(partial(Connection, load, done), args.host, args.port)
        finished.append(done)
    await asyncio.sleep(max(0.0, load.warm_up_until - time.perf_counter()))
    print("timing", flush=True)
    cpu = time.process_time()
    await asyncio.gather(*finished)
    seconds = time.perf_counter() - load.warm_up_until
    return {
        "seconds": seconds,
        "cpu_s": time.process_time() - cpu,
        "latencies_us": load.latencies_us,
        "statuses": {str(k): v for k, v in load.statuses.items()},
        "failures": load.failures[:5],
    }


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.client", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True, help="path and query, as sent")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0, help="timed")
    parser.add_argument("--warm-up", type=float, default=1.0, help="asked first, not timed")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    gc.disable()  # the latencies list only grows: no cycles to collect, no pauses to measure
    try:
        import uvloop
    except ImportError:  # the plain asyncio loop works, at a higher cost per request
        result = asyncio.run(hammer(args))
    else:
        result = uvloop.run(hammer(args))
    sys.stdout.buffer.write(orjson.dumps(result) + b"\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
