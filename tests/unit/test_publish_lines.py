"""A JSON Lines stream is read line by line, and each line is an event, a rejection naming its
line and fields, or a repeat naming the line that used the id first."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import orjson
import pytest

from sitrep.contract import EventBase, parse_event
from sitrep.publishing import Conflict, Duplicate, FirstSeen, Line, Rejected, check_line, read_lines
from tests.examples import BY_TYPE, with_data

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def _validate(text: bytes) -> EventBase:
    return parse_event(text, now=NOW)


def _read(data: bytes, max_bytes: int = 1 << 20) -> list[Line | Rejected]:
    return list(read_lines(io.BytesIO(data), max_bytes=max_bytes))


def test_lines_are_numbered_as_an_editor_numbers_them_skipping_blank_ones() -> None:
    data = b'{"a":1}\n\n   \n{"b":2}\r\n  {"c":3}  '
    assert _read(data) == [Line(1, b'{"a":1}'), Line(4, b'{"b":2}'), Line(5, b'{"c":3}')]


def test_an_empty_stream_has_no_lines() -> None:
    assert _read(b"") == []
    assert _read(b"\n\n") == []


def test_a_line_up_to_the_limit_is_kept_whole() -> None:
    line = b"x" * 16
    assert _read(line + b"\n" + line, max_bytes=16) == [Line(1, line), Line(2, line)]


@pytest.mark.parametrize("length", [17, 40, 100])
def test_a_longer_line_is_rejected_with_its_length_and_the_next_line_still_read(
    length: int,
) -> None:
    data = b"y" * length + b"\n" + b'{"next":1}\n'
    too_long, after = _read(data, max_bytes=16)
    assert isinstance(too_long, Rejected)
    assert too_long.line == 1
    assert too_long.errors[0].reason == f"the line is {length} bytes long; at most 16 are read"
    assert after == Line(2, b'{"next":1}')


def test_a_long_last_line_without_a_newline_is_rejected() -> None:
    (only,) = _read(b"z" * 50, max_bytes=16)
    assert isinstance(only, Rejected)
    assert "50 bytes long" in only.errors[0].reason


def test_reading_is_lazy() -> None:
    stream = io.BytesIO(b'{"a":1}\n{"b":2}\n')
    lines = read_lines(stream)
    assert next(lines) == Line(1, b'{"a":1}')
    assert stream.tell() == len(b'{"a":1}\n')


def _check(line: Line, seen: FirstSeen) -> EventBase | Rejected | Duplicate:
    return check_line(line, validate=_validate, seen=seen)


def test_a_valid_line_is_its_event() -> None:
    text = orjson.dumps(BY_TYPE["control.changed"])
    event = _check(Line(3, text), FirstSeen())
    assert isinstance(event, EventBase)
    assert event.id == "seed-aleppo-control"


def test_a_line_that_is_not_json_is_rejected_naming_the_line() -> None:
    outcome = _check(Line(9, b'{"id": "broken", '), FirstSeen())
    assert isinstance(outcome, Rejected)
    assert (outcome.line, outcome.event_id) == (9, None)
    ((field, reason),) = [(e.field, e.reason) for e in outcome.errors]
    assert field == ""
    assert "not valid JSON" in reason


def test_an_invalid_event_is_rejected_with_its_id_and_every_bad_field() -> None:
    raw = with_data("strike.reported", means="laser", killed=-1) | {"id": "bad-2"}
    outcome = _check(Line(5, orjson.dumps(raw)), FirstSeen())
    assert isinstance(outcome, Rejected)
    assert (outcome.line, outcome.event_id) == (5, "bad-2")
    reasons = {e.field: e.reason for e in outcome.errors}
    assert "must be one of" in reasons["data.means"]
    assert "at least 0" in reasons["data.killed"]


def test_a_repeated_id_is_a_duplicate_or_a_conflict_with_the_first_valid_line_that_used_it() -> (
    None
):
    seen = FirstSeen()
    first = orjson.dumps(BY_TYPE["control.changed"])
    spaced = orjson.dumps(BY_TYPE["control.changed"], option=orjson.OPT_INDENT_2)
    changed = orjson.dumps(with_data("control.changed", method="retaken"))
    assert isinstance(_check(Line(2, first), seen), EventBase)
    assert _check(Line(6, first), seen) == Duplicate(6, "seed-aleppo-control", 2)
    assert _check(Line(7, spaced), seen) == Duplicate(7, "seed-aleppo-control", 2)
    assert _check(Line(8, changed), seen) == Conflict(8, "seed-aleppo-control", 2)


def test_a_rejected_line_does_not_claim_its_id() -> None:
    seen = FirstSeen()
    bad = orjson.dumps(with_data("control.changed", method="teleported"))
    good = orjson.dumps(BY_TYPE["control.changed"])
    assert isinstance(_check(Line(1, bad), seen), Rejected)
    assert isinstance(_check(Line(2, good), seen), EventBase)
