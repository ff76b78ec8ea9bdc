"""GET /v1/events/{id} (what became of an event) and POST /v1/events (publish)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from sitrep.api.asking import Asking, asking, read_model
from sitrep.api.encoding import ViewResponse
from sitrep.api.fates import Fate, fate_of
from sitrep.api.gate import PublishGate
from sitrep.api.models import One, PublishAnswer
from sitrep.api.problems import FieldProblem, Problem, not_found
from sitrep.contract import EventBase, FieldError, InvalidEvent
from sitrep.publishing import PublishFailed, Receipt

router = APIRouter(prefix="/v1/events", tags=["events"])

MAX_BATCH = 1000
RETRY_AFTER_S = 5


@router.get("/{event_id}", response_model=One[Fate])
async def get_event(
    event_id: str, ask: Annotated[Asking, Depends(asking)], request: Request
) -> Response:
    """The event as published, and what became of it."""
    fate = fate_of(read_model(request), ask.answers, event_id)
    if fate is None:
        raise not_found(f"no record of an event {event_id!r} on the log")
    return ask.one(fate)


def _items(body: bytes) -> tuple[list[Any], bool]:
    """The events posted, and whether they came as an array."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Problem(400, "Body is not JSON", str(exc)) from exc
    if isinstance(raw, dict):
        return [raw], False
    if not isinstance(raw, list):
        raise Problem(422, "Not an event", "the body must be one event (an object) or an array")
    if not raw:
        raise Problem(422, "No events", "the array is empty")
    if len(raw) > MAX_BATCH:
        raise Problem(413, "Too many events", f"at most {MAX_BATCH} per request (got {len(raw)})")
    return raw, True


def _unavailable(exc: BaseException) -> Problem:
    return Problem(
        503,
        "Event log unavailable",
        f"the broker did not acknowledge the events; nothing was accepted: {exc}",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def _send(gate: PublishGate, events: list[EventBase]) -> list[Receipt]:
    """Send and wait for every acknowledgement; a 503 unless the broker took them all."""
    try:
        publisher = await gate.open()
        pending = [await publisher.enqueue(event) for event in events]
    except PublishFailed as exc:
        raise _unavailable(exc) from exc
    settled = await asyncio.gather(*pending, return_exceptions=True)
    receipts = [r for r in settled if isinstance(r, Receipt)]
    failed = [r for r in settled if isinstance(r, BaseException)]
    if failed:
        raise _unavailable(failed[0])
    gate.acknowledged.update(r.event_id for r in receipts)
    return receipts


@router.post("", response_model=PublishAnswer)
async def publish_events(request: Request) -> Response:
    """Publish one event or an array of up to 1,000; answers once the broker acknowledged.

    Each item is accepted, a duplicate (its id is already on the log, or earlier in the
    array), or rejected with each field and why. A single event that breaks the contract is
    a 422; a broker out of reach a 503 with Retry-After.
    """
    gate: PublishGate = request.app.state.gate
    model = read_model(request)
    items, batch = _items(await request.body())
    results: list[dict[str, Any]] = []
    to_send: list[tuple[dict[str, Any], EventBase]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise InvalidEvent([FieldError("", "an event must be a JSON object")])
            event = gate.validate(item)
        except InvalidEvent as exc:
            errors = [FieldProblem(e.field, e.reason) for e in exc.errors]
            if not batch:
                raise Problem(422, "Invalid event", str(exc), errors) from exc
            results.append(
                {"index": index, "id": exc.event_id, "status": "rejected", "errors": errors}
            )
            continue
        result: dict[str, Any] = {"index": index, "id": event.id}
        results.append(result)
        known = model.published(event.id) is not None or event.id in gate.acknowledged
        if known or event.id in seen:
            result["status"] = "duplicate"
            continue
        seen.add(event.id)
        to_send.append((result, event))
    if to_send:
        receipts = await _send(gate, [event for _, event in to_send])
        for (result, _), receipt in zip(to_send, receipts, strict=True):
            result.update(status="accepted", partition=receipt.partition, offset=receipt.offset)
    statuses = ("accepted", "duplicate", "rejected")
    counts = {status: sum(r["status"] == status for r in results) for status in statuses}
    return ViewResponse({"results": results, **counts})
