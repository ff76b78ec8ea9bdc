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
from every report; so is any place after a restart, once, since this memory is not stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sitrep.contract.events import ClaimDeniedEvent, Event, EventRetractedEvent
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


@dataclass
class _Kept:
    """A place's settled history and its reports since, as of its last view."""

    registry: int
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

    def __init__(self, kept: int = KEPT) -> None:
        self._kept: Recent = Recent(kept)

    def joined(self, entity: str, event_id: str | None) -> None:
        """``event_id`` joined ``entity`` (None: its reports are being indexed again)."""
        kept: _Kept | None = self._kept.get(entity)
        if kept is None:
            return
        if event_id is None:
            del self._kept[entity]
        else:
            kept.joined.append(event_id)

    def make(
        self,
        entity: str,
        place_id: str,
        registry: ActorRegistry,
        version: int,
        read: Callable[[str], Filed],
        members: Callable[[], list[str]],
    ) -> tuple[Asked, ControlView] | None:
        """The control view of ``place_id`` (the place entity ``entity``) as of its latest
        report, made with ``registry`` (``version`` changes with it); ``read`` gives a
        report by id, ``members`` every id of the entity's. None: it has no report."""
        kept: _Kept | None = self._kept.recall(entity)
        if kept is not None and kept.registry == version:
            try:
                return _extend(kept, registry, read)
            except NeedsAll:
                pass
        self._kept.pop(entity, None)
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
        return asked, made


def _extend(
    kept: _Kept, registry: ActorRegistry, read: Callable[[str], Filed]
) -> tuple[Asked, ControlView]:
    cut = kept.settled.cut
    for event_id in kept.joined:
        filed = read(event_id)
        event = filed.event
        if filed.place is None or filed.place.id != kept.place.id:
            raise NeedsAll  # it encloses another place now
        target = _answered(event)
        if target is not None:
            if target not in kept.latest:
                raise NeedsAll  # an answer to a settled report
        elif cut is not None and order_key(event) <= cut:
            raise NeedsAll  # older than the settled history
        kept.latest[event_id] = filed
        _note_retraction(kept, event)
        if (rank := _rank(filed)) < kept.place_rank:
            kept.place, kept.place_rank = filed.place, rank
        kept.at = max(kept.at, end_of_day(event.starts_at.astimezone(UTC).date()))
        kept.known_at = max(kept.known_at, event.reported_at)
    kept.joined.clear()
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
