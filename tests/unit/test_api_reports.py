"""GET /v1/strikes, /v1/casualties, /v1/statements and /v1/events/{id}."""

from __future__ import annotations

import pytest

from sitrep.api import filters
from sitrep.api.answers import Answers
from sitrep.api.moments import parse_moment
from sitrep.contract import Event, encode_event, parse_event
from sitrep.views.moments import Asked
from sitrep.views.strikes import strikes
from tests.seeded import seed_events
from tests.unit.test_api_app import fed, problem, serving

DEC_2 = {"at": "2024-12-02"}


async def test_strikes_filter_by_perpetrator_alias_and_day() -> None:
    async with serving() as client:

        async def ids(**params: str) -> list[str]:
            body = (await client.get("/v1/strikes", params={**DEC_2, **params})).json()
            return [s["id"] for s in body["items"]]

        every = await ids()
        russian = await ids(actor="Russian air force")
        on_the_day = await ids(since="2024-11-30", until="2024-11-30")
        before = await ids(until="2024-11-29")
        in_aleppo = await ids(place="Aleppo")
    assert len(every) == 3
    assert len(russian) == 1
    assert on_the_day == every
    assert before == []
    assert [i for i in in_aleppo if "iranian-consulate" in i] == in_aleppo != []


async def test_casualties_are_ranges_per_party() -> None:
    async with serving() as client:
        body = (await client.get("/v1/casualties", params={**DEC_2, "actor": "Syrian army"})).json()
    [party] = body["items"]
    assert party["killed"]["low"] <= party["killed"]["high"]
    assert len(party["reports"]) == 2


async def test_statements_newest_first_and_by_speaker_or_actor() -> None:
    async with serving() as client:
        every = (await client.get("/v1/statements", params=DEC_2)).json()["items"]
        iran = (await client.get("/v1/statements", params={**DEC_2, "actor": "Iran"})).json()
    assert every[0]["event_id"] == "seed-000-araghchi-to-damascus"
    assert len(iran["items"]) == 3
    assert all("iran" in (s["actor"]["id"], s["speaker"]["id"]) for s in iran["items"])


async def test_an_event_as_published_and_what_became_of_it() -> None:
    async with serving() as client:
        applied = (await client.get("/v1/events/seed-000-aleppo-control-hts")).json()["view"]
        denied = (await client.get("/v1/events/seed-000-hama-army-withdrew")).json()["view"]
    assert applied["status"] == "applied"
    assert applied["event"]["data"]["controller"] == "Hayat Tahrir al-Sham"
    assert [c["status"] for c in applied["copies"]] == ["applied"]
    assert denied["status"] == "denied"
    assert "Syrian army" in denied["reason"]


async def test_a_second_report_of_a_capture_corroborates_the_first() -> None:
    async with serving() as client:
        fates = [
            (await client.get(f"/v1/events/{event_id}")).json()["view"]
            for event_id in (
                "seed-000-maraat-al-numan-captured",
                "seed-000-maarat-al-numan-caption",
            )
        ]
    assert sorted(f["status"] for f in fates) == ["applied", "corroborating"]


async def test_a_denial_not_known_yet_does_not_count() -> None:
    params = {"known_at": "2024-11-30T00:00:00Z"}
    async with serving() as client:
        fate = (await client.get("/v1/events/seed-000-hama-army-withdrew", params=params)).json()
    assert fate["view"]["status"] == "applied"


async def test_a_record_under_the_same_id_with_other_content_shows_as_a_conflict() -> None:
    events = list(seed_events())
    model = fed(events)
    other = events[0].model_copy(update={"notes": "edited and sent again"})
    model.apply(0, 1000, encode_event(other))
    model.apply(1, 1000, encode_event(events[0]))
    async with serving(model) as client:
        fate = (await client.get(f"/v1/events/{events[0].id}")).json()["view"]
    assert [c["status"] for c in fate["copies"]] == ["applied", "conflict", "duplicate"]
    assert fate["copies"][1]["reason"].endswith("in: notes")
    assert fate["event"].get("notes") == events[0].notes  # the first stands


async def test_an_answer_to_an_event_not_on_the_log_waits_for_it_and_then_applies() -> None:
    ahead = [
        a.model_copy(update={"data": a.data.model_copy(update={"event_id": "test-strike-99"})})
        for a in ANSWERS
    ]
    model = fed([*STRIKES, *ahead])
    async with serving(model) as client:
        waiting = [(await client.get(f"/v1/events/{a.id}")).json()["view"] for a in ahead]
    assert [f["status"] for f in waiting] == ["waiting", "waiting"]
    assert "'test-strike-99' is not on the log yet" in waiting[0]["reason"]
    model.apply(0, 10_000, encode_event(_strike(99, "2024-12-05", "Hama", "Russian air force")))
    async with serving(model) as client:
        after = [(await client.get(f"/v1/events/{a.id}")).json()["view"] for a in ahead]
    assert [f["status"] for f in after] == ["applied", "applied"]


