"""The engine's state on disk: :class:`~sitrep.engine.keyvalue.KeyValue` over RocksDB.

RocksDB (through ``rocksdict``, the binding faust-streaming uses too) because the engine's
state is many small records written in bursts and read by prefix: a log-structured store
takes the writes sequentially, keeps recently read blocks in a cache of a size we set, and
serves ordered prefix scans; SQLite paid a B-tree update and a transaction per record, LMDB a
map size set in advance and one writer at a time (see docs/ARCHITECTURE.md).

Writes are staged in memory and reach the database together, with the log positions they
reflect, in one atomic :meth:`RocksKeyValue.commit`: after a crash the state on disk is the
state after some commit, never half of one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from rocksdict import (
    BlockBasedIndexType,
    BlockBasedOptions,
    Cache,
    DBCompressionType,
    Options,
    Rdict,
    WriteBatch,
)
from sortedcontainers import SortedDict

from sitrep.engine.keyvalue import after_prefix, scan_sorted

DEFAULT_CACHE_MB = 64
"""RocksDB's block cache (uncompressed blocks recently read), per database."""
WRITE_BUFFER_MB = 16
"""Each memtable; two per database (RocksDB's own default is 64 MiB, 2 to 3 of them)."""


def _options(cache_mb: int) -> Options:
    opts = Options(raw_mode=True)
    opts.create_if_missing(True)
    opts.set_write_buffer_size(WRITE_BUFFER_MB << 20)
    opts.set_max_write_buffer_number(2)
    opts.set_max_open_files(256)
    opts.set_compression_type(DBCompressionType.lz4())
    table = BlockBasedOptions()
    table.set_block_cache(Cache(cache_mb << 20))
    table.set_bloom_filter(10, False)
    # Index and filter blocks count against the cache instead of growing beside it, in
    # partitions of a few KB: whole, a table's index outgrows a shard of the cache (1 MB of a
    # 64 MB cache) past a few hundred thousand keys, is dropped as soon as it is read, and
    # every get read and decompressed it again (≈ 0.35 ms a get at 100,000 events).
    table.set_cache_index_and_filter_blocks(True)
    table.set_index_type(BlockBasedIndexType.two_level_index_search())
    table.set_partition_filters(True)
    table.set_metadata_block_size(4096)
    table.set_pin_top_level_index_and_filter(True)
    opts.set_block_based_table_factory(table)
    return opts


class StoreFault(OSError):
    """RocksDB failed (an I/O error, a closed database): a fault of the store, not of the
    record being handled (rocksdict raises plain exceptions)."""


