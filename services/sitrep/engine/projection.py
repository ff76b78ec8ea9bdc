"""What a ledger shows on the view topics: one record per entity, as of its latest report.

Pure and deterministic: the same ledger and registry give the same bytes, so a rebuild
publishes byte-for-byte what the live processor did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from itertools import islice
from typing import Any

import orjson

from sitrep.contract import Event, event_to_dict
from sitrep.contract.events import (
    ActorDescribedEvent,
    ClaimDeniedEvent,
    EventRetractedEvent,
    StrikeReportedEvent,
)
from sitrep.resolution.actors import ActorRegistry
from sitrep.resolution.places import Place
from sitrep.topics import TopicNames
from sitrep.views.actors import HeldPlace, Holdings, actor_views, registry_of
from sitrep.views.casualties import casualties
from sitrep.views.control import control_view
from sitrep.views.ledger import Filed, Ledger, Memo
from sitrep.views.moments import Asked, end_of_day, order_key
from sitrep.views.routing import REGISTRY_KEY
from sitrep.views.statements import statements
from sitrep.views.strikes import strike_id, strikes

ViewRecords = dict[tuple[str, str], bytes]
"""Values by (topic, key)."""


@dataclass(frozen=True)
class AsOf:
    at: datetime
    known_at: datetime


STATEMENTS_SHOWN = 100
"""How many statements an actor's record on the statements view topic holds: the latest."""


def as_of(ledger: Ledger) -> Asked:
    """The moment a ledger's views are published for: the day of its latest event, with
    everything it holds known."""
    events = [f.event for f in ledger]
    if not events:
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        return Asked(epoch, epoch)
    latest = max(e.starts_at for e in events)
    return Asked(end_of_day(latest.astimezone(UTC).date()), max(e.reported_at for e in events))


def view_record(asked: Asked, view: Any) -> bytes:
    return orjson.dumps({"as_of": AsOf(asked.at, asked.known_at), "view": view})


ViewOf = Callable[[Ledger, ActorRegistry, Asked], Any]
"""How an entity's view is made from its reports (a sub-ledger) as asked."""

Cache = dict[tuple[str, str], tuple[frozenset[str], ActorRegistry, bytes | None]]
"""A projection memo: per view record, the reports it was made from, the registry it was made
with, and the bytes made (None: no record)."""


def project(
    ledger: Ledger,
    registry: ActorRegistry,
    names: TopicNames,
    holdings: Holdings | None = None,
    cache: Cache | None = None,
    memo: Memo | None = None,
    index: EntityIndex | None = None,
) -> ViewRecords:
    """Every view record ``ledger`` gives rise to; ``holdings`` (places held, by actor id, as
    the control views say) complete the actors' views.

    In a place's ledger, each record is made from the reports that concern its entity alone
    (:class:`EntityIndex`), as of the latest of them; with a ``cache``, a record whose
    reports and registry are those it was last made from is not made again; with a ``memo``
    (this ledger's), a party's casualties and an actor's statements read again only the reports
    that changed; with an ``index`` (this ledger's, kept from the last time), each entity's
    reports are found from the reports added since alone.
    """
    kind, _, name = ledger.key.partition(":")
    out: ViewRecords = {}
    if kind == "place":
        index = index if index is not None else EntityIndex()
        control, struck = index.reports(ledger, registry)
        entities: list[tuple[tuple[str, str], frozenset[str], ViewOf, str]] = [
            *(
                (
                    (names.view_control, place_id),
                    ids,
                    partial(control_of, place_id=place_id),
                    "c:" + place_id,
                )
                for place_id, ids in sorted(control.items())
            ),
            *(
                ((names.view_strikes, sid), ids, strike_of, "s:" + sid)
                for sid, ids in sorted(struck.items())
            ),
        ]
        for key, ids, view_of, entity in entities:
            made = _made(key, ids, ledger, registry, cache, view_of, partial(index.asked, entity))
            if made is not None:
                out[key] = made
        return out
    asked = as_of(ledger)
    if kind == "casualties":
        for party in casualties([ledger], registry, asked, memo):
            out[(names.view_casualties, name)] = view_record(asked, party)
    elif kind == "statements":
        said = statements([ledger], registry, asked, memo)
        if said:
            # The latest only: an actor's record would otherwise grow with all it ever said
            # (the API lists every statement, a page at a time).
            out[(names.view_statements, name)] = view_record(asked, said[:STATEMENTS_SHOWN])
    elif ledger.key == REGISTRY_KEY:
        described, record = registry_and_record(ledger, names, cache)
        for actor in actor_views(described, holdings or {}):
            out[(names.view_actors, actor.id)] = view_record(asked, actor)
        out[(names.registry, REGISTRY_KEY)] = record
    return out


def registry_and_record(
    ledger: Ledger, names: TopicNames, cache: Cache | None
) -> tuple[ActorRegistry, bytes]:
    """The registry the ledger's descriptions make, and its record; with a ``cache``, made
    again only when the descriptions changed (the actors' view is re-projected whenever a
    place changes hands, and folding every name and alias is the costly part)."""
    key = (names.registry, REGISTRY_KEY)
    ids = frozenset(ledger.filed)
    known = cache.get(key) if cache is not None else None
    if known is not None and known[0] == ids and known[2] is not None:
        return known[1], known[2]
    described, record = registry_of(ledger), registry_record(ledger)
    if cache is not None:
        cache[key] = (ids, described, record)
    return described, record


def control_of(sub: Ledger, registry: ActorRegistry, asked: Asked, *, place_id: str) -> Any:
    return control_view(sub, place_id, registry, asked)


def strike_of(sub: Ledger, registry: ActorRegistry, asked: Asked) -> Any:
    return next(iter(strikes(sub, registry, asked)), None)


