"""GET /v1/situation: a region at a glance."""

from __future__ import annotations

from typing import Any

from tests.unit.test_api_app import serving


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
