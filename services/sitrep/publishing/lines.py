"""Reading a JSON Lines stream one line at a time, and what each line is: an event to send, a
line that breaks the contract, a repeat of an earlier line's event, or another event under an
id an earlier line used."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from sitrep.contract import EventBase, FieldError, InvalidEvent, encode_event
from sitrep.publishing.first_seen import FirstSeen

MAX_LINE_BYTES = 1 << 20
"""The producer refuses records over 1 MiB (its ``max_request_size``): a longer line is rejected
as bad data, without being held in memory, rather than failing at the send like a broker fault."""


@dataclass(frozen=True, slots=True)
class Line:
    """One non-blank line of the stream, without surrounding whitespace, numbered from 1 as an
    editor numbers it."""

    number: int
    text: bytes


@dataclass(frozen=True)
class Rejected:
    """A line that breaks the contract and was not sent."""

    line: int
    event_id: str | None
    errors: tuple[FieldError, ...]


@dataclass(frozen=True)
class Duplicate:
    """A line whose event an earlier line of the same file already held; not sent again."""

    line: int
    event_id: str
    first_line: int


@dataclass(frozen=True)
class Conflict:
    """A line whose id an earlier line of the same file used for another event: not sent,
    since the log keeps the first event under an id (``fields``: where they differ, once
    known)."""

    line: int
    event_id: str
    first_line: int
    fields: tuple[str, ...] = ()


def read_lines(stream: BinaryIO, *, max_bytes: int = MAX_LINE_BYTES) -> Iterator[Line | Rejected]:
    """The stream's non-blank lines; one longer than ``max_bytes`` is rejected, never held whole."""
    number = 0
    while chunk := stream.readline(max_bytes + 1):
        number += 1
        if len(chunk) > max_bytes and not chunk.endswith(b"\n"):
            yield _too_long(number, len(chunk) + _skip_line(stream, max_bytes), max_bytes)
        elif text := chunk.strip():
            yield Line(number, text)


def _skip_line(stream: BinaryIO, chunk_bytes: int) -> int:
    """Read past the rest of the line; how many bytes it held, newline excluded."""
    skipped = 0
    while rest := stream.readline(chunk_bytes):
        if rest.endswith(b"\n"):
            return skipped + len(rest) - 1
        skipped += len(rest)
    return skipped


def _too_long(number: int, length: int, max_bytes: int) -> Rejected:
    reason = f"the line is {length} bytes long; at most {max_bytes} are read"
    return Rejected(number, None, (FieldError("", reason),))


def check_line(
    line: Line, *, validate: Callable[[bytes], EventBase], seen: FirstSeen
) -> EventBase | Rejected | Duplicate | Conflict:
    """The line's event if it is valid and its id is new to the stream; else why not."""
    try:
        event = validate(line.text)
    except InvalidEvent as exc:
        return Rejected(line.number, exc.event_id, exc.errors)
    # The event as the log would hold it: lines that differ in spacing or key order only
    # are the same event.
    earlier = seen.remember(event.id, encode_event(event), line.number)
    if earlier is None:
        return event
    if earlier.differs:
        return Conflict(line.number, event.id, earlier.line)
    return Duplicate(line.number, event.id, earlier.line)