def _made(
    key: tuple[str, str],
    ids: frozenset[str],
    ledger: Ledger,
    registry: ActorRegistry,
    cache: Cache | None,
    view_of: ViewOf,
    asked_of: Callable[[], Asked],
) -> bytes | None:
    """The record ``key`` made from the reports ``ids`` of ``ledger``, as of the latest of
    them (``asked_of()``)."""
    if cache is not None:
        known = cache.get(key)
        if known is not None and (known[0] is ids or known[0] == ids) and known[1] is registry:
            return known[2]
    filed = ledger.filed
    sub = Ledger(ledger.key, {i: filed[i] for i in sorted(ids)})
    asked = asked_of()
    view = view_of(sub, registry, asked)
    made = None if view is None else view_record(asked, view)
    if cache is not None:
        cache[key] = (ids, registry, made)
    return made


def entity_reports(
    ledger: Ledger, registry: ActorRegistry
) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """The ids of the reports each entity of a place's ledger is made from: for each place,
    the reports about it or about a place within it; for each strike, its reports. Denials and
    retractions go with what they concern (they are filed at its place)."""
    return EntityIndex().reports(ledger, registry)


class EntityIndex:
    """:func:`entity_reports` of one place's ledger, kept up to date report by report.

    A ledger only grows, and in the order its reports were filed, so the reports not indexed
    yet are those after the last indexed. They are indexed alone unless they change what the
    earlier ones concern: a place not seen before in the ledger (it may enclose places seen
    before), a place's parent read differently, or another registry (strike ids use it); then
    the ledger is indexed again from its first report.
    """

    def __init__(self) -> None:
        self.filed: Mapping[str, Filed] = {}
        """The reports of the ledger being indexed."""
        self._reset(None)

    def _reset(self, registry: ActorRegistry | None) -> None:
        self.indexed = 0
        self.registry = registry
        self.places: dict[str, Place] = {}
        self.control: dict[str, set[str]] = {}
        self.struck: dict[str, set[str]] = {}
        self.strikes_of: dict[str, set[str]] = {}
        """Strike ids each report is part of (a strike's reports, its denials...)."""
        self.answers: dict[str, list[str]] = {}
        self.frozen: dict[str, frozenset[str]] = {}
        """The sets handed out, by ``c:<place id>`` or ``s:<strike id>``, until they change."""
        self.latest: dict[str, tuple[datetime, datetime]] = {}
        """The latest start and report of each entity's reports (its :func:`as_of`)."""

    def reports(
        self, ledger: Ledger, registry: ActorRegistry
    ) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
        """What :func:`entity_reports` gives for ``ledger``, which must be the ledger indexed
        before with reports added after the last indexed (or a ledger never indexed)."""
        filed = self.filed = ledger.filed
        if registry is not self.registry or self.indexed > len(filed):
            self._reset(registry)
        added = list(islice(filed.values(), self.indexed, None))
        if self._moves_places(added) and self.indexed:
            self._reset(registry)
            added = list(filed.values())
            self._moves_places(added)
        for item in added:
            self._add(item, registry)
        self.indexed = len(filed)
        return (
            {k: self._frozen("c:" + k, v) for k, v in self.control.items()},
            {k: self._frozen("s:" + k, v) for k, v in self.struck.items()},
        )

    def _frozen(self, key: str, ids: set[str]) -> frozenset[str]:
        known = self.frozen.get(key)
        if known is None or len(known) != len(ids):
            known = self.frozen[key] = frozenset(ids)
        return known

    def _moves_places(self, added: list[Filed]) -> bool:
        """Take in the places of ``added``; whether any is new or has another parent."""
        moved = False
        for item in added:
            place = item.place
            if place is None:
                continue
            known = self.places.get(place.id)
            if known is None or (known.lat is None and place.lat is not None):
                self.places[place.id] = place
                moved = moved or known is None or known.parent != place.parent
        return moved

    def _add(self, item: Filed, registry: ActorRegistry) -> None:
        event = item.event
        if isinstance(event, ClaimDeniedEvent | EventRetractedEvent):
            self.answers.setdefault(event.data.event_id, []).append(event.id)
            for sid in self.strikes_of.get(event.data.event_id, ()):
                self._join(sid, event.id)
        if item.place is None:
            return
        place_id: str | None = item.place.id
        seen: set[str] = set()
        while place_id is not None and place_id in self.places and place_id not in seen:
            seen.add(place_id)
            self.control.setdefault(place_id, set()).add(event.id)
            self._saw("c:" + place_id, event)
            place_id = self.places[place_id].parent
        if isinstance(event, StrikeReportedEvent):
            self._join(strike_id(event, item.place, registry), event.id)

    def _saw(self, entity: str, event: Event) -> None:
        known = self.latest.get(entity)
        start, reported = event.starts_at, event.reported_at
        if known is None:
            self.latest[entity] = (start, reported)
        elif start > known[0] or reported > known[1]:
            self.latest[entity] = (max(known[0], start), max(known[1], reported))

    def asked(self, entity: str) -> Asked:
        """What :func:`as_of` gives for the reports of ``entity`` (``c:<place id>`` or
        ``s:<strike id>``), from the reports indexed."""
        start, reported = self.latest[entity]
        return Asked(end_of_day(start.astimezone(UTC).date()), reported)

    def _join(self, sid: str, event_id: str) -> None:
        """``event_id`` and, transitively, every answer to it are part of strike ``sid``."""
        pending = [event_id]
        ids = self.struck.setdefault(sid, set())
        while pending:
            one = pending.pop()
            if one in ids:
                continue
            ids.add(one)
            self._saw("s:" + sid, self.filed[one].event)
            self.strikes_of.setdefault(one, set()).add(sid)
            pending.extend(self.answers.get(one, ()))


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
