"""The API's composition root: settings, the read model and the publisher, wired into FastAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import Depends, FastAPI

from sitrep import __version__
from sitrep.api import problems
from sitrep.api.access import Access
from sitrep.api.asking import Clock
from sitrep.api.authorize import may_read
from sitrep.api.encoding import ViewResponse
from sitrep.api.follower import ViewFollower
from sitrep.api.gate import PublishGate
from sitrep.api.metrics import ApiMetrics, MetricsMiddleware
from sitrep.api.readmodel import ReadModel
from sitrep.api.remembered import RememberedAnswers
from sitrep.api.routes import (
    actors,
    events,
    health,
    metrics,
    places,
    reports,
    situation,
    stream,
    subscribing,
    web,
)
from sitrep.publishing import Publisher
from sitrep.settings import Settings


def _utcnow() -> datetime:
    return datetime.now(UTC)


PUBLISH_TIMEOUT_MS = 10_000
"""How long a POST waits for the broker before answering 503."""


def create_api(
    settings: Settings,
    read_model: ReadModel,
    publisher: Publisher | None = None,
    *,
    clock: Clock = _utcnow,
) -> FastAPI:
    """The API app; its lifespan follows the event log and opens the publisher.

    ``publisher`` is made from ``settings`` when left out (and again whenever one fails to
    reach the broker): aiokafka makes its producer in the running event loop. ``clock`` is
    what "now" means when a request leaves out ``at`` or ``known_at``.
    """
    names = settings.topics()
    access = Access.from_settings(settings)  # a bad token configuration fails here, at start
    measured = ApiMetrics(read_model)

    def make_publisher() -> Publisher:
        return Publisher(
            settings.bootstrap_servers(),
            topic=names.events,
            client_id="sitrep-api",
            request_timeout_ms=PUBLISH_TIMEOUT_MS,
        )

    gate = PublishGate(make_publisher, publisher)
    follower = ViewFollower(settings.bootstrap_servers(), names)  # starts on first use

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await read_model.start(settings.bootstrap_servers(), names.events)
        await gate.try_open()
        try:
            yield
        finally:
            await follower.stop()
            await gate.close()
            await read_model.stop()

    app = FastAPI(
        title="Sitrep",
        version=__version__,
        summary="Situation views as they stood at a moment, from what was known at another.",
        lifespan=lifespan,
        default_response_class=ViewResponse,
    )
    app.state.read_model = read_model
    app.state.answers = RememberedAnswers(read_model)
    app.state.gate = gate
    app.state.follower = follower
    app.state.clock = clock
    app.state.access = access
    app.state.metrics = measured
    problems.install(app)
    app.add_middleware(MetricsMiddleware, metrics=measured)
    # Reading may need a token (SITREP_API_ANONYMOUS_READ); events.py guards its own routes.
    for module in (places, actors, reports, situation, metrics, stream):
        app.include_router(module.router, dependencies=[Depends(may_read)])
    for module in (events, health, subscribing):
        app.include_router(module.router)
    app.include_router(web.router)  # the map: static assets, public; its data calls are reads
    return app
