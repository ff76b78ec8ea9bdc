"""What every read request shares: the moment asked, the answers for it, and the envelope."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import Query, Request
from starlette.responses import Response

from sitrep.api.answers import Answers
from sitrep.api.encoding import GEOJSON, ViewResponse
from sitrep.api.moments import EXPECTED, BadMoment, parse_moment
from sitrep.api.paging import Page
from sitrep.api.problems import Problem, invalid_parameter
from sitrep.api.readmodel import Freshness, ReadModel
from sitrep.api.remembered import RememberedAnswers
from sitrep.views.moments import Asked

Clock = Callable[[], datetime]

INLINE_BUDGET_S = 0.05
"""How long a request about the present may spend making what the index of the present has
not made yet (the background makes it a slice at a time), before it is answered otherwise."""

AT = (
    f"The situation as it stood at this moment: {EXPECTED}; a date means its end. "
    "Default: now, rounded up to the whole second (the answer's `asked.at` says which)."
)
KNOWN_AT = f"From the reports published by this moment: {EXPECTED}. Default: now."


def moment_param(name: str, value: str | None, *, day_end: bool) -> datetime | None:
    """A moment given as a query parameter, or a 422 naming the parameter and why."""
    if value is None:
        return None
    try:
        return parse_moment(value, day_end=day_end)
    except BadMoment as exc:
        raise invalid_parameter(name, str(exc)) from exc


def read_model(request: Request) -> ReadModel:
    model: ReadModel = request.app.state.read_model
    return model


@dataclass(frozen=True)
class Asking:
    """One read request: the moment asked, the views for it, and how fresh they are."""

    asked: Asked
    """As the request asked (the answers may be remembered from an equivalent question)."""
    answers: Answers
    freshness: Freshness
    present: bool = False
    """Whether the request asked about now (left ``at`` out)."""

    def indexed(self, model: ReadModel) -> bool:
        """Whether the read model's index of the present answers this request
        (:meth:`~sitrep.api.now.NowIndex.ready`)."""
        return model.now.ready(
            self.answers.asked, model.latest_report, present=self.present, budget_s=INLINE_BUDGET_S
        )

    def envelope(self) -> dict[str, Any]:
        return {
            "asked": {"at": self.asked.at, "known_at": self.asked.known_at},
            "freshness": self.freshness,
        }

    def one(self, view: Any) -> ViewResponse:
        return ViewResponse({"view": view, **self.envelope()})

    def one_encoded(self, view: bytes) -> Response:
        """:meth:`one` for a view encoded already (:meth:`Answers.encoded`): the same bytes."""
        return Response(self.one_body(view), media_type=ViewResponse.media_type)

    def one_body(self, view: bytes) -> bytes:
        asked = orjson.dumps({"at": self.asked.at, "known_at": self.asked.known_at})
        freshness = orjson.dumps(self.freshness)
        return b'{"view":' + view + b',"asked":' + asked + b',"freshness":' + freshness + b"}"

    def listing_encoded(self, page: bytes) -> Response:
        """:meth:`listing` for a page encoded already (:func:`encoded_page`): the same bytes."""
        asked = orjson.dumps({"at": self.asked.at, "known_at": self.asked.known_at})
        freshness = orjson.dumps(self.freshness)
        body = page[:-1] + b',"asked":' + asked + b',"freshness":' + freshness + b"}"
        return Response(body, media_type=ViewResponse.media_type)

    def features_encoded(self, collection: bytes) -> Response:
        """A GeoJSON FeatureCollection encoded already (:func:`sitrep.api.encoding.feature_collection`),
        with the moment asked and the freshness of this request."""
        asked = orjson.dumps({"at": self.asked.at, "known_at": self.asked.known_at})
        freshness = orjson.dumps(self.freshness)
        body = collection[:-1] + b',"asked":' + asked + b',"freshness":' + freshness + b"}"
        return Response(body, media_type=GEOJSON)

    def listing(self, page: Page[Any]) -> ViewResponse:
        return ViewResponse(
            {"items": list(page.items), "next_cursor": page.next_cursor, **self.envelope()}
        )


def encoded_page(page: Page[Any]) -> bytes:
    """A page's items and next cursor as JSON (:meth:`Asking.listing_encoded` completes it)."""
    return orjson.dumps({"items": list(page.items), "next_cursor": page.next_cursor})


def whole_second_after(moment: datetime) -> datetime:
    """``moment`` rounded up to the whole second."""
    if not moment.microsecond:
        return moment
    return moment.replace(microsecond=0) + timedelta(seconds=1)


def ask(
    remembered: RememberedAnswers, clock: Clock, at: str | None, known_at: str | None
) -> Asking:
    """The read model's answers as asked (query parameters as given, None when left out); a
    bad moment is a 422 :class:`Problem`.

    ``known_at`` defaults to now. ``at`` defaults to now rounded up to the whole second: the
    requests of one second then ask one question, answered once (the answer says which
    moment it is about). It differs from now itself by under a second: an event reported to
    happen within that second counts as happened, and what counts back from ``at`` (the last
    24 or 72 hours) ends up to a second later.
    """
    now = clock()
    asked = Asked(
        moment_param("at", at, day_end=True) or whole_second_after(now),
        moment_param("known_at", known_at, day_end=True) or now,
    )
    answers = remembered.answers(asked, now=at is None)
    return Asking(asked, answers, remembered.model.freshness(), present=at is None)


async def asking(
    request: Request,
    at: Annotated[str | None, Query(description=AT)] = None,
    known_at: Annotated[str | None, Query(description=KNOWN_AT)] = None,
) -> Asking:
    """The read model's answers as asked (``at`` and ``known_at`` default to now)."""
    state = request.app.state
    return ask(state.answers, state.clock, at, known_at)


async def asking_present(
    request: Request,
    at: Annotated[str | None, Query(description=AT)] = None,
    known_at: Annotated[str | None, Query(description=KNOWN_AT)] = None,
) -> Asking:
    """:func:`asking`, for the routes the index of the present answers: a request about
    now waits (without holding the event loop) until the index holds for now, for at most
    ``PRESENT_WAIT_S``, then is a 503 with Retry-After; projecting every place instead would
    hold the loop as long as making them all."""
    state = request.app.state
    if at is None and known_at is None:
        await until_present(state.read_model, state.clock)
    return ask(state.answers, state.clock, at, known_at)


PRESENT_WAIT_S = 10.0
PRESENT_POLL_S = 0.025


async def until_present(model: ReadModel, clock: Clock) -> None:
    """Wait until ``model``'s index of the present holds for now (making what is due a
    slice at a time), or raise a 503 :class:`Problem` after ``PRESENT_WAIT_S``. A clock
    behind the latest report (a report from its future) is not waited for: the index holds
    only once every report is known."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PRESENT_WAIT_S
    while True:
        now, latest = clock(), model.latest_report
        if latest is not None and now < latest:
            return
        asked = Asked(whole_second_after(now), latest or now)
        if model.now.ready(asked, latest, present=True, budget_s=INLINE_BUDGET_S):
            return
        if loop.time() >= deadline:
            raise Problem(
                503,
                "The present is being made",
                f"{model.now.due} places and parties are being made again (after a change of "
                "the registry of actors, or a restart from nothing): retry in a while",
                headers={"Retry-After": "1"},
            )
        await asyncio.sleep(PRESENT_POLL_S)
