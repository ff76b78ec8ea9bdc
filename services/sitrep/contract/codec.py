"""Events to and from bytes (orjson), with the contract's errors."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

import orjson
from pydantic import TypeAdapter, ValidationError

from sitrep.contract.errors import FieldError, InvalidEvent, field_errors
from sitrep.contract.events import Event, EventBase

# mypy cannot take an Annotated union as a type form yet (PEP 747), hence the cast.
_EVENT: TypeAdapter[Event] = TypeAdapter(cast("type[Event]", Event))


def _raw_id(raw: Any) -> str | None:
    if isinstance(raw, Mapping):
        value = raw.get("id")
        if isinstance(value, str):
            return value
    return None


def decode_json(payload: bytes | str) -> Any:
    """Parse JSON, or raise :class:`InvalidEvent` saying where it breaks."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent([FieldError("", f"not valid JSON: {exc}")]) from exc


def parse_event(raw: bytes | str | Mapping[str, Any], *, now: datetime | None = None) -> Event:
    """Validate one event against the contract.

    ``raw`` is JSON text or an already decoded object. ``now`` is the validating clock: when
    given, a ``reported_at`` more than a few minutes after it is refused. Replays of the log
    leave it out, since what was valid when published stays valid.
    """
    obj = decode_json(raw) if isinstance(raw, bytes | str) else raw
    if not isinstance(obj, Mapping):
        raise InvalidEvent([FieldError("", "an event must be a JSON object")])
    try:
        return _EVENT.validate_python(obj, context={"now": now} if now is not None else None)
    except ValidationError as exc:
        raise InvalidEvent(field_errors(exc), event_id=_raw_id(obj)) from exc


def event_to_dict(event: EventBase) -> dict[str, Any]:
    """The event as JSON-ready data, without absent optional fields."""
    return event.model_dump(mode="json", by_alias=True, exclude_none=True)


def encode_event(event: EventBase) -> bytes:
    """The event as the JSON that goes on the log."""
    return orjson.dumps(event_to_dict(event))


def event_key(event: EventBase) -> bytes:
    """The record key on the event log: the id of the event this one is about.

    A denial or retraction lands on the same partition as the event it concerns, so a
    processor meets them in order and can look the event up locally.
    """
    return event.subject_id.encode()
