"""GET /v1/actors and /v1/actors/{actor}: one actor by any of its names."""

from __future__ import annotations

from tests.unit.test_api_app import problem, serving


async def test_hts_and_nusra_front_are_one_actor() -> None:
    async with serving() as client:
        hts = (await client.get("/v1/actors/HTS")).json()["view"]
        nusra = (await client.get("/v1/actors/Nusra Front")).json()["view"]
        by_id = (await client.get(f"/v1/actors/{hts['id']}")).json()["view"]
    assert hts == nusra == by_id
    assert hts["name"] == "Hayat Tahrir al-Sham"


async def test_an_actor_lists_the_places_it_holds_as_asked() -> None:
    async with serving() as client:
        before = (await client.get("/v1/actors/HTS", params={"at": "2024-11-26"})).json()
        after = (await client.get("/v1/actors/HTS", params={"at": "2024-12-01"})).json()
    assert {p["place_id"] for p in before["view"]["controls"]} == {"sy-idlib"}
    assert {p["place_id"] for p in after["view"]["controls"]} >= {"sy-idlib", "sy-aleppo"}


async def test_actors_list_every_described_actor() -> None:
    async with serving() as client:
        body = (await client.get("/v1/actors", params={"limit": "1000"})).json()
    names = {a["name"] for a in body["items"]}
    assert {"Hayat Tahrir al-Sham", "Syrian Democratic Forces"} <= names
    assert body["next_cursor"] is None


async def test_an_unknown_actor_is_a_404_problem() -> None:
    async with serving() as client:
        problem(await client.get("/v1/actors/Nobody at all"), 404)
