"""The control view: who holds a place, since when, who says so, who denies it, and why the
status is what it is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from sitrep.contract.events import (
    ClashReportedEvent,
    ControlChangedEvent,
    EventBase,
    EventRetractedEvent,
    ForcesWithdrewEvent,
)
from sitrep.resolution.actors import ActorRegistry
from sitrep.resolution.places import Place
from sitrep.views.ledger import Ledger, Visible, visible
from sitrep.views.moments import CONTESTED_WINDOW, Asked, order_key
from sitrep.views.refs import (
    ActorRef,
    DenialRef,
    RetractionRef,
    SourceRef,
    actor_ref,
    denial_ref,
    originator,
    retraction_ref,
    source_ref,
)

Status = Literal["disputed", "contested", "partial", "held", "unknown"]


SHOWN = 50
"""How many changes of hands, claims, denials and retractions a control view lists, and how
many reports each change cites: the latest, with counts of them all. A place fought over for
years would otherwise make a record of megabytes; its whole history is paged by the API."""


@dataclass(frozen=True)
class Change:
    """One change of hands (or the first known holder), with the reports of it."""

    occurred_at: date | datetime
    controller: ActorRef
    previous: ActorRef | None
    method: str
    sources: tuple[SourceRef, ...]
    """The first report of the change, then the latest (``SHOWN`` in all)."""
    source_count: int


@dataclass(frozen=True)
class SubPlace:
    place_id: str
    name: str
    controller: ActorRef | None
    status: Status


@dataclass(frozen=True)
class ControlView:
    """A place's control as it stood at a moment, from what was known at another."""

    place: Place
    controller: ActorRef | None
    since: date | datetime | None
    status: Status
    reasons: tuple[str, ...]
    claims: tuple[SourceRef, ...]
    """The reports that the current controller holds the place, since it took it: the
    latest ``SHOWN``."""
    claim_count: int
    corroboration: int
    """How many independent originators (claimant, else source) back the current control."""
    denials: tuple[DenialRef, ...]
    """The latest ``SHOWN``."""
    denial_count: int
    history: tuple[Change, ...]
    """The latest ``SHOWN`` changes of hands, oldest first."""
    history_count: int
    sub_places: tuple[SubPlace, ...]
    retracted: tuple[RetractionRef, ...]
    """The latest ``SHOWN``."""
    retracted_count: int


_AFFECTS_CONTROL = (ControlChangedEvent, ForcesWithdrewEvent)


def _here(view: Visible, place_id: str) -> list[EventBase]:
    events = [f.event for f in view.reports if f.place is not None and f.place.id == place_id]
    return sorted(events, key=order_key)


def _agrees(a: EventBase, b: EventBase, registry: ActorRegistry) -> bool:
    if isinstance(a, ControlChangedEvent) and isinstance(b, ControlChangedEvent):
        return registry.resolve_id(a.data.controller) == registry.resolve_id(b.data.controller)
    if isinstance(a, ForcesWithdrewEvent) and isinstance(b, ForcesWithdrewEvent):
        return registry.resolve_id(a.data.actor) == registry.resolve_id(b.data.actor)
    return False


def _describe(event: EventBase) -> str:
    if isinstance(event, ControlChangedEvent):
        return f"the report that {event.data.controller} controls the place ({event.id})"
    if isinstance(event, ForcesWithdrewEvent):
        return f"the report that {event.data.actor} withdrew ({event.id})"
    return event.id


def _disputed(events: Sequence[EventBase], view: Visible, registry: ActorRegistry) -> str | None:
    affecting = [e for e in events if isinstance(e, _AFFECTS_CONTROL)]
    if not affecting:
        return None
    latest = affecting[-1]
    denials = view.denied(latest.id)
    if not denials:
        return None
    first_denial = min(d.reported_at for d in denials)
    who = originator(registry, latest)
    for other in affecting[:-1]:
        if (
            _agrees(other, latest, registry)
            and originator(registry, other) != who
            and not view.denied(other.id)
            and other.reported_at >= first_denial
        ):
            return None
    deniers = ", ".join(sorted({d.data.denied_by for d in denials}))
    return f"{deniers} denied {_describe(latest)}, and no independent source has confirmed it since"


def _contested(
    events: Sequence[EventBase],
    view: Visible,
    registry: ActorRegistry,
    asked: Asked,
    current: str | None,
) -> list[str]:
    window_start = asked.at - CONTESTED_WINDOW
    changes = [e for e in events if isinstance(e, ControlChangedEvent)]
    last_change = changes[-1].starts_at if changes else None
    reasons: list[str] = []
    for event in events:
        moment = event.starts_at
        if moment <= window_start or (last_change is not None and moment < last_change):
            continue
        if (
            last_change is not None
            and moment == last_change
            and isinstance(event, ClashReportedEvent)
        ):
            # Fighting the same day as the change that settled it: the change came after.
            continue
        if isinstance(event, ClashReportedEvent):
            parties = ", ".join(event.data.parties)
            reasons.append(f"fighting reported between {parties} ({event.id})")
        elif (
            isinstance(event, ForcesWithdrewEvent)
            and current is not None
            and registry.resolve_id(event.data.actor) == current
            and not view.denied(event.id)
        ):
            reasons.append(f"{event.data.actor} reported to have withdrawn ({event.id})")
    if changes and last_change is not None and last_change > window_start:
        rivals = {
            registry.resolve_id(c.data.controller): c for c in changes if c.starts_at == last_change
        }
        if len(rivals) > 1:
            named = "; ".join(
                f"{c.claimed_by or c.source.name} says {c.data.controller}" for c in rivals.values()
            )
            reasons.append(f"reports disagree on who holds it: {named}")
    return reasons


