"""View changes as the stream sends them: positions on the view topics, filters, SSE framing.

Pure: the follower (:mod:`sitrep.api.follower`) reads the records, this module says what a
record is to a client, whether it wants it, and how to resume after it.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import orjson

from sitrep.resolution.names import skeleton
from sitrep.topics import VIEW_KEYS

KINDS: tuple[str, ...] = tuple(VIEW_KEYS)
"""The view kinds, in the order of :data:`sitrep.topics.VIEW_KEYS`."""

# One letter per kind keeps an event id short: 30 partitions fit in a couple of hundred bytes.
_CODES = {"control": "c", "strikes": "s", "casualties": "k", "statements": "t", "actors": "a"}
_KIND_OF = {code: kind for kind, code in _CODES.items()}
_ENTRY = re.compile(r"^([a-z])(\d{1,6})\.(\d{1,19})$")

Slot = tuple[str, int]
"""A partition of a view topic: (view kind, partition)."""


class BadPosition(ValueError):
    """An event id that is not a position on the view topics."""


@dataclass(frozen=True)
class Position:
    """Where a client stands: the next offset to send, per partition of each view topic."""

    offsets: Mapping[Slot, int] = field(default_factory=dict)

    def after(self, slot: Slot, offset: int) -> Position:
        """This position once the record at ``offset`` of ``slot`` has been sent."""
        return Position({**self.offsets, slot: max(self.offsets.get(slot, 0), offset + 1)})

    def merged(self, other: Position) -> Position:
        """The further of this position and ``other``, partition by partition."""
        offsets = dict(self.offsets)
        for slot, offset in other.offsets.items():
            offsets[slot] = max(offsets.get(slot, 0), offset)
        return Position(offsets)

    def next_offset(self, slot: Slot) -> int:
        """The first offset of ``slot`` not sent yet (0 for a partition never seen)."""
        return self.offsets.get(slot, 0)

    def reached(self, other: Position) -> bool:
        """Whether this position is at or beyond ``other`` on every partition ``other`` has."""
        return all(self.next_offset(slot) >= offset for slot, offset in other.offsets.items())

    def encode(self) -> str:
        """The SSE event id: ``c0.12-s3.7``: kind letter, partition, next offset (0s left out)."""
        return "-".join(
            f"{_CODES[kind]}{partition}.{offset}"
            for (kind, partition), offset in sorted(self.offsets.items())
            if offset > 0
        )

    @classmethod
    def decode(cls, text: str) -> Position:
        """The position an event id stands for, or :class:`BadPosition`."""
        offsets: dict[Slot, int] = {}
        for entry in filter(None, text.strip().split("-")):
            found = _ENTRY.match(entry)
            if found is None or found[1] not in _KIND_OF:
                raise BadPosition(f"{entry!r} is not <kind letter><partition>.<offset>")
            offsets[(_KIND_OF[found[1]], int(found[2]))] = int(found[3])
        return cls(offsets)


@dataclass(frozen=True)
class Change:
    """One record of a view topic: the entity's view now, or ``None`` when it is gone."""

    kind: str
    partition: int
    offset: int
    key: str
    value: dict[str, Any] | None
    size: int = 0
    """The record's bytes as read: what a client's backlog is measured in."""

    @property
    def slot(self) -> Slot:
        return (self.kind, self.partition)

    @cached_property
    def data(self) -> bytes:
        """The change as the stream sends it: encoded once, however many clients it goes to."""
        return orjson.dumps({"kind": self.kind, "key": self.key, "value": self.value})

    @property
    def view(self) -> Any:
        return None if self.value is None else self.value.get("view")


class RecentChanges:
    """The latest changes read, up to ``limit`` of them and ``limit_bytes`` of their records,
    and where they begin on each partition."""

    def __init__(self, limit: int, limit_bytes: int) -> None:
        self._kept: deque[Change] = deque()
        self._bytes = 0
        self._limit = limit
        self._limit_bytes = limit_bytes
        self._from = Position()
        """Every change at or after it is kept."""

    def begin(self, position: Position) -> None:
        """Reading starts (or starts again) at ``position``: what is kept of a partition
        already read begins where it began; that of a new partition, at ``position``."""
        self._from = Position({**position.offsets, **self._from.offsets})

    def add(self, change: Change) -> None:
        self._kept.append(change)
        self._bytes += change.size
        while len(self._kept) > self._limit or self._bytes > self._limit_bytes:
            gone = self._kept.popleft()
            self._bytes -= gone.size
            self._from = self._from.after(gone.slot, gone.offset)

    def since(self, position: Position) -> list[Change] | None:
        """The changes after ``position``, in the order read; None when some of them are no
        longer kept."""
        if not position.reached(self._from):
            return None
        return [c for c in self._kept if c.offset >= position.next_offset(c.slot)]


