"""The event contract: what scrapers publish. Pure: no I/O, no clock."""

from sitrep.contract.codec import decode_json, encode_event, event_key, event_to_dict, parse_event
from sitrep.contract.errors import FieldError, InvalidEvent
from sitrep.contract.events import (
    CURRENT_SCHEMA_VERSION,
    EVENT_MODELS,
    Event,
    EventBase,
)
from sitrep.contract.vocabulary import EVENT_TYPES

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "EVENT_MODELS",
    "EVENT_TYPES",
    "Event",
    "EventBase",
    "FieldError",
    "InvalidEvent",
    "decode_json",
    "encode_event",
    "event_key",
    "event_to_dict",
    "parse_event",
]
