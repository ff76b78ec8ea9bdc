"""GET /metrics: the API's requests, the read model's progress and publish outcomes, in the
Prometheus text format, counted per app."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from sitrep.contract import encode_event
from tests.seeded import seed_events
from tests.unit.test_api_app import fed, serving


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def _scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return _samples(response.text)


def _labels(**labels: str) -> frozenset[tuple[str, str]]:
    return frozenset(labels.items())


async def test_requests_are_counted_by_route_template_and_status() -> None:
    async with serving() as client:
        for place in ("Aleppo", "Hama"):
            assert (await client.get(f"/v1/places/{place}")).status_code == 200
        await client.get("/v1/nowhere")
        samples = await _scrape(client)
    place = "/v1/places/{place}"
    assert (
        samples["sitrep_http_requests_total", _labels(route=place, method="GET", status="200")] == 2
    )
    unmatched = _labels(route="<unmatched>", method="GET", status="404")
    assert samples["sitrep_http_requests_total", unmatched] == 1
    assert (
        samples["sitrep_http_request_duration_seconds_count", _labels(route=place, method="GET")]
        == 2
    )


async def test_the_read_model_reports_what_it_folded_rejected_and_lags() -> None:
    events = list(seed_events())
    model = fed(events)
    model.apply(0, 10_000, b"{not an event")
    model.apply(1, 10_000, encode_event(events[0]))  # a duplicate: neither folded nor rejected
    model.note_ends({2: model.freshness().position["2"] + 4})
    async with serving(model) as client:
        samples = await _scrape(client)
    assert samples["sitrep_readmodel_events_folded_total", frozenset()] == len(events)
    assert samples["sitrep_readmodel_records_rejected_total", frozenset()] == 1
    assert samples["sitrep_readmodel_lag_records", frozenset()] == 4


async def test_publish_outcomes_are_counted_per_event() -> None:
    seed = [e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in seed_events()]
    fresh = {**seed[0], "id": "not-on-the-log-yet"}
    async with serving() as client:
        await client.post("/v1/events", json=[seed[0], seed[1], {"id": "bad"}])
        await client.post("/v1/events", json=[fresh])  # no broker: a 503
        samples = await _scrape(client)
    outcomes = {
        outcome: samples["sitrep_publish_events_total", _labels(outcome=outcome)]
        for outcome in ("accepted", "duplicate", "rejected", "unavailable")
    }
    assert outcomes == {"accepted": 0, "duplicate": 2, "rejected": 1, "unavailable": 1}


async def test_each_app_counts_its_own_requests() -> None:
    async with serving() as first:
        await first.get("/healthz")
        async with serving() as second:
            counted = await _scrape(second)
    assert (
        "sitrep_http_requests_total",
        _labels(route="/healthz", method="GET", status="200"),
    ) not in counted


async def test_stream_clients_following_and_dropped_are_reported() -> None:
    from collections.abc import AsyncGenerator
    from dataclasses import replace

    from prometheus_client import generate_latest

    from sitrep.api.metrics import ApiMetrics
    from sitrep.api.routes.stream import Streams
    from tests.unit.test_api_stream import ALEPPO, HTS, control

    async def messages() -> AsyncGenerator[bytes, None]:
        yield b"one"

    streams = Streams(most=5, backlog_bytes=100)
    measured = ApiMetrics(fed([]))
    measured.watch_streams(lambda: (streams.open, streams.dropped))
    following = streams.counted(messages())
    slow = streams.subscriber()
    for offset in range(3):
        slow.offer(replace(control(ALEPPO, HTS, offset), size=60))  # the second is too many
    samples = _samples(generate_latest(measured.registry).decode())
    assert samples["sitrep_stream_clients", frozenset()] == 1
    assert samples["sitrep_stream_clients_dropped_total", frozenset()] == 1
    await following.aclose()