class RocksKeyValue:
    """A RocksDB database as a :class:`~sitrep.engine.keyvalue.KeyValue`, writes staged until
    :meth:`commit`."""

    def __init__(self, path: Path, *, cache_mb: int = DEFAULT_CACHE_MB) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        opts = _options(cache_mb)
        # Named for the default column family too: an existing database's column families
        # are otherwise opened with the options its OPTIONS file lists, which cannot hold a
        # table's cache nor its filter (new tables were written without a bloom filter).
        self._db = Rdict(str(path), opts, column_families={"default": opts})
        self._staged: SortedDict = SortedDict()
        """Writes not committed yet, the latest of each key: value (None: deleted)."""
        self._generation = 0
        self._layers: list[tuple[int, dict[bytes, bytes | None]]] = [(0, {})]
        """The writes of each generation not committed yet, oldest first."""

    # --- KeyValue --------------------------------------------------------------------------

    def get(self, key: bytes) -> bytes | None:
        if key in self._staged:
            staged: bytes | None = self._staged[key]
            return staged
        return self.committed(key)

    def committed(self, key: bytes) -> bytes | None:
        """The value of ``key`` as last committed (what a restart would read)."""
        try:
            found: bytes | None = self._db.get(key)
        except Exception as exc:
            raise StoreFault(f"RocksDB at {self.path}: {exc}") from exc
        return found

    def put(self, key: bytes, value: bytes) -> None:
        self._staged[key] = value
        self._layers[-1][1][key] = value

    def delete(self, key: bytes) -> None:
        self._staged[key] = None
        self._layers[-1][1][key] = None

    def scan(
        self, prefix: bytes, *, start: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        stored = self._stored(prefix, start, reverse)
        if not self._staged:
            return stored
        staged = scan_sorted(self._staged, prefix, start, reverse)
        return _merged(stored, staged, reverse)

    # --- committing ------------------------------------------------------------------------

    def seal(self) -> int:
        """Close the current generation of writes (later ones start the next); its number."""
        sealed = self._generation
        self._generation += 1
        self._layers.append((self._generation, {}))
        return sealed

    def commit(self, through: int | None = None) -> None:
        """Write the generations up to ``through`` (default: everything staged, sealing it)
        to the database, atomically, in order."""
        if through is None:
            through = self.seal()
        assert through < self._generation, "only sealed generations are committed"
        done = [writes for generation, writes in self._layers if generation <= through]
        self._layers = [layer for layer in self._layers if layer[0] > through]
        if not any(done):
            return
        batch = WriteBatch(raw_mode=True)
        for writes in done:
            for key, value in writes.items():
                if value is None:
                    batch.delete(key)
                else:
                    batch.put(key, value)
        try:
            self._db.write(batch)
        except Exception as exc:
            raise StoreFault(f"RocksDB at {self.path}: {exc}") from exc
        left = sum(len(writes) for _, writes in self._layers)
        if left < len(self._staged) // 4:
            # Usually little was written since the seal: what is left is staged anew, at a
            # fraction of the cost of taking every committed key out of the sorted map.
            staged = SortedDict()
            for _, writes in self._layers:
                staged.update(writes)
            self._staged = staged
            return
        for writes in done:
            for key in writes:
                if not any(key in later for _, later in self._layers):
                    self._staged.pop(key, None)

    def close(self) -> None:
        self._staged.clear()
        self._layers = []
        self._db.close()

    def _stored(
        self, prefix: bytes, start: bytes | None, reverse: bool
    ) -> Iterator[tuple[bytes, bytes]]:
        try:
            yield from self._iterate(prefix, start, reverse)
        except Exception as exc:
            raise StoreFault(f"RocksDB at {self.path}: {exc}") from exc

    def _iterate(
        self, prefix: bytes, start: bytes | None, reverse: bool
    ) -> Iterator[tuple[bytes, bytes]]:
        it = self._db.iter()
        if reverse:
            if start is not None:
                it.seek_for_prev(start)
            else:
                end = after_prefix(prefix)
                if end is None:
                    it.seek_to_last()
                else:
                    it.seek_for_prev(end)
                    if it.valid() and it.key() == end:
                        it.prev()
        else:
            it.seek(prefix if start is None or start < prefix else start)
        while it.valid():
            found: bytes = it.key()
            if not found.startswith(prefix):
                return
            yield found, it.value()
            if reverse:
                it.prev()
            else:
                it.next()


def _merged(
    stored: Iterator[tuple[bytes, bytes]],
    staged: Iterator[tuple[bytes, bytes | None]],
    reverse: bool,
) -> Iterator[tuple[bytes, bytes]]:
    """Two ordered scans as one; a staged write (None: deleted) wins over what is stored."""

    def before(a: bytes, b: bytes) -> bool:
        return a > b if reverse else a < b

    left = next(stored, None)
    right = next(staged, None)
    while left is not None or right is not None:
        if right is None or (left is not None and before(left[0], right[0])):
            assert left is not None
            yield left
            left = next(stored, None)
            continue
        if left is not None and left[0] == right[0]:
            left = next(stored, None)
        if right[1] is not None:
            yield right[0], right[1]
        right = next(staged, None)
