"""GET /v1/situation: the situation of a region at a glance."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from sitrep.api.answers import Answers
from sitrep.api.asking import Asking, asking, read_model
from sitrep.api.filters import Country
from sitrep.api.models import One
from sitrep.api.overview import Overview, indexed, overview
from sitrep.api.readmodel import ReadModel

router = APIRouter(prefix="/v1", tags=["situation"])

INLINE_BUDGET_S = 0.05
"""How long a request about the present may spend making the places due (those the
background has not reached yet) before it projects every place instead."""


def situation_of(
    model: ReadModel, answers: Answers, *, country: str | None, admin1: str | None, present: bool
) -> Any:
    """The overview as asked: from the index of the present when it holds for the moment
    asked (``present``: made up to date first, within a budget), else projected."""
    now, asked, latest = model.now, answers.asked, model.latest_report
    knows_all = latest is None or asked.known_at >= latest
    if present and knows_all and not now.fresh_for(asked, latest):
        now.expire(asked.at)
        now.make(asked.at, asked.known_at, INLINE_BUDGET_S)
    if now.fresh_for(asked, latest):
        return indexed(now, answers, country=country, admin1=admin1)
    return overview(answers, country=country, admin1=admin1)


@router.get("/situation", response_model=One[Overview])
async def get_situation(
    request: Request,
    ask: Annotated[Asking, Depends(asking)],
    country: Country = None,
    admin1: Annotated[str | None, Query(description="First-level region, any spelling.")] = None,
) -> Response:
    """Places held per actor (the holders of most, each with a count and its first places),
    recent changes of hands and what is disputed or contested and why (the first of each,
    with counts), the last 24 hours' strikes and casualties, and the latest statements."""
    answers = ask.answers
    present = answers.asked.at >= request.app.state.clock()
    view = answers.encoded(
        ("situation", country, admin1),
        lambda: situation_of(
            read_model(request), answers, country=country, admin1=admin1, present=present
        ),
    )
    assert view is not None  # an overview is never None
    return ask.one_encoded(view)