async def test_republished_and_broken_records_are_accounted_for() -> None:
    events = list(seed_events())
    model = fed(events)
    model.apply(0, 1000, encode_event(events[0]))
    model.apply(1, 1000, b'{"id": "broken-1", "type": "strike.reported"}')
    model.apply(2, 1000, b"not json at all")
    async with serving(model) as client:
        copied = (await client.get(f"/v1/events/{events[0].id}")).json()["view"]
        broken = (await client.get("/v1/events/broken-1")).json()["view"]
        by_position = (await client.get("/v1/events/2@1000")).json()["view"]
        missing = await client.get("/v1/events/never-published")
    assert [c["status"] for c in copied["copies"]] == ["applied", "duplicate"]
    assert copied["status"] == "applied"
    assert broken["status"] == "rejected"
    assert broken["event"] is None
    assert "source" in broken["reason"]
    assert by_position["status"] == "rejected"
    problem(missing, 404)


async def test_strikes_in_a_region_named_in_arabic() -> None:
    async with serving() as client:

        async def ids(**params: str) -> list[str]:
            body = (await client.get("/v1/strikes", params={**DEC_2, **params})).json()
            return [s["id"] for s in body["items"]]

        by_name = await ids(admin1="Aleppo")
        in_arabic = await ids(admin1="حلب")
    assert by_name
    assert in_arabic == by_name


def _strike(n: int, day: str, town: str, perpetrator: str, **extra: object) -> Event:
    return parse_event(
        {
            "id": f"test-strike-{n}",
            "type": "strike.reported",
            "occurred_at": day,
            "reported_at": f"{day}T18:00:00Z",
            "source": {"name": "Reuters" if n % 2 else "SANA", "kind": "news_agency"},
            "location": {"name": town, "country": "SY"},
            "data": {"perpetrator": perpetrator, "means": "air", "killed": n},
            **extra,
        }
    )


STRIKES: list[Event] = [
    _strike(n, f"2024-12-0{1 + n % 4}", town, perpetrator)
    for n, (town, perpetrator) in enumerate(
        [(t, p) for t in ("Aleppo", "Hama", "Idlib") for p in ("Russian air force", "HTS")] * 2
    )
]
ANSWERS: list[Event] = [
    parse_event(
        {
            "id": "test-strike-denied",
            "type": "claim.denied",
            "occurred_at": "2024-12-06",
            "reported_at": "2024-12-06T10:00:00Z",
            "source": {"name": "TASS", "kind": "news_agency"},
            "data": {"event_id": "test-strike-3", "denied_by": "Russian air force"},
        }
    ),
    parse_event(
        {
            "id": "test-strike-retracted",
            "type": "event.retracted",
            "occurred_at": "2024-12-06",
            "reported_at": "2024-12-06T11:00:00Z",
            "source": {"name": "SANA", "kind": "news_agency"},
            "data": {"event_id": "test-strike-4", "reason": "wrong town"},
        }
    ),
]


def test_strikes_made_day_by_day_are_those_made_from_whole_ledgers() -> None:
    model = fed([*seed_events(), *STRIKES, *ANSWERS])
    situation = model.situation
    for at, known_at in [("2024-12-03", "2024-12-05"), ("2024-12-07", "2024-12-07")]:
        asked = Asked(parse_moment(at, day_end=True), parse_moment(known_at, day_end=True))
        answers = Answers(situation, asked)
        whole = sorted(
            (
                strike
                for key in situation.ledgers.keys_of("place:")
                for strike in strikes(situation.ledgers[key], answers.registry, asked)
            ),
            key=lambda s: (s.day, s.id),
        )
        assert len(whole) > 6
        assert answers.strikes == whole
        assert any(s.denials for s in whole) == (at == "2024-12-07")


async def test_strike_pages_followed_by_cursor_list_every_strike_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    params = {"at": "2024-12-07"}
    async with serving(fed([*seed_events(), *STRIKES, *ANSWERS])) as client:
        whole = (await client.get("/v1/strikes", params=params)).json()["items"]
        assert len(whole) > 6
        for limit, looks in [(2, 400), (5, 0)]:
            monkeypatch.setattr(filters, "LEAST_LOOKS", looks)
            monkeypatch.setattr(filters, "LOOKS_PER_ITEM", looks)
            found: list[dict[str, object]] = []
            cursor: str | None = None
            while True:
                query = {**params, "limit": str(limit), **({"cursor": cursor} if cursor else {})}
                page = (await client.get("/v1/strikes", params=query)).json()
                assert len(page["items"]) <= limit
                found += page["items"]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert found == whole
