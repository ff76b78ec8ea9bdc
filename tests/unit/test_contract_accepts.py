"""The contract accepts every valid form of every event type, and keeps what it was given."""

from __future__ import annotations

from datetime import UTC, date, datetime

import orjson
import pytest

from sitrep.contract import (
    CURRENT_SCHEMA_VERSION,
    EVENT_TYPES,
    encode_event,
    event_key,
    parse_event,
)
from sitrep.contract.values import CountRange
from tests.examples import BY_TYPE, example, with_data

NOW = datetime(2024, 12, 5, tzinfo=UTC)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_type_parses_and_round_trips(event_type: str) -> None:
    event = parse_event(orjson.dumps(BY_TYPE[event_type]), now=NOW)
    assert event.type == event_type
    again = parse_event(encode_event(event), now=NOW)
    assert again == event
    assert orjson.loads(encode_event(again)) == orjson.loads(encode_event(event))


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_encoding_keeps_every_field_published(event_type: str) -> None:
    raw = BY_TYPE[event_type]
    encoded = orjson.loads(encode_event(parse_event(raw, now=NOW)))
    assert encoded.pop("schema_version") == CURRENT_SCHEMA_VERSION
    if event_type == "control.changed":
        assert encoded["data"]["method"] == raw["data"]["method"]
    assert encoded == raw


@pytest.mark.parametrize(
    "event_type", ["statement.issued", "claim.denied", "event.retracted", "actor.described"]
)
def test_location_is_optional_for_types_not_about_a_place(event_type: str) -> None:
    event = example(event_type)
    event.pop("location", None)
    assert parse_event(event, now=NOW).location is None


def test_a_casualty_figure_may_name_no_place_from_version_2() -> None:
    """A toll for a whole offensive or country has no one place."""
    event = example("casualties.reported")
    event.pop("location")
    parsed = parse_event(event, now=NOW)
    assert (parsed.location, parsed.schema_version) == (None, 2)
    assert "location" not in orjson.loads(encode_event(parsed))


def test_an_event_of_version_1_stays_valid_and_of_version_1() -> None:
    for event_type in EVENT_TYPES:
        event = parse_event(example(event_type, schema_version=1), now=NOW)
        assert orjson.loads(encode_event(event))["schema_version"] == 1


def test_counts_are_exact_numbers_or_ranges() -> None:
    exact = parse_event(with_data("strike.reported", killed=12, wounded=0), now=NOW)
    assert exact.data.killed == 12  # type: ignore[union-attr]
    assert exact.data.wounded == 0  # type: ignore[union-attr]
    ranged = parse_event(
        with_data("strike.reported", killed={"low": 300, "best": 320, "high": 400}), now=NOW
    )
    assert ranged.data.killed == CountRange(low=300, best=320, high=400)  # type: ignore[union-attr]
    open_ended = parse_event(with_data("strike.reported", killed={"low": 300}), now=NOW)
    assert open_ended.data.killed == CountRange(low=300)  # type: ignore[union-attr]


def test_occurred_at_is_a_day_or_an_instant() -> None:
    day = parse_event(example("control.changed", occurred_at="2024-11-30"), now=NOW)
    assert day.occurred_at == date(2024, 11, 30)
    assert day.occurred_precision == "day"
    instant = parse_event(
        example("control.changed", occurred_at="2024-11-30T14:05:00+03:00"), now=NOW
    )
    assert instant.occurred_precision == "instant"
    assert instant.occurred_at == datetime(2024, 11, 30, 11, 5, tzinfo=UTC)


def test_a_report_may_come_from_a_zone_already_in_the_next_day() -> None:
    # 08:00 on 30 Nov in UTC+10 is still 29 Nov in UTC, but the same calendar day as the event.
    event = example("control.changed", occurred_at="2024-11-30")
    event["reported_at"] = "2024-11-30T08:00:00+10:00"
    assert parse_event(event, now=NOW).id == event["id"]


def test_reported_at_within_clock_skew_is_accepted() -> None:
    event = example("control.changed", reported_at="2024-12-05T00:04:00Z")
    assert parse_event(event, now=NOW).reported_at.minute == 4


def test_replays_without_a_clock_accept_what_was_valid_when_published() -> None:
    event = example("control.changed", reported_at="2030-01-01T00:00:00Z")
    assert parse_event(event).reported_at.year == 2030


def test_country_codes_are_normalised_to_upper_case() -> None:
    event = example("control.changed")
    event["location"] = {**event["location"], "country": "sy"}
    assert parse_event(event, now=NOW).location.country == "SY"  # type: ignore[union-attr]


def test_text_is_trimmed() -> None:
    event = with_data("control.changed", controller="  HTS \n")
    assert parse_event(event, now=NOW).data.controller == "HTS"  # type: ignore[union-attr]


def test_denials_and_retractions_are_keyed_by_the_event_they_concern() -> None:
    denial = parse_event(BY_TYPE["claim.denied"], now=NOW)
    assert event_key(denial) == b"seed-hama-withdrawal"
    retraction = parse_event(BY_TYPE["event.retracted"], now=NOW)
    assert event_key(retraction) == b"seed-aleppo-clash"
    fact = parse_event(BY_TYPE["strike.reported"], now=NOW)
    assert event_key(fact) == b"seed-russian-strikes"


def test_events_are_immutable() -> None:
    event = parse_event(BY_TYPE["control.changed"], now=NOW)
    with pytest.raises(ValueError, match="frozen"):
        event.id = "other"  # type: ignore[misc]


def test_unicode_place_names_are_kept_as_written() -> None:
    event = example("control.changed")
    event["location"] = {"name": "Ma‘arrat an Nu‘mān", "country": "SY"}
    encoded = encode_event(parse_event(event, now=NOW))
    assert "Ma‘arrat an Nu‘mān" in encoded.decode()
