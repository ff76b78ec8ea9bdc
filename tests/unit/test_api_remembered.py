"""Answers remembered between requests: reused while the log has not moved, recomputed once
it has, and never for a different question."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from sitrep.api.remembered import RememberedAnswers
from sitrep.contract import encode_event, parse_event
from sitrep.views.moments import Asked
from tests.examples import example
from tests.unit.test_api_app import NOW, fed, serving

DEC_1 = datetime(2024, 12, 1, 23, 59, tzinfo=UTC)

RETAKEN = example(
    "control.changed",
    id="test-aleppo-retaken",
    occurred_at="2024-12-01T06:00:00Z",
    reported_at="2024-12-01T20:00:00Z",
    data={
        "controller": "Syrian government",
        "previous_controller": "Hayat Tahrir al-Sham",
        "method": "retaken",
    },
)


def test_the_same_moment_asked_again_is_answered_from_memory() -> None:
    remembered = RememberedAnswers(fed())
    first = remembered.answers(Asked(DEC_1, NOW))
    assert remembered.answers(Asked(DEC_1, NOW)) is first
    assert remembered.answers(Asked(DEC_1, datetime(2024, 11, 1, tzinfo=UTC))) is not first


def test_any_known_at_after_the_latest_report_is_the_same_question() -> None:
    remembered = RememberedAnswers(fed())
    first = remembered.answers(Asked(DEC_1, NOW))
    assert remembered.answers(Asked(DEC_1, datetime(2030, 1, 1, tzinfo=UTC))) is first


def test_a_new_record_on_the_log_makes_the_answers_be_computed_again() -> None:
    model = fed()
    remembered = RememberedAnswers(model)
    before = remembered.answers(Asked(DEC_1, NOW))
    held = before.place("Aleppo")
    assert held is not None
    assert held.controller is not None
    assert held.controller.name == "Hayat Tahrir al-Sham"

    model.apply(0, model.freshness().position["0"], encode_event(parse_event(RETAKEN)))
    after = remembered.answers(Asked(DEC_1, NOW))
    assert after is not before
    retaken = after.place("Aleppo")
    assert retaken is not None
    assert retaken.controller is not None
    assert retaken.controller.name == "Syrian government"


def test_only_the_latest_moments_are_kept() -> None:
    remembered = RememberedAnswers(fed(), size=2)
    first = remembered.answers(Asked(DEC_1, NOW))
    for day in (2, 3):
        remembered.answers(Asked(datetime(2024, 12, day, tzinfo=UTC), NOW))
    assert remembered.answers(Asked(DEC_1, NOW)) is not first


async def test_the_api_answers_from_the_log_as_it_is_now_not_as_remembered() -> None:
    model = fed()
    params = {"at": "2024-12-01"}
    async with serving(model) as client:
        before = (await client.get("/v1/places/Aleppo", params=params)).json()
        again = (await client.get("/v1/places/Aleppo", params=params)).json()
        model.apply(0, model.freshness().position["0"], encode_event(parse_event(RETAKEN)))
        after = (await client.get("/v1/places/Aleppo", params=params)).json()
    assert again == before
    assert before["view"]["controller"]["name"] == "Hayat Tahrir al-Sham"
    assert after["view"]["controller"]["name"] == "Syrian government"
    assert after["freshness"]["position"]["0"] == before["freshness"]["position"]["0"] + 1
    # What was asked is said as asked, whatever question the answers were remembered for.
    assert after["asked"]["known_at"] == NOW.isoformat()


def test_now_is_kept_apart_and_only_the_latest() -> None:
    remembered = RememberedAnswers(fed(), size=1)
    asked = remembered.answers(Asked(DEC_1, NOW))
    now = remembered.answers(Asked(NOW, NOW), now=True)
    assert remembered.answers(Asked(NOW, NOW), now=True) is now
    assert remembered.answers(Asked(DEC_1, NOW)) is asked  # "now" took nobody's place
    later = remembered.answers(Asked(NOW + timedelta(seconds=1), NOW), now=True)
    assert later is not now
    assert remembered.answers(Asked(NOW, NOW), now=True) is not now


def test_encoded_views_are_kept_with_their_answers() -> None:
    remembered = RememberedAnswers(fed())
    answers = remembered.answers(Asked(DEC_1, NOW))
    computed: list[str] = []

    def aleppo() -> object:
        computed.append("Aleppo")
        return answers.place("Aleppo")

    first = answers.encoded(("place", "Aleppo"), aleppo)
    again = remembered.answers(Asked(DEC_1, NOW)).encoded(("place", "Aleppo"), aleppo)
    assert first is not None
    assert again is first
    assert computed == ["Aleppo"]
    assert orjson.loads(first)["place"]["name"] == "Aleppo"
    assert answers.encoded(("place", "Atlantis"), lambda: answers.place("Atlantis")) is None
