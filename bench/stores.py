"""Which embedded store the engine should keep its state in: ``python -m bench.stores [--events N]``.

The engine's port (:class:`~sitrep.engine.keyvalue.KeyValue`) over RocksDB (the adapter the
services use), SQLite and LMDB (the two adapters below, kept here because they exist to be
measured), and over a dict as the floor. Every store takes the synthetic load of
:mod:`bench.load` the way the worker does (a view flush, ``take_changes()`` then ``commit()``,
every 500 events), each in a process of its own so that peaks of memory are its own, then is
reopened in another process with the files evicted from the page cache to time reads cold
(random reports by key, an entity's members by prefix) and again warm.

Durability is alike for the three: a commit survives the process dying, not necessarily the
machine (RocksDB without sync, SQLite WAL with ``synchronous=NORMAL``, LMDB without the meta
page sync). Speed is measured here, never asserted by tests.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import lmdb

from bench.load import REPO, SyntheticLoad
from sitrep.contract import parse_event
from sitrep.engine import keyvalue
from sitrep.engine.engine import Engine
from sitrep.engine.entities import ENTITY, MEMBER
from sitrep.engine.folding import REPORT
from sitrep.engine.keyvalue import KeyValue, MemoryKeyValue, after_prefix
from sitrep.stores.rocks import RocksKeyValue
from sitrep.topics import TopicNames

CACHE_MB = 64
"""SQLite's page cache, as large as RocksDB's block cache (LMDB reads the OS page cache)."""
LMDB_MAP_GB = 64
"""Address space LMDB reserves; the file grows only as pages are written."""
NAMES = TopicNames("bench")
FLUSH_EVERY = 500
"""Events folded between two view flushes (``take_changes()``, then ``commit()``)."""
GETS, SCANS = 10_000, 2_000
PAGES = (16, 64, 256, 1024)
"""Rows per page of a scan: a first page small enough for ``next(scan)``, then larger ones."""


class Bounds(NamedTuple):
    """The keys a page of a scan may hold: from ``low`` to ``high`` (None: no end)."""

    low: bytes
    low_inclusive: bool
    high: bytes | None
    high_inclusive: bool


def _pages() -> Iterator[int]:
    yield from PAGES
    while True:
        yield PAGES[-1]


class SqliteKeyValue:
    """:class:`~sitrep.engine.keyvalue.KeyValue` over one SQLite table, writes in a transaction
    until :meth:`commit` (reads on the same connection see them)."""

    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path / "kv.sqlite", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(f"PRAGMA cache_size=-{CACHE_MB * 1024}")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID"
        )

    def get(self, key: bytes) -> bytes | None:
        row = self._db.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def put(self, key: bytes, value: bytes) -> None:
        self._begin()
        self._db.execute("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", (key, value))

    def delete(self, key: bytes) -> None:
        self._begin()
        self._db.execute("DELETE FROM kv WHERE k = ?", (key,))

    def scan(
        self, prefix: bytes, *, start: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        # A page at a time, each one statement run to its end: a write between pages (which the
        # port allows) cannot disturb a statement still stepping over the table.
        return _paged(self._page, prefix, start, reverse)

    def commit(self) -> None:
        """Make every write so far durable, at once."""
        if self._db.in_transaction:
            self._db.execute("COMMIT")

    def close(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
        self._db.close()

    def _begin(self) -> None:
        if not self._db.in_transaction:
            self._db.execute("BEGIN IMMEDIATE")

    def _page(self, bounds: Bounds, reverse: bool, limit: int) -> list[tuple[bytes, bytes]]:
        where, args = ["k >= ?" if bounds.low_inclusive else "k > ?"], [bounds.low]
        if bounds.high is not None:
            where.append("k <= ?" if bounds.high_inclusive else "k < ?")
            args.append(bounds.high)
        order = "DESC" if reverse else "ASC"
        sql = f"SELECT k, v FROM kv WHERE {' AND '.join(where)} ORDER BY k {order} LIMIT {limit}"
        return [(bytes(k), bytes(v)) for k, v in self._db.execute(sql, args)]


class LmdbKeyValue:
    """:class:`~sitrep.engine.keyvalue.KeyValue` over LMDB: one write transaction stays open
    between commits, and every read goes through it, so reads see the writes staged in it."""

    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._env = lmdb.open(str(path), map_size=LMDB_MAP_GB << 30, metasync=False)
        self._txn = self._env.begin(write=True)

    def get(self, key: bytes) -> bytes | None:
        found: bytes | None = self._txn.get(key)
        return found

    def put(self, key: bytes, value: bytes) -> None:
        self._txn.put(key, value)

    def delete(self, key: bytes) -> None:
        self._txn.delete(key)

    def scan(
        self, prefix: bytes, *, start: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        # A fresh cursor per page: LMDB does not promise where a cursor stands after a write
        # made through the transaction beside it.
        return _paged(self._page, prefix, start, reverse)

    def commit(self) -> None:
        """Make every write so far durable, at once; the next ones open a new transaction."""
        self._txn.commit()
        self._txn = self._env.begin(write=True)

    def close(self) -> None:
        self._txn.abort()
        self._env.close()

    def _page(self, bounds: Bounds, reverse: bool, limit: int) -> list[tuple[bytes, bytes]]:
        cursor = self._txn.cursor()
        out: list[tuple[bytes, bytes]] = []
        if reverse:
            on = _last_at_or_below(cursor, bounds.high, bounds.high_inclusive)
            while on and len(out) < limit:
                found = cursor.key()
                if found < bounds.low or (found == bounds.low and not bounds.low_inclusive):
                    break
                out.append((found, cursor.value()))
                on = cursor.prev()
        else:
            on = cursor.set_range(bounds.low)
            if on and not bounds.low_inclusive and cursor.key() == bounds.low:
                on = cursor.next()
            while on and len(out) < limit:
                found = cursor.key()
                if bounds.high is not None and (
                    found > bounds.high or (found == bounds.high and not bounds.high_inclusive)
                ):
                    break
                out.append((found, cursor.value()))
                on = cursor.next()
        cursor.close()
        return out


def _last_at_or_below(cursor: Any, high: bytes | None, inclusive: bool) -> bool:
    """Put ``cursor`` on the last key at most ``high`` (below it: not ``inclusive``)."""
    if high is None:
        return bool(cursor.last())
    if not cursor.set_range(high):
        return bool(cursor.last())
    if cursor.key() > high or not inclusive:
        return bool(cursor.prev())
    return True


def _paged(
    page: Callable[[Bounds, bool, int], list[tuple[bytes, bytes]]],
    prefix: bytes,
    start: bytes | None,
    reverse: bool,
) -> Iterator[tuple[bytes, bytes]]:
    """:meth:`KeyValue.scan` read a page at a time, each page starting past the last."""
    end = after_prefix(prefix)
    if reverse:
        if start is not None and (end is None or start < end):
            bounds = Bounds(prefix, True, start, True)
        else:
            bounds = Bounds(prefix, True, end, False)
    else:
        bounds = Bounds(prefix if start is None else max(start, prefix), True, end, False)
    for limit in _pages():
        rows = page(bounds, reverse, limit)
        yield from rows
        if len(rows) < limit:
            return
        last = rows[-1][0]
        if reverse:
            bounds = bounds._replace(high=last, high_inclusive=False)
        else:
            bounds = bounds._replace(low=last, low_inclusive=False)


# --- the measurement ---------------------------------------------------------------------------


class Store(KeyValue, Protocol):
    """The port, and what a process does with a store of its own."""

    def commit(self) -> None: ...

    def close(self) -> None: ...


class MemoryStore(MemoryKeyValue):
    """The floor: the engine over a sorted dict, nothing to commit."""

    def __init__(self, path: Path) -> None:
        super().__init__()

    def commit(self) -> None:
        pass

    def close(self) -> None:
        pass


STORES: dict[str, Callable[[Path], Store]] = {
    "memory": MemoryStore,
    "rocksdb": RocksKeyValue,
    "sqlite": SqliteKeyValue,
    "lmdb": LmdbKeyValue,
}


def _status(field: str) -> int:
    """A field of /proc/self/status, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _disk_bytes(path: Path) -> int:
    """Bytes allocated on disk to the files under ``path``."""
    return sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file())


