"""Bad events are refused with the field path and a reason a scraper author understands."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sitrep.contract import InvalidEvent, parse_event
from tests.examples import example, with_data

NOW = datetime(2024, 12, 5, tzinfo=UTC)


def reasons(raw: Any) -> dict[str, str]:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw, now=NOW)
    return {e.field: e.reason for e in caught.value.errors}


def without(event: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in keys}


CASES: list[tuple[str, Any, str, str]] = [
    ("broken JSON", b'{"id": "x", ', "", "not valid JSON"),
    ("not an object", b"[1, 2]", "", "must be a JSON object"),
    (
        "unknown type",
        example("control.changed", type="town.captured"),
        "type",
        "unknown event type",
    ),
    ("missing type", without(example("control.changed"), "type"), "type", "is required"),
    ("missing id", without(example("control.changed"), "id"), "id", "is required"),
    ("bad id", example("control.changed", id="-starts-with-dash"), "id", "1-128 characters"),
    ("long id", example("control.changed", id="a" * 129), "id", "1-128 characters"),
    ("id with space", example("control.changed", id="a b"), "id", "letters, digits"),
    ("unknown envelope field", example("control.changed", town="x"), "town", "not a field"),
    ("unknown data field", with_data("control.changed", winner="x"), "data.winner", "not a field"),
    (
        "missing data field",
        with_data("control.changed", controller=None),
        "data.controller",
        "is required",
    ),
    (
        "wrong type",
        with_data("control.changed", controller=5),
        "data.controller",
        "must be a string",
    ),
    (
        "empty actor",
        with_data("control.changed", controller="   "),
        "data.controller",
        "must not be empty",
    ),
    ("bad method", with_data("control.changed", method="stolen"), "data.method", "must be one of"),
    (
        "same controllers",
        with_data("control.changed", previous_controller="Hayat Tahrir al-Sham"),
        "data.previous_controller",
        "must differ",
    ),
    (
        "missing location",
        without(example("strike.reported"), "location"),
        "location",
        "is required",
    ),
    (
        "a version 1 casualty figure without a place",
        without(example("casualties.reported", schema_version=1), "location"),
        "location",
        "required by schema_version 1",
    ),
    (
        "lat out of range",
        example("control.changed", location={"name": "X", "lat": 91, "lon": 0}),
        "location.lat",
        "at most 90",
    ),
    (
        "lon out of range",
        example("control.changed", location={"name": "X", "lat": 0, "lon": -181}),
        "location.lon",
        "at least -180",
    ),
    (
        "lat without lon",
        example("control.changed", location={"name": "X", "lat": 1}),
        "location.lon",
        "together",
    ),
    (
        "bad country",
        example("control.changed", location={"name": "X", "country": "Syria"}),
        "location.country",
        "ISO 3166-1",
    ),
    (
        "bad place kind",
        example("control.changed", location={"name": "X", "kind": "castle"}),
        "location.kind",
        "must be one of",
    ),
    (
        "bad source kind",
        example("control.changed", source={"name": "X", "kind": "blog"}),
        "source.kind",
        "must be one of",
    ),
    (
        "bad url",
        example("control.changed", source={"name": "X", "url": "ftp://x"}),
        "source.url",
        "http",
    ),
    (
        "naive reported_at",
        example("control.changed", reported_at="2024-11-30T12:00:00"),
        "reported_at",
        "UTC offset",
    ),
    (
        "reported_at as date",
        example("control.changed", reported_at="2024-11-30"),
        "reported_at",
        "RFC 3339",
    ),
    (
        "occurred_at free text",
        example("control.changed", occurred_at="30/11/2024"),
        "occurred_at",
        "RFC 3339",
    ),
    (
        "occurred_at number",
        example("control.changed", occurred_at=1732924800),
        "occurred_at",
        "must be a string",
    ),
    (
        "occurred_at in year 1",
        example("control.changed", occurred_at="0001-01-01"),
        "occurred_at",
        "must lie between 1800-01-01 and 2199-12-31",
    ),
    (
        "occurred_at at the end of time",
        example("control.changed", occurred_at="9999-12-31T23:59:59Z"),
        "occurred_at",
        "must lie between 1800-01-01 and 2199-12-31",
    ),
    (
        "impossible date",
        example("control.changed", occurred_at="2024-02-30"),
        "occurred_at",
        "not a real date",
    ),
    (
        "impossible time",
        example("control.changed", occurred_at="2024-11-30T25:00:00Z"),
        "occurred_at",
        "not a real date-time",
    ),
    (
        "report before event",
        example("control.changed", reported_at="2024-11-29T23:00:00Z"),
        "reported_at",
        "precedes the day",
    ),
    (
        "report before instant's day",
        example(
            "control.changed",
            occurred_at="2024-11-30T10:00:00+03:00",
            reported_at="2024-11-29T20:59:00Z",
        ),
        "reported_at",
        "precedes the day",
    ),
    (
        "report in the future",
        example("control.changed", reported_at="2024-12-05T00:06:00Z"),
        "reported_at",
        "lies in the future",
    ),
    (
        "schema from the future",
        example("control.changed", schema_version=3),
        "schema_version",
        "newer than this service",
    ),
    ("schema zero", example("control.changed", schema_version=0), "schema_version", "at least 1"),
    (
        "notes too long",
        example("control.changed", notes="x" * 2001),
        "notes",
        "at most 2000 characters",
    ),
    (
        "statement too long",
        with_data("statement.issued", text="x" * 10_001),
        "data.text",
        "at most 10000 characters",
    ),
    ("negative count", with_data("strike.reported", killed=-1), "data.killed", "at least 0"),
    (
        "count as text",
        with_data("strike.reported", killed="300+"),
        "data.killed",
        "non-negative whole number or an object",
    ),
    (
        "count as bool",
        with_data("strike.reported", wounded=True),
        "data.wounded",
        "non-negative whole number or an object",
    ),
    (
        "count as float",
        with_data("strike.reported", killed=1.5),
        "data.killed",
        "non-negative whole number or an object",
    ),
    (
        "range upside down",
        with_data("strike.reported", killed={"low": 300, "high": 100}),
        "data.killed.high",
        "must not be below low",
    ),
    (
        "best above high",
        with_data("strike.reported", killed={"low": 1, "best": 9, "high": 5}),
        "data.killed.best",
        "must not be above high",
    ),
    (
        "range unknown field",
        with_data("strike.reported", killed={"low": 1, "about": 5}),
        "data.killed.about",
        "not a field",
    ),
    (
        "range without low",
        with_data("strike.reported", killed={"high": 5}),
        "data.killed.low",
        "is required",
    ),
    ("bad means", with_data("strike.reported", means="laser"), "data.means", "must be one of"),
    ("no parties", with_data("clash.reported", parties=[]), "data.parties", "at least 1"),
    (
        "party not a name",
        with_data("clash.reported", parties=["HTS", 7]),
        "data.parties[1]",
        "must be a string",
    ),
    (
        "casualties without killed",
        with_data("casualties.reported", killed=None),
        "data.killed",
        "is required",
    ),
    (
        "period backwards",
        with_data("casualties.reported", period_start="2024-12-01", period_end="2024-11-01"),
        "data.period_end",
        "must not be before period_start",
    ),
    ("bad stance", with_data("statement.issued", stance="angry"), "data.stance", "must be one of"),
    (
        "denial of itself",
        with_data("claim.denied", event_id="seed-army-denies-hama"),
        "data.event_id",
        "cannot deny itself",
    ),
    (
        "denial of bad id",
        with_data("claim.denied", event_id="no spaces"),
        "data.event_id",
        "1-128 characters",
    ),
    (
        "retraction without reason",
        with_data("event.retracted", reason=None),
        "data.reason",
        "is required",
    ),
    ("bad actor kind", with_data("actor.described", kind="gang"), "data.kind", "must be one of"),
    (
        "designation without as",
        with_data("actor.described", designations=[{"by": "US"}]),
        "data.designations[0].as",
        "is required",
    ),
    ("data not an object", example("control.changed", data=["HTS"]), "data", "must be an object"),
]


@pytest.mark.parametrize(
    ("raw", "field", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rejection_names_field_and_reason(raw: Any, field: str, reason: str) -> None:
    found = reasons(raw)
    assert field in found, f"expected an error on {field!r}, got {found}"
    assert reason in found[field]


def test_every_problem_is_reported_at_once() -> None:
    event = example("strike.reported", id="", notes="x" * 3000, occurred_at="2024-12-02")
    event["data"] = {"means": "laser", "killed": -2, "extra": 1}
    found = reasons(event)
    assert {"id", "notes", "data.means", "data.killed", "data.extra"} <= set(found)
    # a report dated before its event is one of them, not left for a second attempt
    assert "precedes the day" in found["reported_at"]


def test_the_error_carries_the_event_id_when_there_is_one() -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(with_data("strike.reported", means="laser"), now=NOW)
    assert caught.value.event_id == "seed-russian-strikes"
    assert "data.means: must be one of" in str(caught.value)


def test_a_denial_of_itself_is_reported_with_the_other_problems() -> None:
    event = with_data("claim.denied", event_id="seed-army-denies-hama")
    event["source"] = {"name": "Syrian army", "kind": "tank"}
    found = reasons(event)
    assert "cannot deny itself" in found["data.event_id"]
    assert "must be one of" in found["source.kind"]
