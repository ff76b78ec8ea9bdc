"""The engine's storage port: an ordered map of bytes to bytes.

The engine keeps all its state behind this port, so the same rules run over a dict in a test
and over RocksDB in a worker or an API process (:mod:`sitrep.stores`). Keys sort as bytes, so
a prefix groups one kind of record and a scan reads them in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from sortedcontainers import SortedDict

SEP = b"\x00"
"""Separates the parts of a key: no event id, ledger key or place id holds a NUL."""


def key(*parts: str | bytes) -> bytes:
    """A key of ``parts``, NUL-separated (str parts as UTF-8, which sorts as code points)."""
    try:
        return "\x00".join(parts).encode()  # type: ignore[arg-type]  # all str: the usual
    except TypeError:
        return SEP.join(p.encode() if isinstance(p, str) else p for p in parts)


def after_prefix(prefix: bytes) -> bytes | None:
    """The first key past every key that starts with ``prefix`` (None: there is none)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


class KeyValue(Protocol):
    """An ordered map of bytes to bytes. Scans see the state when they start: write after."""

    def get(self, key: bytes) -> bytes | None: ...

    def put(self, key: bytes, value: bytes) -> None: ...

    def delete(self, key: bytes) -> None: ...

    def scan(
        self, prefix: bytes, *, start: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """The items whose key starts with ``prefix``, in key order (``reverse``: descending),
        from ``start`` on (a full key: included; in reverse, the scan starts at or below it)."""
        ...


class MemoryKeyValue:
    """:class:`KeyValue` in memory: tests, and state that is small by nature."""

    def __init__(self) -> None:
        self._items: SortedDict = SortedDict()

    def get(self, key: bytes) -> bytes | None:
        found: bytes | None = self._items.get(key)
        return found

    def put(self, key: bytes, value: bytes) -> None:
        self._items[key] = value

    def delete(self, key: bytes) -> None:
        self._items.pop(key, None)

    def scan(
        self, prefix: bytes, *, start: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        found: Iterator[tuple[bytes, bytes]] = scan_sorted(self._items, prefix, start, reverse)
        return found


def scan_sorted(
    items: SortedDict, prefix: bytes, start: bytes | None, reverse: bool
) -> Iterator[tuple[bytes, Any]]:
    """:meth:`KeyValue.scan` over a :class:`SortedDict` (copied first: writes may follow)."""
    if reverse:
        high = start if start is not None else after_prefix(prefix)
        keys = list(items.irange(prefix, high, inclusive=(True, start is not None), reverse=True))
    else:
        low = prefix if start is None else max(start, prefix)
        keys = list(items.irange(low, after_prefix(prefix), inclusive=(True, False)))
    return iter([(k, items[k]) for k in keys if k.startswith(prefix)])
