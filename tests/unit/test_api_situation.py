"""GET /v1/situation: a region at a glance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sitrep.api.answers import Answers
from sitrep.views.moments import Asked
from tests.unit.test_api_app import fed, serving


async def situation(**params: str) -> dict[str, Any]:
    async with serving() as client:
        response = await client.get("/v1/situation", params=params)
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()["view"]
    return view


async def test_the_day_after_the_offensive_reached_aleppo() -> None:
    view = await situation(at="2024-12-01", country="SY")
    holders = {h["actor"]["name"]: h["places"] for h in view["holders"]}
    assert "sy-aleppo" in holders["Hayat Tahrir al-Sham"]
    assert any(
        c["place_id"] == "sy-aleppo" and c["change"]["controller"]["name"] == "Hayat Tahrir al-Sham"
        for c in view["recent_changes"]
    )
    assert all(c["change"]["method"] != "baseline" for c in view["recent_changes"])
    hama = next(u for u in view["unsettled"] if u["place_id"] == "sy-hama")
    assert hama["status"] == "disputed"
    assert "Syrian army" in hama["reasons"][0]
    assert len(view["strikes"]) == 3
    assert view["casualties"]
    # In a country's situation, the statements of actors of that country.
    assert view["statements"][0]["event_id"] == "seed-000-assad-vows-to-defeat-terrorists"
    assert all(s["actor"]["id"] != "iran" for s in view["statements"])


async def test_a_week_later_nothing_is_recent() -> None:
    view = await situation(at="2024-12-09", country="SY")
    assert view["recent_changes"] == []
    assert view["strikes"] == []
    assert view["holders"]


async def test_before_the_offensive_the_government_holds_the_city() -> None:
    view = await situation(at="2024-11-26", admin1="Aleppo")
    holders = {h["actor"]["name"]: h["places"] for h in view["holders"]}
    assert set(holders) == {"Syrian government", "Syrian Democratic Forces"}
    assert "sy-aleppo" in holders["Syrian government"]
    assert view["unsettled"] == []


def test_the_strikes_of_a_few_days_are_those_of_all_time_on_those_days() -> None:
    model = fed()
    asked = Asked(datetime(2024, 12, 10, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    every = Answers(model.situation, asked).strikes
    assert every
    for since, until in (
        (datetime(2024, 11, 30, 12, tzinfo=UTC), datetime(2024, 12, 1, 12, tzinfo=UTC)),
        (datetime(2024, 12, 1, 2, tzinfo=timezone(timedelta(hours=3))), asked.at),
        (datetime(2024, 1, 1, tzinfo=UTC), asked.at),
        (datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC)),
    ):
        first, last = since.astimezone(UTC).date(), until.astimezone(UTC).date()
        fresh = Answers(model.situation, asked)
        assert fresh.strikes_between(since, until) == [s for s in every if first <= s.day <= last]
