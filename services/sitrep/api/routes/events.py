"""GET /v1/events/{id} (what became of an event) and POST /v1/events (publish)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from sitrep.api.access import Caller, Role
from sitrep.api.asking import Asking, ask, asking, read_model
from sitrep.api.authorize import may_publish, may_read
from sitrep.api.encoding import ViewResponse
from sitrep.api.fates import Fate, fate_of
from sitrep.api.gate import PublishGate
from sitrep.api.metrics import ApiMetrics, metrics_of
from sitrep.api.models import One, PublishAnswer
from sitrep.api.problems import FieldProblem, Problem, not_found
from sitrep.api.readmodel import ReadModel
from sitrep.contract import EventBase, FieldError, InvalidEvent
from sitrep.contract.differences import differing_fields
from sitrep.contract.events import ClaimDeniedEvent, EventRetractedEvent
from sitrep.engine.ownership import Signed, headers_of
from sitrep.publishing import PublishFailed, Receipt
from sitrep.resolution.suggestions import name_warnings

router = APIRouter(prefix="/v1/events", tags=["events"])

MAX_BATCH = 1000
RETRY_AFTER_S = 5


@router.get("/{event_id}", response_model=One[Fate], dependencies=[Depends(may_read)])
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


RESEND = "sending them again with the same ids is safe: an id makes a resent event the same event"


def _unavailable(why: str) -> Problem:
    return Problem(
        503,
        "Event log unavailable",
        f"{why}; {RESEND}",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def _send(
    gate: PublishGate,
    events: list[EventBase],
    caller: Caller,
    metrics: ApiMetrics,
    within_s: float,
) -> list[Receipt]:
    """Send and wait for every acknowledgement, ``within_s`` at most; a 503 unless the broker
    took them all, saying what may have been stored."""
    # The publisher's name goes on each record, so every read model learns who owns it.
    headers = headers_of(Signed(caller.name, admin=caller.role is Role.ADMIN))
    pending: list[asyncio.Future[Receipt]] = []
    try:
        async with asyncio.timeout(within_s):
            try:
                publisher = await gate.open()
            except PublishFailed as exc:
                metrics.count_published("unavailable", len(events))
                why = f"the event log cannot be reached, nothing was sent: {exc}"
                raise _unavailable(why) from exc
            for event in events:
                pending.append(await publisher.enqueue(event, headers=headers))
            settled = await asyncio.gather(*pending, return_exceptions=True)
    except (TimeoutError, PublishFailed) as exc:
        metrics.count_published("unavailable", len(events))
        why = "no answer" if isinstance(exc, TimeoutError) else str(exc)
        done = sum(1 for f in pending if f.done() and not f.cancelled() and not f.exception())
        raise _unavailable(
            f"the broker acknowledged {done} of {len(events)} events within {within_s:g} s "
            f"({why}): the others may or may not have been stored"
        ) from exc
    receipts = [r for r in settled if isinstance(r, Receipt)]
    failed = [r for r in settled if isinstance(r, BaseException)]
    if failed:
        metrics.count_published("unavailable", len(events))
        raise _unavailable(
            f"the broker acknowledged {len(receipts)} of {len(events)} events ({failed[0]}): "
            "the others may or may not have been stored"
        )
    gate.remember(events, caller.name)
    metrics.count_published("accepted", len(receipts))
    return receipts


def _check_retractions(
    caller: Caller, events: list[EventBase], model: ReadModel, gate: PublishGate
) -> None:
    """A 403 unless the caller published every event it retracts (an admin may retract any);
    a 503 while whether it did cannot be known yet."""
    if caller.role is Role.ADMIN:
        return
    sending = {event.id for event in events}
    for event in events:
        if not isinstance(event, EventRetractedEvent):
            continue
        target = event.data.event_id
        sent = gate.sent_lately(target)
        owner = model.publisher_of(target) or (sent.publisher if sent is not None else None)
        if owner == caller.name:
            continue
        if owner is None and target in sending:
            # The caller's own only if nobody published that id before: known once the read
            # model has read every record on the log.
            if model.caught_up:
                continue
            raise Problem(
                503,
                "Owner not known yet",
                f"whether {target!r} is {caller.name}'s to retract is not known until the API "
                f"has read the whole event log (event {event.id!r}); nothing was accepted: "
                "retry shortly",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        raise Problem(
            403,
            "Forbidden",
            f"{caller.name} may retract only events it published; "
            f"{target!r} was not published by it (event {event.id!r})",
        )


CONFLICTING = "differs from the event already published with this id"


def _conflict(event_id: str, fields: list[str]) -> str:
    return (
        f"an event with the id {event_id!r} was published before, with other content "
        f"({', '.join(fields)}): the first stands; publish a new report under a new id"
    )


def _published(model: ReadModel, gate: PublishGate, event_id: str) -> EventBase | None:
    """The event published under ``event_id`` before, if the API knows of it."""
    found = model.published(event_id)
    if found is not None:
        return found.event
    sent = gate.sent_lately(event_id)
    return sent.event() if sent is not None else None


@router.post("", response_model=PublishAnswer)
async def publish_events(
    request: Request, caller: Annotated[Caller, Depends(may_publish)]
) -> Response:
    """Publish one event or an array of up to 1,000; answers once the broker acknowledged.

    Each item is accepted, a duplicate (the same event is already on the log, or earlier in
    the array), a conflict (another event has its id: each field that differs is named; the
    first stays, an id is never reused), or rejected with each field and why; an accepted
    event whose place, or an actor, nobody knows carries ``warnings`` with the closest known
    names. A single event that breaks the contract is a 422, one in conflict a 409; a broker
    out of reach a 503 with Retry-After. Needs a publisher or admin token; a publisher may
    retract only the events it published itself (else a 403).
    """
    gate: PublishGate = request.app.state.gate
    metrics = metrics_of(request)
    model = read_model(request)
    items, batch = _items(await request.body())
    results: list[dict[str, Any]] = []
    to_send: list[tuple[dict[str, Any], EventBase]] = []
    seen: dict[str, EventBase] = {}
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise InvalidEvent([FieldError("", "an event must be a JSON object")])
            event = gate.validate(item)
        except InvalidEvent as exc:
            errors = [FieldProblem(e.field, e.reason) for e in exc.errors]
            if not batch:
                metrics.count_published("rejected", 1)
                raise Problem(422, "Invalid event", str(exc), errors) from exc
            results.append(
                {"index": index, "id": exc.event_id, "status": "rejected", "errors": errors}
            )
            continue
        result: dict[str, Any] = {"index": index, "id": event.id}
        results.append(result)
        first = seen.get(event.id) or _published(model, gate, event.id)
        if first is not None:
            differing = differing_fields(first, event)
            if not differing:
                result["status"] = "duplicate"
                continue
            errors = [FieldProblem(f, CONFLICTING) for f in differing]
            if not batch:
                metrics.count_published("conflict", 1)
                raise Problem(409, "Conflicting event", _conflict(event.id, differing), errors)
            result.update(status="conflict", errors=errors)
            continue
        seen[event.id] = event
        to_send.append((result, event))
    _check_retractions(caller, [event for _, event in to_send], model, gate)
    for settled in ("duplicate", "conflict", "rejected"):
        metrics.count_published(settled, sum(r.get("status") == settled for r in results))
    if to_send:
        within_s: float = request.app.state.publish_timeout_s
        receipts = await _send(gate, [event for _, event in to_send], caller, metrics, within_s)
        now = ask(request.app.state.answers, request.app.state.clock, None, None).answers
        for (result, event), receipt in zip(to_send, receipts, strict=True):
            result.update(status="accepted", partition=receipt.partition, offset=receipt.offset)
            warnings = name_warnings(event, now.situation.gazetteer, now.registry)
            if isinstance(event, ClaimDeniedEvent | EventRetractedEvent):
                target = event.data.event_id
                if target not in seen and _published(model, gate, target) is None:
                    warnings.append(
                        f"data.event_id: {target!r} is not on the log yet; this waits for it "
                        "and applies once it comes"
                    )
            if warnings:
                result["warnings"] = warnings
    statuses = ("accepted", "duplicate", "conflict", "rejected")
    counts = {status: sum(r["status"] == status for r in results) for status in statuses}
    return ViewResponse({"results": results, **counts})
