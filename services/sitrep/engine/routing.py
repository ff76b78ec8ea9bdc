"""Where each event goes: the ledgers it is filed in, once per event id.

An event that stands on its own is filed where :func:`sitrep.views.routing.destinations`
says. A denial or retraction follows the event it concerns; one that arrives first waits for
it and goes wherever it goes. An id seen before changes nothing.

State (in the :class:`~sitrep.engine.keyvalue.KeyValue` given):

- ``route/<event id>`` → where the event was filed (``[]`` while an answer waits, or for a
  retraction refused);
- ``wait/<target id>/<answer id>`` → an answer (its JSON) waiting for its target;
- ``owner/<event id>`` → who wrote the event's first record, when its headers say
  (:class:`~sitrep.engine.ownership.Signed`);
- ``refused/<event id>`` → why a retraction was not applied (:mod:`sitrep.engine.ownership`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from sitrep.contract import Event, encode_event, parse_event
from sitrep.contract.events import ClaimDeniedEvent, EventRetractedEvent
from sitrep.engine.keyvalue import SEP, KeyValue, key
from sitrep.engine.ownership import UNSIGNED, Signed, refusal
from sitrep.resolution.places import Gazetteer, Place
from sitrep.views.routing import Destination, destinations

ROUTE = "route"
WAIT = "wait"
OWNER = "owner"
REFUSED = "refused"


@dataclass(frozen=True)
class Filing:
    """One report bound for a ledger, with the place it concerns there."""

    ledger: str
    event: Event
    place: Place | None


def place_from(data: dict[str, Any] | None) -> Place | None:
    if data is None:
        return None
    return Place(
        **{
            **data,
            "alternate_names": tuple(data.get("alternate_names") or ()),
            "local_names": tuple(data.get("local_names") or ()),
        }
    )


def encode_routes(routes: Sequence[Destination]) -> bytes:
    return orjson.dumps([{"key": r.key, "place": r.place} for r in routes])


def decode_routes(payload: bytes) -> list[Destination]:
    return [Destination(r["key"], place_from(r["place"])) for r in orjson.loads(payload)]


class Router:
    """Routes events over the state in ``kv`` (see the module's docstring)."""

    def __init__(self, kv: KeyValue, gazetteer: Gazetteer) -> None:
        self.kv = kv
        self.gazetteer = gazetteer
        self._awaited: set[str] | None = None
        """The targets answers wait for (read from the store once): almost every event has
        none, and looking for them in the store at each event would cost a scan each."""

    def awaited(self) -> set[str]:
        if self._awaited is None:
            self._awaited = {
                found.split(SEP)[1].decode() for found, _ in self.kv.scan(key(WAIT, ""))
            }
        return self._awaited

    def routes_of(self, event_id: str) -> list[Destination] | None:
        """Where ``event_id`` was filed; ``[]`` while it waits; None if never routed."""
        found = self.kv.get(key(ROUTE, event_id))
        return None if found is None else decode_routes(found)

    def owner_of(self, event_id: str) -> Signed:
        """Who wrote the first record of ``event_id``, as far as its headers said."""
        found = self.kv.get(key(OWNER, event_id))
        return UNSIGNED if found is None else Signed.decode(found)

    def refused(self, event_id: str) -> str | None:
        """Why the retraction ``event_id`` was refused, if it was."""
        found = self.kv.get(key(REFUSED, event_id))
        return None if found is None else found.decode()

    def _refuses(self, answer: Event) -> bool:
        """Whether ``answer`` is a retraction its writer may not make; if so it is kept as
        refused, with the reason, and filed nowhere."""
        if not isinstance(answer, EventRetractedEvent):
            return False
        owner = self.owner_of(answer.data.event_id).publisher
        why = refusal(self.owner_of(answer.id), owner)
        if why is None:
            return False
        self.kv.put(key(ROUTE, answer.id), b"[]")
        self.kv.put(key(REFUSED, answer.id), why.encode())
        return True

    def route(self, event: Event, signed: Signed = UNSIGNED) -> tuple[Filing, ...]:
        """The reports to file for ``event`` (written by ``signed``): its own, and those of
        the answers that waited for it; none for an id routed before, an answer that waits
        or a retraction refused. Raises ValueError when it cannot be filed anywhere."""
        kv = self.kv
        if kv.get(key(ROUTE, event.id)) is not None:
            return ()
        if signed != UNSIGNED:
            kv.put(key(OWNER, event.id), signed.encode())
        if isinstance(event, ClaimDeniedEvent | EventRetractedEvent):
            dests = self.routes_of(event.data.event_id)
            if not dests:  # never routed, or itself an answer still waiting
                kv.put(key(WAIT, event.data.event_id, event.id), encode_event(event))
                self.awaited().add(event.data.event_id)
                kv.put(key(ROUTE, event.id), b"[]")
                return ()
            if self._refuses(event):
                return ()
        else:
            dests = destinations(event, self.gazetteer)
        encoded = encode_routes(dests)
        kv.put(key(ROUTE, event.id), encoded)
        filings = [Filing(d.key, event, d.place) for d in dests]
        targets = [event.id]
        awaited = self.awaited()
        while targets:  # an answer released may have answers of its own waiting
            target = targets.pop(0)
            if target not in awaited:
                continue
            awaited.discard(target)
            for wait_key, raw in list(kv.scan(key(WAIT, target, ""))):
                late = parse_event(raw)
                kv.delete(wait_key)
                if self._refuses(late):
                    continue
                kv.put(key(ROUTE, late.id), encoded)
                targets.append(late.id)
                filings.extend(Filing(d.key, late, d.place) for d in dests)
        return tuple(filings)
