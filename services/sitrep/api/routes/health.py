"""/healthz (the process answers) and /readyz (the broker answers, the views caught up)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from sitrep.api.asking import read_model
from sitrep.api.encoding import ViewResponse
from sitrep.api.models import Health
from sitrep.api.problems import Problem

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Response:
    return ViewResponse({"status": "alive"})


@router.get("/readyz", response_model=Health)
async def readyz(request: Request) -> Response:
    model = read_model(request)
    freshness = model.freshness()
    if not model.connected:
        raise Problem(
            503, "Not ready", "the event log cannot be read", headers={"Retry-After": "1"}
        )
    if not model.caught_up:
        raise Problem(
            503,
            "Not ready",
            f"still folding the event log: {freshness.behind} records behind",
            headers={"Retry-After": "1"},
        )
    if not model.now.settled:
        raise Problem(
            503,
            "Not ready",
            f"making the present: {model.now.due} places and parties due",
            headers={"Retry-After": "1"},
        )
    return ViewResponse({"status": "ready", "freshness": freshness})
