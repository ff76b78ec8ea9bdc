"""Which line of a file first used each event id, in a few dozen bytes per id.

A ``dict[str, ...]`` of the ids themselves costs a few hundred bytes per id (the string, its
entry, the value), so a file of ten million events would need gigabytes just to spot repeats.
This table keeps, per id, an 8-byte fingerprint of the id, an 8-byte fingerprint of the line and
the line number, in three flat arrays: 24 bytes a slot, between 1.5 and 3 slots per id since the
table doubles when two thirds full, so about 50 MB for a million ids.

The price is that two different ids with the same 64-bit fingerprint look like one: for *n*
ids the chance that any pair does is about n² / 2⁶⁵ (3 in 100 million for a million ids). Such a
line is reported as a duplicate of the first, naming both lines, never dropped silently.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from hashlib import blake2b

_INITIAL_SLOTS = 1 << 10
_EMPTY = 0


def fingerprint(data: bytes) -> int:
    """A 64-bit digest of ``data``, never 0 (0 marks an empty slot)."""
    return int.from_bytes(blake2b(data, digest_size=8).digest(), "little") or 1


@dataclass(frozen=True, slots=True)
class Earlier:
    """The line that used an id first, and whether its text differs from the repeat's."""

    line: int
    differs: bool


class FirstSeen:
    """Remembers the first line that used each event id (open addressing, linear probing)."""

    def __init__(self) -> None:
        self._count = 0
        self._ids, self._texts, self._lines = _arrays(_INITIAL_SLOTS)

    def __len__(self) -> int:
        return self._count

    @property
    def slots(self) -> int:
        """How many slots the table holds (each costs 24 bytes)."""
        return len(self._ids)

    def remember(self, event_id: str, text: bytes, line: int) -> Earlier | None:
        """``None`` if the id is new (it is now remembered at ``line``), else the earlier line."""
        id_print = fingerprint(event_id.encode())
        text_print = fingerprint(text)
        slot = self._find(id_print)
        if self._ids[slot] == id_print:
            return Earlier(self._lines[slot], self._texts[slot] != text_print)
        self._ids[slot] = id_print
        self._texts[slot] = text_print
        self._lines[slot] = line
        self._count += 1
        if self._count * 3 >= len(self._ids) * 2:
            self._grow()
        return None

    def _find(self, id_print: int) -> int:
        """The slot holding ``id_print``, or the empty slot where it belongs."""
        mask = len(self._ids) - 1
        slot = id_print & mask
        while self._ids[slot] not in (_EMPTY, id_print):
            slot = (slot + 1) & mask
        return slot

    def _grow(self) -> None:
        old = (self._ids, self._texts, self._lines)
        self._ids, self._texts, self._lines = _arrays(len(self._ids) * 2)
        for id_print, text_print, line in zip(*old, strict=True):
            if id_print != _EMPTY:
                slot = self._find(id_print)
                self._ids[slot] = id_print
                self._texts[slot] = text_print
                self._lines[slot] = line


def _arrays(slots: int) -> tuple[array[int], array[int], array[int]]:
    # "Q" is an unsigned 64-bit C integer: the fingerprints fill it, and a line number fits.
    return array("Q", bytes(8 * slots)), array("Q", bytes(8 * slots)), array("Q", bytes(8 * slots))
