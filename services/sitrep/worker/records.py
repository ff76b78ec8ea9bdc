"""The processor's own records: an event filed with its place, and where events went."""

from __future__ import annotations

from typing import Any

import orjson

from sitrep.contract import Event, event_to_dict, parse_event
from sitrep.resolution.places import Place
from sitrep.views.ledger import Filed
from sitrep.views.routing import Destination


def place_from(data: dict[str, Any] | None) -> Place | None:
    if data is None:
        return None
    return Place(**{**data, "alternate_names": tuple(data.get("alternate_names") or ())})


def _place_data(place: Place | None) -> Place | None:
    # orjson writes a dataclass as its fields in order, as ``asdict`` would, many times faster.
    return place


def encode_filed(event: Event, place: Place | None, origin: tuple[int, int] | None = None) -> bytes:
    """A filed record; ``origin`` is the (partition, offset) of the event on the log, kept in
    the ledger's table row so the state says which offsets it has folded."""
    record: dict[str, Any] = {"event": event_to_dict(event), "place": _place_data(place)}
    if origin is not None:
        record["origin"] = {"partition": origin[0], "offset": origin[1]}
    return orjson.dumps(record)


def decode_filed(payload: bytes) -> Filed:
    data = orjson.loads(payload)
    return Filed(parse_event(data["event"]), place_from(data["place"]))


def encode_routes(routes: list[Destination]) -> bytes:
    return orjson.dumps([{"key": r.key, "place": _place_data(r.place)} for r in routes])


def decode_routes(payload: bytes) -> list[Destination]:
    return [Destination(r["key"], place_from(r["place"])) for r in orjson.loads(payload)]
