"""GET /v1/stream: the view changes as they happen, as server-sent events."""

from __future__ import annotations

import weakref
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import StreamingResponse

from sitrep.api.answers import Answers
from sitrep.api.asking import read_model
from sitrep.api.changes import (
    HEARTBEAT,
    KINDS,
    BadPosition,
    ChangeFilter,
    Position,
    sse_event,
    sse_message,
)
from sitrep.api.filters import Country
from sitrep.api.follower import BACKLOG_BYTES, Subscriber, Unavailable, ViewFollower
from sitrep.api.problems import Problem, invalid_parameter
from sitrep.views.moments import Asked

router = APIRouter(prefix="/v1", tags=["stream"])

HEARTBEAT_S = 15.0
"""How often a quiet stream sends a comment, so proxies and clients know it is alive."""
READY_WITHIN_S = 10.0
"""How long a new client waits for the follower to reach the view topics before a 503."""

EVENT_STREAM = "text/event-stream"


def _filter(
    request: Request,
    kind: list[str] | None,
    country: str | None,
    admin1: str | None,
    place: str | None,
    actor: str | None,
) -> ChangeFilter:
    unknown = sorted(set(kind or ()) - set(KINDS))
    if unknown:
        raise invalid_parameter("kind", f"{', '.join(unknown)}: not one of {', '.join(KINDS)}")
    now = request.app.state.clock()
    answers = Answers(read_model(request).situation, Asked(now, now))
    places: frozenset[str] | None = None
    if place is not None:
        # A place not reported yet is still worth following: fall back to the gazetteer.
        found = answers.place_ids(place) or {p.id for p in answers.situation.gazetteer.find(place)}
        places = frozenset(found or {place})
    countries = {a.id: a.country for a in answers.registry.actors.values() if a.country}
    return ChangeFilter(
        kinds=frozenset(kind or KINDS),
        country=country,
        admin1=answers.region_name(admin1, country) if admin1 is not None else None,
        places=places,
        actor=answers.actor_id(actor) if actor is not None else None,
        countries_of_actors=countries,
    )


def _start(last_event_id: str | None, header: str | None) -> Position | None:
    """Where the client resumes, ``None`` when it does not."""
    resume, name = (header, "Last-Event-ID") if header else (last_event_id, "last_event_id")
    if resume:
        try:
            return Position.decode(resume)
        except BadPosition as exc:
            raise invalid_parameter(name, str(exc)) from exc
    return None


STREAMS_FULL_RETRY_S = 30


@dataclass
class Streams:
    """How many clients follow the stream, of ``most`` at once: each holds a backlog of at
    most ``backlog_bytes`` and, while it catches up, a consumer of its own."""

    most: int
    backlog_bytes: int = BACKLOG_BYTES
    open: int = 0
    dropped: int = 0
    """Clients let go so far for falling too far behind."""

    def subscriber(self) -> Subscriber:
        return Subscriber(limit_bytes=self.backlog_bytes, on_drop=self._count_drop)

    def _count_drop(self) -> None:
        self.dropped += 1

    def counted(self, body: AsyncGenerator[bytes, None]) -> AsyncGenerator[bytes, None]:
        """``body``, counted as open from now (not from its first message: the answer's
        head goes out before) until it ends, its client leaves, or it is dropped unread."""
        self.open += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.open -= 1

        async def following() -> AsyncGenerator[bytes, None]:
            try:
                async with aclosing(body) as messages:
                    async for message in messages:
                        yield message
            finally:
                release()

        wrapped = following()
        weakref.finalize(wrapped, release)  # a stream never read is counted out too
        return wrapped


async def _changes(
    follower: ViewFollower,
    start: Position | None,
    wanted: ChangeFilter,
    subscriber: Subscriber,
) -> AsyncGenerator[bytes, None]:
    """The changes from ``start`` on (None: each view as it stands, then the changes)."""
    try:
        async with aclosing(_follow(follower, start, wanted, subscriber)) as messages:
            async for message in messages:
                yield message
    except Unavailable as exc:
        yield sse_event("unavailable", {"reason": str(exc)})