def decode_change(
    kind: str, partition: int, offset: int, key: bytes | None, value: bytes | None
) -> Change:
    """A view-topic record as a :class:`Change` (a value that is not JSON counts as gone)."""
    try:
        decoded = orjson.loads(value) if value is not None else None
    except orjson.JSONDecodeError:
        decoded = None
    body = decoded if isinstance(decoded, dict) else None
    text = key.decode("utf-8", errors="replace") if key is not None else ""
    return Change(kind, partition, offset, text, body, len(value or b"") + len(key or b""))


def _dicts(*found: Any) -> list[dict[str, Any]]:
    return [f for f in found if isinstance(f, dict)]


@dataclass(frozen=True)
class ChangeFilter:
    """Which changes a client wants. Names are resolved beforehand: ``actor`` to an actor id,
    ``place`` to the ids of a place and what lies in it.

    A filter that does not apply to a kind (a place for statements) leaves that kind out; a
    tombstone is judged on what its key says (the place of a control or strike key, the id of
    an actor), and passes the rest.
    """

    kinds: frozenset[str] = frozenset(KINDS)
    country: str | None = None
    admin1: str | None = None
    places: frozenset[str] | None = None
    actor: str | None = None
    countries_of_actors: Mapping[str, str] = field(default_factory=dict)

    def wants(self, change: Change) -> bool:
        if change.kind not in self.kinds:
            return False
        if change.value is None:
            return self._wants_gone(change)
        view = change.view
        if change.kind == "control" and isinstance(view, dict):
            return self._where(_dicts(view.get("place"))) and self._who(
                _dicts(view.get("controller"))
            )
        if change.kind == "strikes" and isinstance(view, dict):
            return self._where(_dicts(view.get("place"))) and self._who(
                _dicts(view.get("perpetrator"))
            )
        if change.kind == "casualties" and isinstance(view, dict):
            reports = view.get("reports") or []
            places = _dicts(*(r.get("place") for r in reports if isinstance(r, dict)))
            return self._where(places) and self._who(_dicts(view.get("party")))
        if change.kind == "statements" and isinstance(view, list):
            return self._statements(_dicts(*view))
        if change.kind == "actors" and isinstance(view, dict):
            return self._actor(view)
        return False

    def _wants_gone(self, change: Change) -> bool:
        if change.kind in ("control", "strikes"):
            place_id = change.key.split("/", 1)[0]
            return self.places is None or place_id in self.places
        if change.kind == "actors":
            return self.actor is None or change.key == self.actor
        return True

    @property
    def _has_where(self) -> bool:
        return self.country is not None or self.admin1 is not None or self.places is not None

    def _where(self, places: Iterable[dict[str, Any]]) -> bool:
        places = list(places)
        if self.places is not None and not any(
            p.get("id") in self.places or p.get("parent") in self.places for p in places
        ):
            return False
        if self.country is None and self.admin1 is None:
            return True
        return any(self._in_region(p) for p in places)

    def _in_region(self, place: dict[str, Any]) -> bool:
        country, admin1 = place.get("country"), place.get("admin1")
        if self.country is not None and str(country or "").upper() != self.country.upper():
            return False
        return self.admin1 is None or (
            isinstance(admin1, str) and skeleton(admin1) == skeleton(self.admin1)
        )

    def _who(self, actors: Iterable[dict[str, Any]]) -> bool:
        return self.actor is None or any(a.get("id") == self.actor for a in actors)

    def _statements(self, statements: list[dict[str, Any]]) -> bool:
        """Statements have no place: ``country`` is that of the actor spoken for."""
        if self.admin1 is not None or self.places is not None:
            return False
        spoken_for = [a for s in statements for a in _dicts(s.get("actor"))]
        if self.country is not None and not any(
            self.countries_of_actors.get(str(a.get("id")), "").upper() == self.country.upper()
            for a in spoken_for
        ):
            return False
        return self._who(spoken_for + [a for s in statements for a in _dicts(s.get("speaker"))])

    def _actor(self, view: dict[str, Any]) -> bool:
        if self.admin1 is not None or self.places is not None:
            return False
        if (
            self.country is not None
            and str(view.get("country") or "").upper() != self.country.upper()
        ):
            return False
        return self.actor is None or view.get("id") == self.actor


def sse_message(change: Change, position: Position) -> bytes:
    """One server-sent event: the view kind, where to resume after it, and the change."""
    return b"event: %s\nid: %s\ndata: %s\n\n" % (
        change.kind.encode(),
        position.encode().encode(),
        change.data,
    )


def sse_event(event: str, data: Mapping[str, Any]) -> bytes:
    """A server-sent event that is not a change (it keeps the last id)."""
    return b"event: %s\ndata: %s\n\n" % (event.encode(), orjson.dumps(data))


HEARTBEAT = b": heartbeat\n\n"
