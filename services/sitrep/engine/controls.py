"""Control views made from a place's latest reports: what its older reports added up to is
kept (:class:`~sitrep.views.control.Settled`), for the places made most recently.

A busy place is reported on every day for years; making its view again from every report at
each new one cost a few milliseconds, and the live rate was bound by it. Here a place's view is
made from its settled history and the reports of its last ``SPAN`` (event time), with their
denials and retractions: a new report costs what that short tail costs. Reports leave the tail
for the settled history once the place's latest moment is ``SPAN`` past them, which is longer
than the contested window (72 hours) and than reports are usually late.

The view is always the one :func:`~sitrep.views.control.control_view` makes from every report
(a property test holds the two equal). Whenever that cannot be known from the tail, the view is
made from every report and the place's history settled again: a report older than the settled
history, an answer to a settled report, a denied change of hands that earlier reports may
confirm, a new registry. A place enclosing others (a city and its neighbourhoods) is always made
from every report.

The settled history is kept in the store too, with the ids of the reports after it and of
those that joined the place since its last view, all written with the reports they reflect:
a place made again after it left memory, or after a restart, reads that and its tail of
reports, not its whole history.
"""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from sitrep.contract.events import ClaimDeniedEvent, Event, EventRetractedEvent
from sitrep.engine.entities import control_entity, last_part
from sitrep.engine.keyvalue import KeyValue, MemoryKeyValue, key
from sitrep.engine.projection import as_of
from sitrep.engine.recent import Recent
from sitrep.resolution.actors import ActorRegistry
from sitrep.resolution.places import Place
from sitrep.views.control import ControlView, NeedsAll, Settled, control_after, control_view
from sitrep.views.ledger import Filed, Ledger, visible
from sitrep.views.moments import Asked, end_of_day, order_key

SPAN = timedelta(days=7)
"""How far before a place's latest moment its reports are still read one by one."""
KEPT = 2_000
"""How many places' settled histories are kept in memory (the most recently made): each holds
the latest changes of hands it shows, a few KB to a few hundred for the busiest."""
_PROTOCOL = pickle.HIGHEST_PROTOCOL
CONTROL_PREFIX = control_entity("")
SETTLED, TAIL, JOINED = "control-settled", "control-tail", "control-joined"
"""Keys of a place entity's settled history, of what its view was last made from beside it,
and of each report that joined it since."""


@dataclass
class _Kept:
    """A place's settled history and its reports since, as of its last view."""

    registry: str
    place: Place
    place_rank: tuple[bool, str]
    at: datetime
    known_at: datetime
    settled: Settled
    latest: dict[str, Filed]
    """The reports after ``settled.cut``, and every answer to them, by id."""
    retractions: dict[str, EventRetractedEvent]
    """A retraction of each report here that has one (the first by id), by the id retracted."""
    joined: list[str] = field(default_factory=list)
    """Reports that joined the place since its last view."""
    settled_changed: bool = True
    """Whether ``settled`` changed since it was last stored."""


def _rank(filed: Filed) -> tuple[bool, str]:
    """Which report's reading of a place a view shows: the first (by id) with coordinates."""
    assert filed.place is not None
    return (filed.place.lat is None, filed.event.id)


def _answered(event: Event) -> str | None:
    if isinstance(event, ClaimDeniedEvent | EventRetractedEvent):
        return event.data.event_id
    return None