@dataclass
class _Held:
    """A change of hands being folded: its reports are gathered, then cited."""

    occurred_at: date | datetime
    controller: ActorRef
    previous: ActorRef | None
    method: str
    reports: list[EventBase]

    def change(self, shown: int | None = SHOWN) -> Change:
        cited = (
            self.reports
            if shown is None or len(self.reports) <= shown
            else ([self.reports[0], *self.reports[len(self.reports) - shown + 1 :]])
        )
        return Change(
            self.occurred_at,
            self.controller,
            self.previous,
            self.method,
            tuple(source_ref(e) for e in cited),
            len(self.reports),
        )


@dataclass
class _Fold:
    controller: ActorRef | None = None
    since: date | datetime | None = None
    claims: list[EventBase] = field(default_factory=list)
    history: list[_Held] = field(default_factory=list)


def _fold_control(events: Sequence[EventBase], registry: ActorRegistry) -> _Fold:
    fold = _Fold()
    for event in events:
        if not isinstance(event, ControlChangedEvent):
            continue
        named = actor_ref(registry, event.data.controller)
        if fold.controller is not None and named.id == fold.controller.id:
            fold.claims.append(event)
            fold.history[-1].reports.append(event)
            continue
        fold.history.append(
            _Held(event.occurred_at, named, fold.controller, event.data.method, [event])
        )
        fold.controller, fold.since, fold.claims = named, event.occurred_at, [event]
    return fold


def control_history(
    ledger: Ledger, place_id: str, registry: ActorRegistry, asked: Asked
) -> list[Change]:
    """Every change of hands of ``place_id`` as asked, oldest first, each with every report."""
    fold = _fold_control(_here(visible(ledger, asked), place_id), registry)
    return [held.change(None) for held in fold.history]


def control_view(
    ledger: Ledger, place_id: str, registry: ActorRegistry, asked: Asked
) -> ControlView:
    """The control of ``place_id`` (filed in ``ledger``) as asked."""
    return _control(ledger, place_id, registry, asked, visible(ledger, asked), ledger.places())


def _control(
    ledger: Ledger,
    place_id: str,
    registry: ActorRegistry,
    asked: Asked,
    view: Visible,
    places: dict[str, Place],
) -> ControlView:
    """:func:`control_view`, with what the ledger shows as asked, and its places, worked out
    once for a place and all its sub-places (a city's neighbourhoods, its airport)."""
    place = places[place_id]
    events = _here(view, place_id)
    fold = _fold_control(events, registry)
    claims = fold.claims
    current = fold.controller.id if fold.controller is not None else None

    subs = tuple(
        _sub_place(ledger, child, registry, asked, view, places)
        for child in sorted(places.values(), key=lambda p: p.name)
        if child.parent == place_id
    )
    reasons: list[str] = []
    status: Status
    if (disputed := _disputed(events, view, registry)) is not None:
        status, reasons = "disputed", [disputed]
    elif contested := _contested(events, view, registry, asked, current):
        status, reasons = "contested", contested
    elif current is not None and (
        held_by_others := [
            s for s in subs if s.controller is not None and s.controller.id != current
        ]
    ):
        status = "partial"
        reasons = [
            f"{s.name} is held by {s.controller.name}" for s in held_by_others if s.controller
        ]
    else:
        status = "held" if current is not None else "unknown"

    denied = [d for e in events for d in view.denied(e.id)]
    retracted: list[EventRetractedEvent] = []
    if view.retractions:  # rare: the reports filed here are looked up only then
        here_ids = {f.event.id for f in ledger if f.place is not None and f.place.id == place_id}
        retracted = sorted(
            (r for target, r in view.retractions.items() if target in here_ids), key=order_key
        )
    return ControlView(
        place=place,
        controller=fold.controller,
        since=fold.since,
        status=status,
        reasons=tuple(reasons),
        claims=tuple(source_ref(c) for c in claims[-SHOWN:]),
        claim_count=len(claims),
        corroboration=len({originator(registry, c) for c in claims if not view.denied(c.id)}),
        denials=tuple(denial_ref(registry, d) for d in denied[-SHOWN:]),
        denial_count=len(denied),
        history=tuple(held.change() for held in fold.history[-SHOWN:]),
        history_count=len(fold.history),
        sub_places=subs,
        retracted=tuple(retraction_ref(r) for r in retracted[-SHOWN:]),
        retracted_count=len(retracted),
    )


def _sub_place(
    ledger: Ledger,
    child: Place,
    registry: ActorRegistry,
    asked: Asked,
    view: Visible,
    places: dict[str, Place],
) -> SubPlace:
    sub = _control(ledger, child.id, registry, asked, view, places)
    return SubPlace(child.id, child.name, sub.controller, sub.status)