def _evict(path: Path) -> None:
    """Drop the files under ``path`` from the page cache, so that the next reads are cold."""
    os.sync()  # dirty pages are not dropped
    for f in path.rglob("*"):
        if f.is_file():
            fd = os.open(f, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def fold(store_name: str, events: int, seed: int, workdir: Path) -> dict[str, Any]:
    """Fold the load through an engine over a new store; what it cost, and what it left."""
    load = SyntheticLoad("stores", seed=seed)
    raws = load.preload(events)
    now = datetime.now(UTC)
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM from here on
    rss_before = _status("VmRSS")
    cpu, wall = time.process_time(), time.perf_counter()
    store = STORES[store_name](workdir / "store")
    engine = Engine(store, load.gazetteer, NAMES)
    rejected = 0
    for i, raw in enumerate(raws, 1):
        try:
            engine.fold(parse_event(raw, now=now))
        except ValueError:
            rejected += 1  # what the worker dead-letters; the same events for every store
        if i % FLUSH_EVERY == 0 or i == len(raws):
            engine.take_changes()
            store.commit()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    out: dict[str, Any] = {
        "cpu_s": cpu,
        "wall_s": wall,
        "peak_rss": _status("VmHWM") - rss_before,
        "rejected": rejected,
    }
    # What the reads will ask for, and a digest to check every store ends in the same state.
    rng = random.Random(seed)
    reports = [k for k, _ in store.scan(keyvalue.key(REPORT, ""))]
    entities = [k.split(keyvalue.SEP)[-1] for k, _ in store.scan(keyvalue.key(ENTITY, ""))]
    members = [keyvalue.key(MEMBER, e, "") for e in entities]
    sample = {"gets": rng.choices(reports, k=GETS), "scans": rng.choices(members, k=SCANS)}
    digest, keys = hashlib.sha256(), 0
    for k, v in store.scan(b""):
        digest.update(len(k).to_bytes(4, "big") + k + len(v).to_bytes(4, "big") + v)
        keys += 1
    out |= {"digest": digest.hexdigest()[:12], "keys": keys, "reports": len(reports)}
    if store_name == "memory":
        time_gets(store, sample["gets"])
        out |= warm_reads(store, sample)
    store.close()
    out["disk"] = _disk_bytes(workdir / "store") if store_name != "memory" else None
    (workdir / "sample.json").write_text(
        json.dumps({kind: [k.hex() for k in ks] for kind, ks in sample.items()})
    )
    return out


def time_gets(store: KeyValue, keys: Sequence[bytes]) -> float:
    """Microseconds per ``get`` of ``keys`` (each one written before)."""
    started = time.perf_counter()
    for k in keys:
        if store.get(k) is None:
            raise AssertionError(f"{k!r} was written but is not found")
    return (time.perf_counter() - started) / len(keys) * 1e6


def time_scans(store: KeyValue, prefixes: Sequence[bytes]) -> tuple[float, float]:
    """Microseconds per scan of ``prefixes`` read to the end, and rows per scan."""
    started, rows = time.perf_counter(), 0
    for prefix in prefixes:
        rows += sum(1 for _ in store.scan(prefix))
    return (time.perf_counter() - started) / len(prefixes) * 1e6, rows / len(prefixes)


def warm_reads(store: KeyValue, sample: dict[str, list[bytes]]) -> dict[str, float]:
    """The reads of ``sample`` once more, over pages the first time left in memory."""
    scan_us, rows = time_scans(store, sample["scans"])
    return {"get_us_warm": time_gets(store, sample["gets"]), "scan_us_warm": scan_us, "rows": rows}


def reopen(store_name: str, workdir: Path) -> dict[str, Any]:
    """Reopen a store left by :func:`fold`: reads cold (files out of the page cache), then
    the same reads again, warm."""
    path = workdir / "store"
    sample = {
        kind: [bytes.fromhex(k) for k in ks]
        for kind, ks in json.loads((workdir / "sample.json").read_text()).items()
    }
    _evict(path)
    started = time.perf_counter()
    store = STORES[store_name](path)
    out: dict[str, Any] = {"reopen_s": time.perf_counter() - started}
    # Gets, then scans from a cold start of their own: they read different pages.
    out["get_us_cold"] = time_gets(store, sample["gets"])
    store.close()
    _evict(path)
    store = STORES[store_name](path)
    out["scan_us_cold"] = time_scans(store, sample["scans"])[0]
    time_gets(store, sample["gets"])  # back into memory, as the first store left them
    out |= warm_reads(store, sample)
    store.close()
    return out


# --- one run, a process per store --------------------------------------------------------------


def _child(step: str, store_name: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.stores", "--step", step, "--store", store_name]
    command += ["--events", str(args.events), "--seed", str(args.seed), "--dir", str(workdir)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{step} {store_name} failed:\n{done.stderr}")
    found: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return found


def run(args: argparse.Namespace, root: Path) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for name in args.stores:
        workdir = root / name
        workdir.mkdir()
        results[name] = _child("fold", name, args, workdir)
        if name != "memory":
            results[name] |= _child("reopen", name, args, workdir)
        print(f"  {name}: done", file=sys.stderr, flush=True)
    return results


COLUMNS: tuple[tuple[str, str, Callable[[dict[str, Any], int], float]], ...] = (
    ("fold CPU s/1k", "{:.3f}", lambda r, n: r["cpu_s"] / n * 1000),
    ("fold wall s/1k", "{:.3f}", lambda r, n: r["wall_s"] / n * 1000),
    ("peak RSS +MiB", "{:,.0f}", lambda r, n: r["peak_rss"] / 2**20),
    ("disk MiB", "{:,.1f}", lambda r, n: r["disk"] / 2**20),
    ("reopen ms", "{:,.1f}", lambda r, n: r["reopen_s"] * 1000),
    ("get us cold", "{:,.1f}", lambda r, n: r["get_us_cold"]),
    ("get us warm", "{:,.1f}", lambda r, n: r["get_us_warm"]),
    ("scan us cold", "{:,.0f}", lambda r, n: r["scan_us_cold"]),
    ("scan us warm", "{:,.0f}", lambda r, n: r["scan_us_warm"]),
)


def table(args: argparse.Namespace, results: dict[str, dict[str, Any]]) -> str:
    n = args.events
    first = next(iter(results.values()))
    lines = [
        f"Sitrep store benchmark — {time.strftime('%Y-%m-%d %H:%M')}, Python "
        f"{sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, LMDB "
        f"{'.'.join(map(str, lmdb.version()))}, {os.cpu_count()} CPUs",
        f"command: .venv/bin/python -m bench.stores --events {n}",
        f"{n:,} events folded, views flushed and committed every {FLUSH_EVERY}; "
        f"{first['keys']:,} keys at the end ({first['reports']:,} reports); reads: "
        f"{GETS:,} random gets of reports, {SCANS:,} scans of an entity's members "
        f"({first['rows']:.0f} rows each on average); cold: reopened in a new process, its "
        "files dropped from the page cache",
        "",
        f"{'store':<9}" + "".join(f"{title:>15}" for title, _, _ in COLUMNS) + "  same state",
    ]
    for name, found in results.items():
        cells = []
        for _, form, value in COLUMNS:
            try:
                cells.append(form.format(value(found, n)))
            except (KeyError, TypeError):
                cells.append("—")  # the memory floor has no disk
        same = "yes" if found["digest"] == results["memory"]["digest"] else "NO"
        lines.append(f"{name:<9}" + "".join(f"{c:>15}" for c in cells) + f"  {same}")
    lines += ["", "best of the stores on disk (lower is better; ratios: the others to it):"]
    on_disk = {name: found for name, found in results.items() if name != "memory"}
    for title, _, value in COLUMNS:
        scores = {name: value(found, n) for name, found in on_disk.items()}
        best = min(scores, key=scores.__getitem__)
        others = ", ".join(
            f"{name} x{score / scores[best]:.1f}" for name, score in scores.items() if name != best
        )
        lines.append(f"  {title:<15}{best:<9}({others})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stores", description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=20241130)
    parser.add_argument("--stores", nargs="+", choices=list(STORES), default=list(STORES))
    parser.add_argument("--step", choices=("fold", "reopen"), help=argparse.SUPPRESS)
    parser.add_argument("--store", choices=list(STORES), help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step == "fold":
        print(json.dumps(fold(args.store, args.events, args.seed, args.dir)))
        return 0
    if args.step == "reopen":
        print(json.dumps(reopen(args.store, args.dir)))
        return 0
    if "memory" not in args.stores:
        args.stores.insert(0, "memory")  # the floor, and the state the others must match
    # Under the repository, not /tmp: a tmpfs would keep every "cold" read in memory.
    with tempfile.TemporaryDirectory(prefix="bench-stores-", dir=REPO) as root:
        results = run(args, Path(root))
    print(table(args, results), flush=True)
    return 0 if all(r["digest"] == results["memory"]["digest"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
