"""The worker's own records: reports bound for their ledgers, on the filed topic.

A filed record carries a batch of reports, every one of them for a ledger whose key hashes to
the partition the record is on, so the worker holding that partition holds those ledgers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from sitrep.contract import Event, event_to_dict, parse_event
from sitrep.engine.routing import Filing, place_from
from sitrep.resolution.places import Place


@dataclass(frozen=True)
class Bound:
    """One report bound for a ledger."""

    ledger: str
    event: dict[str, Any]
    """The event as JSON-ready data (:func:`sitrep.contract.event_to_dict`)."""
    place: Place | None


class ParsedEvents:
    """Events this process has already validated, by their JSON: the fold agent reads back
    what the route agent wrote, and need not validate it a second time.

    Keyed by the event's whole JSON, not its id, so that an event read back is exactly the
    one written, whatever else was published under the same id. Bounded: the oldest go first
    (what the fold agent reads back is a few batches behind at most).
    """

    def __init__(self, size: int = 5_000) -> None:
        self.size = size
        self._by_json: dict[bytes, Event] = {}

    def remember(self, data: dict[str, Any], event: Event) -> None:
        if len(self._by_json) >= self.size:
            del self._by_json[next(iter(self._by_json))]
        self._by_json[orjson.dumps(data)] = event

    def parse(self, data: dict[str, Any]) -> Event:
        """The event ``data`` (as written by :func:`encode_filed`) holds."""
        known = self._by_json.get(orjson.dumps(data))
        return known if known is not None else parse_event(data)


def bound_for(filings: Iterable[Filing], parsed: ParsedEvents | None = None) -> list[Bound]:
    """The filings the router gave, as reports to send; ``parsed`` remembers their events."""
    out: list[Bound] = []
    data_of: dict[str, dict[str, Any]] = {}
    for filing in filings:
        event = filing.event
        data = data_of.get(event.id)
        if data is None:
            data = data_of[event.id] = event_to_dict(event)
            if parsed is not None:
                parsed.remember(data, event)
        out.append(Bound(filing.ledger, data, filing.place))
    return out


def encode_filed(batch: Sequence[Bound]) -> bytes:
    # orjson writes a Place (a dataclass) as its fields in order, many times faster than asdict.
    return orjson.dumps([{"ledger": b.ledger, "event": b.event, "place": b.place} for b in batch])


def decode_filed(payload: bytes, parsed: ParsedEvents | None = None) -> list[Filing]:
    """Every report in a filed record; events ``parsed`` already holds are not validated
    again."""
    parse = parse_event if parsed is None else parsed.parse
    return [
        Filing(item["ledger"], parse(item["event"]), place_from(item["place"]))
        for item in orjson.loads(payload)
    ]
