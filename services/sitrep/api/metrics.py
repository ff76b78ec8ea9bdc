"""The API's Prometheus metrics: requests, latency, the read model, publishing.

Each app has its own registry (not prometheus_client's global one), so two apps in one
process, as in the tests, count apart. The read model's figures are read when scraped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Literal

from fastapi import Request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sitrep.api.readmodel import ReadModel

Outcome = Literal["accepted", "duplicate", "conflict", "rejected", "unavailable"]
UNMATCHED = "<unmatched>"
"""The route label of requests no route matched: raw paths would make a label per URL."""


class _ReadModelCollector(Collector):
    def __init__(self, model: ReadModel) -> None:
        self._model = model

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "sitrep_readmodel_events_folded",
            "Events the read model folded (duplicates and bad records not counted).",
            value=self._model.folded,
        )
        yield CounterMetricFamily(
            "sitrep_readmodel_records_rejected",
            "Records the read model skipped: they break the contract or cannot be folded.",
            value=self._model.rejected,
        )
        yield GaugeMetricFamily(
            "sitrep_readmodel_lag_records",
            "Records on the event log the read model has not folded yet.",
            value=self._model.behind(),
        )
        reached = self._model.reached_at
        yield GaugeMetricFamily(
            "sitrep_readmodel_log_reached_seconds",
            "When the event log last answered the read model (Unix time; 0: not yet).",
            value=reached.timestamp() if reached is not None else 0.0,
        )


class _StreamsCollector(Collector):
    def __init__(self, counts: Callable[[], tuple[int, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        following, dropped = self._counts()
        yield GaugeMetricFamily(
            "sitrep_stream_clients", "Clients following GET /v1/stream now.", value=following
        )
        yield CounterMetricFamily(
            "sitrep_stream_clients_dropped",
            "Stream clients let go because they fell too far behind.",
            value=dropped,
        )


class ApiMetrics:
    """One app's metrics, in its own registry."""

    def __init__(self, model: ReadModel) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "sitrep_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "sitrep_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ["route", "method"],
            registry=self.registry,
        )
        self.published = Counter(
            "sitrep_publish_events",
            "Events posted to the API, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in ("accepted", "duplicate", "rejected", "unavailable"):
            self.published.labels(outcome)  # every outcome shows, at zero until it happens
        self.registry.register(_ReadModelCollector(model))
        self.in_flight = 0
        """HTTP requests being answered now, streams included."""
        Gauge(
            "sitrep_http_requests_in_flight",
            "HTTP requests being answered now, streams included.",
            registry=self.registry,
        ).set_function(lambda: self.in_flight)

    def watch_streams(self, counts: Callable[[], tuple[int, int]]) -> None:
        """Report the stream's clients: ``counts`` says how many follow it and how many were
        dropped so far."""
        self.registry.register(_StreamsCollector(counts))

    def count_published(self, outcome: Outcome, events: int) -> None:
        if events:
            self.published.labels(outcome).inc(events)


def metrics_of(request: Request) -> ApiMetrics:
    found: ApiMetrics = request.app.state.metrics
    return found


class MetricsMiddleware:
    """Counts and times every HTTP request (ASGI, so streamed answers pass through as is)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics
        # The labelled children, found once: ``labels()`` takes a lock and checks its
        # arguments at every call, a noticeable part of what a cheap request costs.
        self._counted: dict[tuple[str, str, str], Counter] = {}
        self._timed: dict[tuple[str, str], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client gets when the app raises before answering
        started = time.perf_counter()
        self.metrics.in_flight += 1

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.in_flight -= 1
            # The router leaves the route it matched in the scope; its path is the template.
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope["method"]
            elapsed = time.perf_counter() - started
            outcome = (route, method, str(status))
            counted = self._counted.get(outcome)
            if counted is None:
                counted = self._counted[outcome] = self.metrics.requests.labels(*outcome)
            counted.inc()
            timed = self._timed.get((route, method))
            if timed is None:
                timed = self._timed[route, method] = self.metrics.latency.labels(route, method)
            timed.observe(elapsed)
