"""Which reports make each entity's view, kept report by report in a key-value store.

A place's ledger holds several entities: each place in it (its control view, made from the
reports about it and about the places within it) and each strike (its reports, and the
denials and retractions of them, transitively). Casualties and statements ledgers are one
entity each: the ledger.

State (in the :class:`~sitrep.engine.keyvalue.KeyValue` given):

- ``place/<ledger>/<place id>`` → the place (a place ledger's places);
- ``member/<entity>/<event id>`` → ``b""``: an entity's reports (``c:<place id>``,
  ``s:<strike id>``);
- ``entity/<ledger>/<entity>`` → ``b""``: a ledger's entities;
- ``answer/<ledger>/<target id>/<answer id>`` → ``b""``: denials and retractions of a report;
- ``struck/<ledger>/<event id>/<strike id>`` → ``b""``: the strikes a report is part of;
- ``name/<folded actor name>/<ledger>`` → ``b""``: the ledgers whose reports name an actor, so
  a registry change reaches only them;
- ``perpetrator/<folded actor name>/<ledger>`` → ``b""``: the place ledgers whose strikes name
  an actor as perpetrator, the one name their index reads through the registry (a strike's
  id holds its perpetrator's id).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import orjson

from sitrep.contract.events import (
    ActorDescribedEvent,
    CasualtiesReportedEvent,
    ClaimDeniedEvent,
    ClashReportedEvent,
    ControlChangedEvent,
    Event,
    EventRetractedEvent,
    ForcesWithdrewEvent,
    StatementIssuedEvent,
    StrikeReportedEvent,
)
from sitrep.engine.keyvalue import SEP, KeyValue, key
from sitrep.engine.routing import place_from
from sitrep.resolution.actors import ActorRegistry
from sitrep.resolution.names import fold
from sitrep.resolution.places import Place
from sitrep.views.strikes import strike_id

PLACE, MEMBER, ENTITY, ANSWER, STRUCK, NAME = (
    "place",
    "member",
    "entity",
    "answer",
    "struck",
    "name",
)
PERPETRATOR = "perpetrator"
PLACES_KEPT = 50_000
"""How many places read from the store are kept decoded (a few hundred bytes each); past it
they are read again."""


def control_entity(place_id: str) -> str:
    return "c:" + place_id


def strike_entity(sid: str) -> str:
    return "s:" + sid


def is_place_ledger(ledger: str) -> bool:
    return ledger.startswith("place:")


def last_part(found: bytes) -> str:
    return found.rsplit(SEP, 1)[1].decode()


def actor_names(event: Event) -> set[str]:
    """Every actor name a view of ``event`` resolves through the registry, folded."""
    names = [event.source.name]
    if event.claimed_by:
        names.append(event.claimed_by)
    if isinstance(event, ControlChangedEvent):
        names.append(event.data.controller)
        if event.data.previous_controller:
            names.append(event.data.previous_controller)
    elif isinstance(event, ForcesWithdrewEvent):
        names.append(event.data.actor)
    elif isinstance(event, ClashReportedEvent):
        names.extend(event.data.parties)
    elif isinstance(event, StrikeReportedEvent):
        if event.data.perpetrator:
            names.append(event.data.perpetrator)
    elif isinstance(event, CasualtiesReportedEvent):
        names.append(event.data.party)
    elif isinstance(event, StatementIssuedEvent):
        names.extend([event.data.actor, event.data.speaker, *(event.data.about or ())])
    elif isinstance(event, ClaimDeniedEvent):
        names.append(event.data.denied_by)
    elif isinstance(event, ActorDescribedEvent):
        names.extend([event.data.name, *(event.data.aliases or ()), *(event.data.allies or ())])
    return {fold(name) for name in names}


def changed_names(before: ActorRegistry, after: ActorRegistry) -> set[str]:
    """The folded names that resolve differently in ``after`` (another actor, or the same
    actor under another name)."""
    out = set()
    for name in before.by_name.keys() | after.by_name.keys():
        was, now = before.by_name.get(name), after.by_name.get(name)
        if was != now or (now is not None and before.actors[now].name != after.actors[now].name):
            out.add(name)
    return out


def changed_ids(before: ActorRegistry, after: ActorRegistry) -> set[str]:
    """The folded names that resolve to another actor in ``after`` (a part of
    :func:`changed_names`: an actor renamed keeps its id)."""
    return {
        name
        for name in before.by_name.keys() | after.by_name.keys()
        if before.by_name.get(name) != after.by_name.get(name)
    }


class EntityIndex:
    """The entities of the ledgers in ``kv`` and their reports.

    ``touched(ledger, entity)`` is told of every entity whose reports changed;
    ``joined(entity, event id)`` of every report that joins an entity, and
    ``joined(entity, None)`` when an entity's reports are all taken out to be indexed again.
    """

    def __init__(
        self,
        kv: KeyValue,
        touched: Callable[[str, str], None],
        *,
        for_views: bool = True,
        joined: Callable[[str, str | None], None] | None = None,
    ) -> None:
        self.kv = kv
        self.touched = touched
        self.joined = joined or (lambda entity, event_id: None)
        self.for_views = for_views
        """False for a reader (the API): strike entities and the index of actor names serve
        only the making of view records, and are not kept."""
        self._places: dict[tuple[str, str], Place | None] = {}
        """Places read, by ledger and id: every report filed reads its place and the places
        enclosing it, and a read from the store costs more than all the rest of filing."""

    def members(self, entity: str) -> list[str]:
        """The ids of an entity's reports, in id order."""
        return [last_part(k) for k, _ in self.kv.scan(key(MEMBER, entity, ""))]

    def entities(self, ledger: str) -> list[str]:
        return [last_part(k) for k, _ in self.kv.scan(key(ENTITY, ledger, ""))]

    def places(self, ledger: str) -> dict[str, Place]:
        found = {}
        for _, value in self.kv.scan(key(PLACE, ledger, "")):
            place = place_from(orjson.loads(value))
            assert place is not None
            found[place.id] = place
        return found

    def ledgers_naming(self, names: Iterable[str]) -> set[str]:
        return {last_part(k) for name in names for k, _ in self.kv.scan(key(NAME, name, ""))}

    def ledgers_striking(self, names: Iterable[str]) -> set[str]:
        """The place ledgers with a strike by one of ``names`` (folded)."""
        return {last_part(k) for name in names for k, _ in self.kv.scan(key(PERPETRATOR, name, ""))}

    def add(self, ledger: str, event: Event, place: Place | None, registry: ActorRegistry) -> bool:
        """Index one report newly filed in ``ledger``. False when it changes what earlier
        reports concern (the ledger must be indexed again with :meth:`rebuild`)."""
        if self.for_views:
            for name in actor_names(event):
                self.kv.put(key(NAME, name, ledger), b"")
            if isinstance(event, StrikeReportedEvent) and event.data.perpetrator:
                self.kv.put(key(PERPETRATOR, fold(event.data.perpetrator), ledger), b"")
        if not is_place_ledger(ledger):
            self.touched(ledger, "")
            return True
        if place is not None and not self._take_place(ledger, place):
            return False
        self._index(ledger, event, place, registry)
        return True

    def _place(self, ledger: str, place_id: str) -> Place | None:
        known = (ledger, place_id)
        if known in self._places:
            return self._places[known]
        found = self.kv.get(key(PLACE, ledger, place_id))
        place = None if found is None else place_from(orjson.loads(found))
        if len(self._places) >= PLACES_KEPT:
            self._places.clear()
        self._places[known] = place
        return place

    def _note_place(self, ledger: str, place: Place) -> Place | None:
        """Keep ``place`` as the ledger's place of its id if it is new there, or the first
        with coordinates; returns what was kept before (None: it is new)."""
        known = self._place(ledger, place.id)
        if known is None or (known.lat is None and place.lat is not None):
            self.kv.put(key(PLACE, ledger, place.id), orjson.dumps(place))
            self._places[(ledger, place.id)] = place
        return known

    def _take_place(self, ledger: str, place: Place) -> bool:
        """Note ``place`` in the ledger; a place new to it takes in the reports of the
        places it encloses. False when a known place's parent is read differently."""
        known = self._note_place(ledger, place)
        if known is None:
            self._adopt(ledger, place)
            return True
        return not (known.lat is None and place.lat is not None and known.parent != place.parent)

    def _adopt(self, ledger: str, parent: Place) -> None:
        """The reports of places already in the ledger whose parent is ``parent`` now also
        concern ``parent`` and the places enclosing it."""
        children = [p for p in self.places(ledger).values() if p.parent == parent.id]
        for child in children:
            for event_id in self.members(control_entity(child.id)):
                for place_id in self._chain(ledger, parent.id):
                    self._join(ledger, control_entity(place_id), event_id)

    def _chain(self, ledger: str, place_id: str | None) -> Iterator[str]:
        """``place_id`` and its parents, as long as they are in the ledger."""
        seen: set[str] = set()
        while place_id is not None and place_id not in seen:
            place = self._place(ledger, place_id)
            if place is None:
                return
            seen.add(place_id)
            yield place_id
            place_id = place.parent

    def _join(self, ledger: str, entity: str, event_id: str, *, fresh: bool = False) -> bool:
        """Make ``event_id`` a member of ``entity``; False if it was. ``fresh``: it cannot
        have been (a report indexed for the first time, in the places it concerns)."""
        member = key(MEMBER, entity, event_id)
        if not fresh and self.kv.get(member) is not None:
            return False
        self.kv.put(member, b"")
        self.kv.put(key(ENTITY, ledger, entity), b"")
        self.touched(ledger, entity)
        self.joined(entity, event_id)
        return True

    def _index(
        self, ledger: str, event: Event, place: Place | None, registry: ActorRegistry
    ) -> None:
        if isinstance(event, ClaimDeniedEvent | EventRetractedEvent):
            target = event.data.event_id
            self.kv.put(key(ANSWER, ledger, target, event.id), b"")
            if self.for_views:
                for found, _ in list(self.kv.scan(key(STRUCK, ledger, target, ""))):
                    self._strike(ledger, last_part(found), event.id)
        if place is None:
            return
        for place_id in self._chain(ledger, place.id):
            # A report is indexed once in the places it concerns (filed once; a rebuild
            # removes every member first): no need to ask the store whether it is in.
            self._join(ledger, control_entity(place_id), event.id, fresh=True)
        if isinstance(event, StrikeReportedEvent) and self.for_views:
            self._strike(ledger, strike_id(event, place, registry), event.id)

    def _strike(self, ledger: str, sid: str, event_id: str) -> None:
        """``event_id`` and, transitively, every answer to it are part of strike ``sid``."""
        pending = [event_id]
        while pending:
            one = pending.pop()
            if not self._join(ledger, strike_entity(sid), one):
                continue
            self.kv.put(key(STRUCK, ledger, one, sid), b"")
            pending.extend(last_part(k) for k, _ in self.kv.scan(key(ANSWER, ledger, one, "")))

    def rebuild(
        self,
        ledger: str,
        reports: Iterable[tuple[Event, Place | None]],
        registry: ActorRegistry,
    ) -> None:
        """Index a place ledger again from its ``reports`` (in filing order): after a
        registry change (strike ids use it) or a place's parent read differently."""
        kv = self.kv
        for entity in self.entities(ledger):
            for member, _ in list(kv.scan(key(MEMBER, entity, ""))):
                kv.delete(member)
            kv.delete(key(ENTITY, ledger, entity))
            self.touched(ledger, entity)  # made again, or its record removed
            self.joined(entity, None)
        for prefix in (key(STRUCK, ledger, ""), key(ANSWER, ledger, ""), key(PLACE, ledger, "")):
            for found, _ in list(kv.scan(prefix)):
                kv.delete(found)
        self._places.clear()
        reports = list(reports)
        for _, place in reports:
            if place is not None:
                self._note_place(ledger, place)
        for event, place in reports:
            self._index(ledger, event, place, registry)