class Controls:
    """The control views of place entities, made from their latest reports where they can."""

    def __init__(self, kv: KeyValue | None = None, kept: int = KEPT) -> None:
        self.kv: KeyValue = MemoryKeyValue() if kv is None else kv
        self._kept: Recent = Recent(kept)
        self.made: Counter[str] = Counter()
        """How many views were made each way: from memory, read back from the store, or
        from every report and why."""

    def joined(self, entity: str, event_id: str | None) -> None:
        """``event_id`` joined ``entity`` (None: its reports are being indexed again)."""
        if not entity.startswith(CONTROL_PREFIX):
            return
        if event_id is None:
            self._kept.pop(entity, None)
            self._forget(entity)
            return
        self.kv.put(key(JOINED, entity, event_id), b"")
        kept: _Kept | None = self._kept.get(entity)
        if kept is not None:
            kept.joined.append(event_id)

    def make(
        self,
        entity: str,
        place_id: str,
        registry: ActorRegistry,
        version: str,
        read: Callable[[str], Filed],
        members: Callable[[], list[str]],
    ) -> tuple[Asked, ControlView] | None:
        """The control view of ``place_id`` (the place entity ``entity``) as of its latest
        report, made with ``registry`` (``version`` names it); ``read`` gives a report by
        id, ``members`` every id of the entity's. None: it has no report."""
        kept: _Kept | None = self._kept.recall(entity)
        way = "from memory"
        if kept is None:
            kept, way = self._load(entity, version, read), "from the store"
        why = "no settled history"
        if kept is not None and kept.registry == version:
            try:
                extended = _extend(kept, registry, read)
            except NeedsAll as needs:
                why = str(needs)
            else:
                self._store(entity, kept)
                self.made[way] += 1
                return extended
        elif kept is not None:
            why = "another registry"
        self.made[f"from every report: {why}"] += 1
        self._kept.pop(entity, None)
        self._forget(entity)
        ids = members()
        if not ids:
            return None
        reports = {event_id: read(event_id) for event_id in ids}
        whole = Ledger(entity, reports)
        asked = as_of(whole)
        made = control_view(whole, place_id, registry, asked)
        if all(f.place is not None and f.place.id == place_id for f in reports.values()):
            kept = _Kept(
                registry=version,
                place=made.place,
                place_rank=min(_rank(f) for f in reports.values()),
                at=asked.at,
                known_at=asked.known_at,
                settled=Settled(),
                latest=dict(reports),
                retractions={},
            )
            for filed in reports.values():
                _note_retraction(kept, filed.event)
            _settle(kept, asked, registry)
            self._kept.keep(entity, kept)
            self._store(entity, kept)
        return asked, made

    def _store(self, entity: str, kept: _Kept) -> None:
        """Write what ``kept`` holds beyond the reports; the joins it took in are gone."""
        if kept.settled_changed:
            self.kv.put(key(SETTLED, entity), pickle.dumps(kept.settled, _PROTOCOL))
            kept.settled_changed = False
        # Ids, not reports: the place shown is that of the report its rank names, and the
        # retractions are reports of the place too.
        tail = [
            kept.registry,
            *kept.place_rank,
            kept.at,
            kept.known_at,
            list(kept.latest),
            [r.id for r in kept.retractions.values()],
        ]
        self.kv.put(key(TAIL, entity), orjson.dumps(tail))
        for event_id in kept.joined:
            self.kv.delete(key(JOINED, entity, event_id))
        kept.joined.clear()

    def _load(self, entity: str, version: str, read: Callable[[str], Filed]) -> _Kept | None:
        """``entity``'s settled history and its tail as last stored, if they were made with
        the registry ``version``; the reports that joined since are to be taken in."""
        tail = self.kv.get(key(TAIL, entity))
        settled = self.kv.get(key(SETTLED, entity))
        if tail is None or settled is None:
            return None
        try:
            registry, no_coordinates, shown_by, at, known_at, latest, retractions = orjson.loads(
                tail
            )
            if registry != version:
                return None
            place = read(shown_by).place
            answers = [read(event_id).event for event_id in retractions]
            kept = _Kept(
                registry=registry,
                place=place,  # type: ignore[arg-type]  # a place entity's report has one
                place_rank=(no_coordinates, shown_by),
                at=datetime.fromisoformat(at),
                known_at=datetime.fromisoformat(known_at),
                settled=pickle.loads(settled),
                latest={event_id: read(event_id) for event_id in latest},
                retractions={
                    r.data.event_id: r for r in answers if isinstance(r, EventRetractedEvent)
                },
                settled_changed=False,
            )
        except (pickle.UnpicklingError, AttributeError, TypeError, ValueError, EOFError):
            return None  # written by another version of this code: made from every report
        kept.joined = [last_part(k) for k, _ in self.kv.scan(key(JOINED, entity, ""))]
        self._kept.keep(entity, kept)
        return kept

    def _forget(self, entity: str) -> None:
        """Drop what is stored of ``entity`` beside its reports: it is made from them all."""
        if self.kv.get(key(TAIL, entity)) is not None:
            self.kv.delete(key(TAIL, entity))
            self.kv.delete(key(SETTLED, entity))
        for found, _ in list(self.kv.scan(key(JOINED, entity, ""))):
            self.kv.delete(found)


def _extend(
    kept: _Kept, registry: ActorRegistry, read: Callable[[str], Filed]
) -> tuple[Asked, ControlView]:
    cut = kept.settled.cut
    for event_id in kept.joined:
        filed = read(event_id)
        event = filed.event
        if filed.place is None or filed.place.id != kept.place.id:
            raise NeedsAll("encloses another place")
        target = _answered(event)
        if target is not None:
            if target not in kept.latest:
                raise NeedsAll("an answer to a settled report")
        elif cut is not None and order_key(event) <= cut:
            raise NeedsAll("older than the settled history")
        kept.latest[event_id] = filed
        _note_retraction(kept, event)
        if (rank := _rank(filed)) < kept.place_rank:
            kept.place, kept.place_rank = filed.place, rank
        kept.at = max(kept.at, end_of_day(event.starts_at.astimezone(UTC).date()))
        kept.known_at = max(kept.known_at, event.reported_at)
    asked = Asked(kept.at, kept.known_at)
    retractions = sorted(kept.retractions.values(), key=order_key)
    made = control_after(
        kept.settled,
        Ledger(kept.place.id, kept.latest),
        kept.place,
        registry,
        asked,
        retractions,
        len(retractions),
    )
    _settle(kept, asked, registry)
    return asked, made


def _note_retraction(kept: _Kept, event: Event) -> None:
    if isinstance(event, EventRetractedEvent):
        known = kept.retractions.get(event.data.event_id)
        if known is None or event.id < known.id:
            kept.retractions[event.data.event_id] = event


def _settle(kept: _Kept, asked: Asked, registry: ActorRegistry) -> None:
    """Move the reports of moments ``SPAN`` before ``asked.at`` from the tail to the settled
    history, with every answer to them."""
    threshold = asked.at - SPAN
    latest = kept.latest

    def anchor(event: Event) -> Event:
        seen = 0
        while (target := _answered(event)) is not None and target in latest and seen < 64:
            event = latest[target].event
            seen += 1
        return event

    old = [i for i, f in latest.items() if anchor(f.event).starts_at < threshold]
    if not old:
        return
    kept.settled_changed = True
    view = visible(Ledger(kept.place.id, latest), asked)
    leaving = set(old)
    moving = sorted((f.event for f in view.reports if f.event.id in leaving), key=order_key)
    kept.settled.settle(moving, view, registry)
    gone = [latest[i].event for i in old if _answered(latest[i].event) is None]
    if gone:
        last = max(order_key(e) for e in gone)
        if kept.settled.cut is None or last > kept.settled.cut:
            kept.settled.cut = last
    for event_id in old:
        del latest[event_id]
