"""The API's composition root: settings, the read model and the publisher, wired into FastAPI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import Depends, FastAPI
from starlette.middleware.cors import CORSMiddleware

from sitrep import __version__, loopprobe
from sitrep.api import problems
from sitrep.api.access import Access
from sitrep.api.asking import Clock, whole_second_after
from sitrep.api.authorize import may_read
from sitrep.api.background import cancel
from sitrep.api.encoding import ViewResponse
from sitrep.api.follower import ViewFollower
from sitrep.api.gate import PublishGate
from sitrep.api.lane import PlaceLane
from sitrep.api.limits import BodyLimit
from sitrep.api.metrics import ApiMetrics, MetricsMiddleware
from sitrep.api.parameters import only_known_parameters
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
from sitrep.api.routes.stream import Streams
from sitrep.api.security import SecurityHeaders
from sitrep.api.throttle import RateLimits
from sitrep.memory import FREEZE_EVERY_S, Ageing
from sitrep.publishing import Publisher
from sitrep.settings import Settings


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def age(model: ReadModel, in_flight: Callable[[], int], ageing: Ageing | None = None) -> None:
    """Hide what the read model folds and makes from the garbage collector as it goes: every
    ``FREEZE_EVERY_S`` what outlived a young collection (:class:`~sitrep.memory.Ageing`), so
    a full collection never walks the hundreds of thousands of objects the model keeps
    (frozen as they came, the longest collection while catching up with 100,000 events took
    ≈ 0.1 s; left in sight while the present was made after it, one took 0.58 s). Frozen
    objects are still freed when nothing refers to them.

    Once the model has caught up and made the present, a freeze waits for a moment when no
    request or stream is open (``in_flight``): their objects refer to each other (tasks,
    generators, exceptions) and only a collection frees them, so frozen while open they stay
    for good when they end (150 slow stream clients left 80-100 MB behind each time).
    """
    ageing = ageing or Ageing()
    skipped = False
    while True:
        await asyncio.sleep(FREEZE_EVERY_S)
        if not (model.caught_up and model.now.settled) or in_flight() == 0:
            # After skipped freezes, what the requests and streams of that while left behind
            # has aged past the young generations: all the unfrozen objects are collected
            # first (the frozen ones are not walked), or their cycles would be frozen now.
            ageing.tick(generation=2 if skipped else 1)
            skipped = False
        else:
            skipped = True


PRESENT_EVERY_S = 0.025
PRESENT_BUDGET_S = 0.05
"""How often the places due are made for the present, and for how long at most at a time."""


async def keep_present(
    model: ReadModel,
    clock: Clock,
    every_s: float = PRESENT_EVERY_S,
    budget_s: float = PRESENT_BUDGET_S,
) -> None:
    """Keep the read model's index of the present (:class:`~sitrep.api.now.NowIndex`) made,
    a slice at a time between requests, once the model has read the log it found (until then
    a busy place would be made again at each of its reports)."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(every_s)
        if not model.caught_up:
            continue
        at = whole_second_after(clock())
        model.now.expire(at)
        if model.now.due:
            began = loop.time()
            model.now.make(at, model.latest_report or at, budget_s)
            model.commit()
            # At most half the loop's time, however much is due, once serving (before,
            # requests about now wait for it, and /readyz keeps traffic away).
            await asyncio.sleep(loop.time() - began if model.now.settled else 0)


def create_api(
    settings: Settings,
    read_model: ReadModel,
    publisher: Publisher | None = None,
    *,
    clock: Clock = _utcnow,
    freeze_folded: bool = False,
) -> FastAPI:
    """The API app; its lifespan follows the event log and opens the publisher.

    ``publisher`` is made from ``settings`` when left out (and again whenever one fails to
    reach the broker): aiokafka makes its producer in the running event loop. ``clock`` is
    what "now" means when a request leaves out ``at`` or ``known_at``. ``freeze_folded``
    (for a process of its own, not in tests) hides what the read model folds from the garbage
    collector as it goes (:func:`age`).
    """
    names = settings.topics()
    access = Access.from_settings(settings)  # a bad token configuration fails here, at start
    measured = ApiMetrics(read_model)

    def make_publisher() -> Publisher:
        return Publisher(
            settings.bootstrap_servers(),
            topic=names.events,
            client_id="sitrep-api",
            request_timeout_ms=int(settings.api_publish_timeout_s * 1000),
        )

    gate = PublishGate(make_publisher, publisher)
    follower = ViewFollower(settings.bootstrap_servers(), names)  # starts on first use

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.loop_probe = loopprobe.start()  # None unless SITREP_LOOP_PROBE names a file
        await read_model.start(settings.bootstrap_servers(), names.events)
        await gate.try_open()
        freezing = (
            asyncio.create_task(age(read_model, lambda: measured.in_flight))
            if freeze_folded
            else None
        )
        present = asyncio.create_task(keep_present(read_model, clock), name="present")
        try:
            yield
        finally:
            await cancel(present)
            await cancel(freezing)
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
    app.state.answers = remembered = RememberedAnswers(read_model)
    app.state.gate = gate
    app.state.publish_timeout_s = settings.api_publish_timeout_s
    app.state.follower = follower
    app.state.streams = streams = Streams(
        settings.api_max_streams, settings.api_stream_backlog_bytes
    )
    measured.watch_streams(lambda: (streams.open, streams.dropped))
    app.state.clock = clock
    app.state.access = access
    app.state.metrics = measured
    problems.install(app)
    # Reading may need a token (SITREP_API_ANONYMOUS_READ); events.py guards its own routes.
    # No route ignores a query parameter it does not take (a misspelt filter filters nothing).
    known = Depends(only_known_parameters)
    for module in (places, actors, reports, situation, metrics, stream):
        app.include_router(module.router, dependencies=[Depends(may_read), known])
    for module in (events, health, subscribing):
        app.include_router(module.router, dependencies=[known])
    app.include_router(web.router)  # the map: static assets, public; its data calls are reads
    # The last middleware added is the outermost: the metrics count what the lane answers.
    app.add_middleware(PlaceLane, remembered=remembered, clock=clock, access=access)
    app.add_middleware(
        RateLimits,
        per_token=settings.api_rate_per_token or None,
        per_address=settings.api_rate_per_address or None,
        failures=settings.api_rate_refused_tokens or None,
    )
    app.add_middleware(MetricsMiddleware, metrics=measured)
    origins = settings.cors_origins()
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
            max_age=600,
        )
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app
