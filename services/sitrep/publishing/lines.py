"""Reading a JSON Lines stream one line at a time, and what each line is: an event to send, a
line that breaks the contract, or a repeat of an id an earlier line used."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from sitrep.contract import EventBase, FieldError, InvalidEvent
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
    """A line whose id an earlier line of the same file already used; not sent again."""

    line: int
    event_id: str
    first_line: int
    differs: bool


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
) -> EventBase | Rejected | Duplicate:
    """The line's event if it is valid and its id is new to the stream; else why not."""
    try:
        event = validate(line.text)
    except InvalidEvent as exc:
        return Rejected(line.number, exc.event_id, exc.errors)
    earlier = seen.remember(event.id, line.text, line.number)
    if earlier is not None:
        return Duplicate(line.number, event.id, earlier.line, earlier.differs)
    return event
