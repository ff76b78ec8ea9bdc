"""Moments in query parameters: RFC 3339 date-times with an offset, or plain dates."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

from sitrep.contract.values import SUPPORTED, within_range
from sitrep.views.moments import end_of_day

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})"
)
EXPECTED = "an RFC 3339 date-time with an offset (2024-12-01T12:00:00Z) or a date (2024-12-01)"


class BadMoment(ValueError):
    """A moment that is not an RFC 3339 date-time or date; the message says why."""


def parse_moment(text: str, *, day_end: bool) -> datetime:
    """The instant ``text`` names; a plain date is its last instant (``day_end``) or first."""
    text = text.strip()
    if _DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise BadMoment(f"is not a calendar date: {exc} (got {text!r})") from exc
        if not within_range(day):
            raise BadMoment(f"{SUPPORTED} (got {text!r})")
        return end_of_day(day) if day_end else datetime.combine(day, time.min, tzinfo=UTC)
    if not _DATE_TIME.fullmatch(text):
        raise BadMoment(f"must be {EXPECTED} (got {text[:60]!r})")
    # Python before 3.11 took at most 6 fractional digits; RFC 3339 allows more: trim them.
    normalised = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        moment = datetime.fromisoformat(normalised.replace("z", "Z"))
    except ValueError as exc:
        raise BadMoment(f"is not a valid date-time: {exc} (got {text[:60]!r})") from exc
    if not within_range(moment):
        raise BadMoment(f"{SUPPORTED} (got {text[:60]!r})")
    return moment
