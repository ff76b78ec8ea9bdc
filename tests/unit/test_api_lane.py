"""The fast lane of GET /v1/places/{place}: what it answers is byte for byte what the route
answers; whatever it does not answer (a token refused, a bad moment, an unknown place, an
unknown parameter) FastAPI answers as before."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from sitrep.api.access import Access
from sitrep.api.asking import whole_second_after
from sitrep.api.lane import PlaceLane
from sitrep.api.remembered import RememberedAnswers
from sitrep.settings import Settings
from sitrep.views.moments import Asked
from tests.unit.test_api_access import _as, _configured
from tests.unit.test_api_access import serving as serving_as
from tests.unit.test_api_app import NOW, fed, problem, serving

ROUTE_ONLY = {"Authorization": "Basic bm90OmJlYXJlcg=="}
"""Not a bearer token: the lane leaves the request to FastAPI, for which it is no token."""


async def _refuse(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError(f"the lane passed {scope['path']} on")


async def _passed_on(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 299, "headers": []})
    await send({"type": "http.response.body", "body": b"passed on"})


def _scope(path: str, query: str = "", headers: list[tuple[bytes, bytes]] | None = None) -> Any:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "root_path": "",
        "query_string": query.encode(),
        "headers": headers or [],
    }


async def _through(lane: PlaceLane, scope: Any) -> tuple[int, bytes]:
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    await lane(scope, receive, send)
    return sent[0]["status"], sent[1]["body"]


def _lane(settings: Settings | None = None, app: Any = _refuse, clock: Any = None) -> PlaceLane:
    return PlaceLane(
        app,
        remembered=RememberedAnswers(fed()),
        clock=clock or (lambda: NOW),
        access=Access.from_settings(settings or _configured()),
    )


async def test_the_lane_answers_what_the_route_answers_byte_for_byte() -> None:
    for query in ({"at": "2024-12-01"}, {}, {"known_at": "2024-11-30T12:00:00Z"}):
        async with serving() as client:
            lane = await client.get("/v1/places/Aleppo", params=query)
            route = await client.get("/v1/places/Aleppo", params=query, headers=ROUTE_ONLY)
        assert lane.status_code == route.status_code == 200
        assert lane.content == route.content
        assert lane.headers["content-type"] == route.headers["content-type"]


async def test_the_lane_encodes_as_the_views_are_encoded() -> None:
    remembered = RememberedAnswers(fed())
    answers = remembered.answers(Asked(datetime(2024, 12, 1, 23, 59, 59, 999999, UTC), NOW))
    expected = orjson.dumps(
        {
            "view": answers.place("Aleppo"),
            "asked": {"at": answers.asked.at, "known_at": NOW},
            "freshness": remembered.model.freshness(),
        }
    )
    status, body = await _through(_lane(), _scope("/v1/places/Aleppo", "at=2024-12-01"))
    assert (status, body) == (200, expected)


async def test_now_is_the_next_whole_second_and_the_answer_says_so() -> None:
    clock = datetime(2026, 1, 1, 12, 0, 0, 250_000, tzinfo=UTC)
    status, body = await _through(_lane(clock=lambda: clock), _scope("/v1/places/Aleppo"))
    assert status == 200
    assert orjson.loads(body)["asked"] == {
        "at": "2026-01-01T12:00:01+00:00",
        "known_at": clock.isoformat(),
    }
    assert whole_second_after(NOW) == NOW


async def test_the_lane_takes_a_readers_token_when_reading_is_closed() -> None:
    lane = _lane(_configured(api_anonymous_read=False))
    token = _as("rita")["Authorization"].encode()
    status, _ = await _through(lane, _scope("/v1/places/Hama", "", [(b"authorization", token)]))
    assert status == 200


async def test_what_the_lane_does_not_answer_it_passes_on() -> None:
    closed = _lane(_configured(api_anonymous_read=False), app=_passed_on)
    lane = _lane(app=_passed_on)
    publisher = [(b"authorization", _as("alice")["Authorization"].encode())]
    for through, scope in (
        (closed, _scope("/v1/places/Hama")),  # no token
        (closed, _scope("/v1/places/Hama", headers=publisher)),  # may not read
        (lane, _scope("/v1/places/Hama", headers=[(b"authorization", b"Bearer nobody")])),
        (lane, _scope("/v1/places/Hama", headers=[(b"authorization", b"Basic eDp5")])),
        (lane, _scope("/v1/places/Atlantis")),
        (lane, _scope("/v1/places/Hama", "at=yesterday")),
        (lane, _scope("/v1/places/Hama", "at=2024-12-01&at=2024-12-02")),
        (lane, _scope("/v1/places/Hama", "format=csv")),
        (lane, _scope("/v1/places/Hama/history")),
        (lane, _scope("/v1/places/")),
        (lane, _scope("/v1/places")),
        (lane, {**_scope("/v1/places/Hama"), "method": "POST"}),
    ):
        assert await _through(through, scope) == (299, b"passed on"), scope


async def test_fastapi_answers_what_the_lane_passes_on_as_before() -> None:
    async with serving_as(_configured(api_anonymous_read=False)) as client:
        anonymous = await client.get("/v1/places/Aleppo")
        publisher = await client.get("/v1/places/Aleppo", headers=_as("alice"))
        reader = await client.get("/v1/places/Aleppo", headers=_as("rita"))
    problem(anonymous, 401)
    problem(publisher, 403)
    assert reader.status_code == 200
    async with serving() as client:
        problem(await client.get("/v1/places/Atlantis"), 404)
        bad = problem(await client.get("/v1/places/Hama", params={"at": "yesterday"}), 422)
        assert [e["field"] for e in bad["errors"]] == ["at"]
