"""What a ledger shows on the view topics: one record per entity, as of its latest report.

Pure and deterministic: the same ledger and registry give the same bytes, so a rebuild
publishes byte-for-byte what the live processor did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from sitrep.contract import event_to_dict
from sitrep.contract.events import ActorDescribedEvent, start_of
from sitrep.resolution.actors import ActorRegistry
from sitrep.topics import TopicNames
from sitrep.views.actors import HeldPlace, Holdings, actor_views, registry_of
from sitrep.views.casualties import casualties
from sitrep.views.control import control_view
from sitrep.views.ledger import Ledger
from sitrep.views.moments import Asked, end_of_day, order_key
from sitrep.views.routing import REGISTRY_KEY
from sitrep.views.statements import statements
from sitrep.views.strikes import strikes

ViewRecords = dict[tuple[str, str], bytes]
"""Values by (topic, key)."""


@dataclass(frozen=True)
class AsOf:
    at: datetime
    known_at: datetime


def as_of(ledger: Ledger) -> Asked:
    """The moment a ledger's views are published for: the day of its latest event, with
    everything it holds known."""
    events = [f.event for f in ledger]
    if not events:
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        return Asked(epoch, epoch)
    latest = max(start_of(e.occurred_at) for e in events)
    return Asked(end_of_day(latest.astimezone(UTC).date()), max(e.reported_at for e in events))


def _value(asked: Asked, view: Any) -> bytes:
    return orjson.dumps({"as_of": AsOf(asked.at, asked.known_at), "view": view})


def project(
    ledger: Ledger, registry: ActorRegistry, names: TopicNames, holdings: Holdings | None = None
) -> ViewRecords:
    """Every view record ``ledger`` gives rise to; ``holdings`` (places held, by actor id, as
    the control views say) complete the actors' views."""
    asked = as_of(ledger)
    kind, _, name = ledger.key.partition(":")
    out: ViewRecords = {}
    if kind == "place":
        for place_id in sorted(ledger.places()):
            view = control_view(ledger, place_id, registry, asked)
            out[(names.view_control, place_id)] = _value(asked, view)
        for strike in strikes(ledger, registry, asked):
            out[(names.view_strikes, strike.id)] = _value(asked, strike)
    elif kind == "casualties":
        for party in casualties([ledger], registry, asked):
            out[(names.view_casualties, name)] = _value(asked, party)
    elif kind == "statements":
        said = statements([ledger], registry, asked)
        if said:
            out[(names.view_statements, name)] = _value(asked, said)
    elif ledger.key == REGISTRY_KEY:
        described = registry_of(ledger)
        for actor in actor_views(described, holdings or {}):
            out[(names.view_actors, actor.id)] = _value(asked, actor)
        out[(names.registry, REGISTRY_KEY)] = registry_record(ledger)
    return out


def registry_record(ledger: Ledger) -> bytes:
    """The registry as the workers share it: every description, in event order."""
    described = sorted(
        (f.event for f in ledger if isinstance(f.event, ActorDescribedEvent)), key=order_key
    )
    return orjson.dumps([event_to_dict(e) for e in described])


def changes(before: ViewRecords, after: ViewRecords) -> dict[tuple[str, str], bytes | None]:
    """What to publish: new or changed records, and tombstones (None) for records gone."""
    out: dict[tuple[str, str], bytes | None] = {
        key: value for key, value in after.items() if before.get(key) != value
    }
    for key in before.keys() - after.keys():
        out[key] = None
    return out


def held_place(value: bytes) -> tuple[str, HeldPlace] | None:
    """Who holds the place of a control view record, and how (None: nobody known)."""
    view = orjson.loads(value)["view"]
    if view["controller"] is None:
        return None
    place = view["place"]
    return view["controller"]["id"], HeldPlace(
        place["id"], place["name"], view["since"], view["status"]
    )


def project_all(
    ledgers: Iterable[Ledger], registry: ActorRegistry, names: TopicNames
) -> ViewRecords:
    """Every view record of every ledger: what the view topics hold once a worker caught up."""
    ledgers = list(ledgers)
    out: ViewRecords = {}
    for ledger in ledgers:
        if ledger.key != REGISTRY_KEY:
            out.update(project(ledger, registry, names))
    held: dict[str, list[HeldPlace]] = {}
    for (topic, _), value in sorted(out.items()):
        if topic == names.view_control and (found := held_place(value)) is not None:
            held.setdefault(found[0], []).append(found[1])
    for ledger in ledgers:
        if ledger.key == REGISTRY_KEY:
            out.update(project(ledger, registry, names, held))
    return out