async def _follow(
    follower: ViewFollower, start: Position | None, wanted: ChangeFilter, subscriber: Subscriber
) -> AsyncGenerator[bytes, None]:
    if start is None:
        target = follower.position
        async with aclosing(follower.current(target)) as current:
            async for change in current:
                if wanted.wants(change):
                    yield sse_message(change, target)
        start = target
    position = start
    # Catch up with the follower, from the changes it keeps in memory when they reach back
    # far enough (a client that just connected, or reconnects soon), else on a consumer of
    # its own; then join it: the check and the subscription happen with no await between
    # them, so no change falls in the gap.
    while not position.reached(follower.position):
        target = follower.position
        recent = follower.recent(position)
        if recent is not None:
            for change in recent:
                position = position.after(change.slot, change.offset)
                if wanted.wants(change):
                    yield sse_message(change, position)
            position = position.merged(target)
            continue
        async with aclosing(follower.replay(position, target)) as replayed:
            async for change in replayed:
                if change.offset < position.next_offset(change.slot):
                    continue
                position = position.after(change.slot, change.offset)
                if wanted.wants(change):
                    yield sse_message(change, position)
        position = position.merged(target)
    follower.subscribe(subscriber)
    try:
        while True:
            live = await subscriber.next(HEARTBEAT_S)
            if live is None and subscriber.dropped:
                reason = "this client fell too far behind; reconnect with Last-Event-ID"
                yield sse_event("dropped", {"reason": reason})
                return
            if live is None:
                yield HEARTBEAT
                continue
            if live.offset < position.next_offset(live.slot):
                continue
            position = position.after(live.slot, live.offset)
            if wanted.wants(live):
                yield sse_message(live, position)
    finally:
        follower.unsubscribe(subscriber)


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {EVENT_STREAM: {"schema": {"type": "string"}}},
            "description": "Server-sent events: `event` is the view kind, `id` where to resume, "
            "`data` `{kind, key, value}` (value null when the entity is gone).",
        }
    },
)
async def stream(
    request: Request,
    kind: Annotated[
        list[str] | None, Query(description=f"View kinds to follow: {', '.join(KINDS)}.")
    ] = None,
    country: Country = None,
    admin1: Annotated[str | None, Query(description="First-level region, any spelling.")] = None,
    place: Annotated[str | None, Query(description="A place (and what lies in it).")] = None,
    actor: Annotated[
        str | None, Query(description="Controller, perpetrator, party, speaker or actor.")
    ] = None,
    origin: Annotated[
        Literal["end", "beginning"],
        Query(
            alias="from",
            description="Without a position to resume from: only new changes "
            "(end), or each entity's current view once first (beginning; every message of "
            "that first part carries the position it ends at).",
        ),
    ] = "end",
    last_event_id: Annotated[
        str | None, Query(description="Resume after this event id (as the header does).")
    ] = None,
    last_event_id_header: Annotated[
        str | None, Header(alias="Last-Event-ID", include_in_schema=False)
    ] = None,
) -> StreamingResponse:
    """View changes as they happen, filtered like the lists; resumable with Last-Event-ID."""
    wanted = _filter(request, kind, country, admin1, place, actor)
    start = _start(last_event_id, last_event_id_header)
    follower: ViewFollower = request.app.state.follower
    streams: Streams = request.app.state.streams
    if streams.open >= streams.most:
        raise Problem(
            503,
            "Too many streams",
            f"{streams.most} clients follow the stream already: retry later",
            headers={"Retry-After": str(STREAMS_FULL_RETRY_S)},
        )
    try:
        now = await follower.started(READY_WITHIN_S)
    except Unavailable as exc:
        raise Problem(503, "Unavailable", str(exc), headers={"Retry-After": "1"}) from exc
    if start is None and origin == "end":
        start = now
    body = streams.counted(_changes(follower, start, wanted, streams.subscriber()))
    return StreamingResponse(
        body,
        media_type=EVENT_STREAM,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
