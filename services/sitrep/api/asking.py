"""What every read request shares: the moment asked, the answers for it, and the envelope."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Request

from sitrep.api.answers import Answers
from sitrep.api.encoding import ViewResponse
from sitrep.api.moments import EXPECTED, BadMoment, parse_moment
from sitrep.api.paging import Page
from sitrep.api.problems import invalid_parameter
from sitrep.api.readmodel import Freshness, ReadModel
from sitrep.api.remembered import RememberedAnswers
from sitrep.views.moments import Asked

Clock = Callable[[], datetime]

AT = f"The situation as it stood at this moment: {EXPECTED}; a date means its end. Default: now."
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

    def envelope(self) -> dict[str, Any]:
        return {
            "asked": {"at": self.asked.at, "known_at": self.asked.known_at},
            "freshness": self.freshness,
        }

    def one(self, view: Any) -> ViewResponse:
        return ViewResponse({"view": view, **self.envelope()})

    def listing(self, page: Page[Any]) -> ViewResponse:
        return ViewResponse(
            {"items": list(page.items), "next_cursor": page.next_cursor, **self.envelope()}
        )


async def asking(
    request: Request,
    at: Annotated[str | None, Query(description=AT)] = None,
    known_at: Annotated[str | None, Query(description=KNOWN_AT)] = None,
) -> Asking:
    """The read model's answers as asked (``at`` and ``known_at`` default to now)."""
    clock: Clock = request.app.state.clock
    now = clock()
    asked = Asked(
        moment_param("at", at, day_end=True) or now,
        moment_param("known_at", known_at, day_end=True) or now,
    )
    remembered: RememberedAnswers = request.app.state.answers
    # "now" is never asked twice: only answers for a moment given are worth remembering.
    answers = remembered.answers(asked, remember=at is not None)
    return Asking(asked, answers, remembered.model.freshness())
