"""The control view: who holds a place, since when, who says so, who denies it, and why the
status is what it is."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Literal

from sitrep.contract.events import (
    ClaimDeniedEvent,
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


class NeedsAll(Exception):
    """A view made from a place's settled history and its latest reports needs the older
    reports after all (the latest change of hands was denied, and earlier reports may
    confirm it): make it from every report."""


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


def _disputed(
    events: Sequence[EventBase], view: Visible, registry: ActorRegistry, settled: Settled
) -> str | None:
    affecting = [e for e in events if isinstance(e, _AFFECTS_CONTROL)]
    if not affecting:
        if settled.latest_affecting_denied:
            raise NeedsAll("the latest change of hands in the settled history was denied")
        return None
    latest = affecting[-1]
    denials = view.denied(latest.id)
    if not denials:
        return None
    if settled.affecting:
        raise NeedsAll("a denied change of hands earlier reports may confirm")
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
    last_change: date | datetime | None,
) -> list[str]:
    window_start = asked.at - CONTESTED_WINDOW
    changes = [e for e in events if isinstance(e, ControlChangedEvent)]
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
class _Run:
    """A change of hands being folded: its first report and the latest ones, cited."""

    occurred_at: date | datetime
    controller: ActorRef
    previous: ActorRef | None
    method: str
    first: SourceRef
    latest: deque[SourceRef]
    count: int = 1

    def change(self, shown: int | None) -> Change:
        cited = (
            tuple(self.latest)
            if shown is None or self.count <= shown
            else (self.first, *list(self.latest)[len(self.latest) - shown + 1 :])
        )
        return Change(
            self.occurred_at, self.controller, self.previous, self.method, cited, self.count
        )

    def copy(self) -> _Run:
        return replace(self, latest=deque(self.latest, self.latest.maxlen))


@dataclass
class Settled:
    """What a place's reports up to ``cut`` (in event order) add up to, kept so that a view
    is made from the reports after it alone: the changes of hands (the latest ``shown``),
    the one under way, who backs it, the denials. Empty, it stands for no report at all."""

    shown: int | None = SHOWN
    cut: tuple[datetime, datetime, str] | None = None
    done: deque[Change] = field(default_factory=deque)
    done_count: int = 0
    run: _Run | None = None
    backers: set[str] = field(default_factory=set)
    """The originators of the reports of the change under way that nobody denied."""
    last_change: date | datetime | None = None
    """When the latest reported change of hands happened (``starts_at``)."""
    affecting: int = 0
    """How many reports of a change of hands or a withdrawal."""
    latest_affecting_denied: bool = False
    denials: deque[DenialRef] = field(default_factory=deque)
    denial_count: int = 0

    def __post_init__(self) -> None:
        self.done = deque(self.done, self.shown)
        self.denials = deque(self.denials, self.shown)

    def copy(self) -> Settled:
        return replace(
            self,
            done=deque(self.done, self.shown),
            run=None if self.run is None else self.run.copy(),
            backers=set(self.backers),
            denials=deque(self.denials, self.shown),
        )

    def fold(
        self, events: Sequence[EventBase], view: Visible, registry: ActorRegistry
    ) -> list[ClaimDeniedEvent]:
        """Take in ``events`` (visible, in event order, all after ``cut``); returns their
        denials, in the order a view lists them."""
        denied: list[ClaimDeniedEvent] = []
        for event in events:
            denials = view.denied(event.id)
            denied.extend(denials)
            if isinstance(event, _AFFECTS_CONTROL):
                self.affecting += 1
                self.latest_affecting_denied = bool(denials)
            if not isinstance(event, ControlChangedEvent):
                continue
            self.last_change = event.starts_at
            named = actor_ref(registry, event.data.controller)
            cited = source_ref(event)
            run = self.run
            if run is not None and named.id == run.controller.id:
                run.latest.append(cited)
                run.count += 1
            else:
                if run is not None:
                    self.done.append(run.change(self.shown))
                    self.done_count += 1
                previous = None if run is None else run.controller
                self.run = _Run(
                    event.occurred_at,
                    named,
                    previous,
                    event.data.method,
                    cited,
                    deque([cited], self.shown),
                )
                self.backers = set()
            if not denials:
                self.backers.add(originator(registry, event))
        return denied

    def settle(self, events: Sequence[EventBase], view: Visible, registry: ActorRegistry) -> None:
        """Take in ``events`` for good: ``cut`` moves past the last."""
        if not events:
            return
        denied = self.fold(events, view, registry)
        self.denials.extend(denial_ref(registry, d) for d in denied)
        self.denial_count += len(denied)
        self.cut = order_key(events[-1])

    def history(self) -> list[Change]:
        """Every change of hands kept, oldest first, the one under way last."""
        done = list(self.done)
        return done if self.run is None else [*done, self.run.change(self.shown)]


def control_history(
    ledger: Ledger, place_id: str, registry: ActorRegistry, asked: Asked
) -> list[Change]:
    """Every change of hands of ``place_id`` as asked, oldest first, each with every report."""
    folded = Settled(shown=None)
    view = visible(ledger, asked)
    folded.fold(_here(view, place_id), view, registry)
    return folded.history()


def control_view(
    ledger: Ledger, place_id: str, registry: ActorRegistry, asked: Asked
) -> ControlView:
    """The control of ``place_id`` (filed in ``ledger``) as asked."""
    return _control(ledger, place_id, registry, asked, visible(ledger, asked), ledger.places())


def control_after(
    settled: Settled,
    latest: Ledger,
    place: Place,
    registry: ActorRegistry,
    asked: Asked,
    retractions: Sequence[EventRetractedEvent],
    retracted_count: int,
) -> ControlView:
    """The control of ``place`` (which encloses no other) as asked, from what its reports up
    to ``settled.cut`` added up to and the reports after it (``latest``, with their denials
    and retractions), when the contested window starts after ``settled.cut``: the same view
    :func:`control_view` makes from every report. ``retractions``: the latest of those of
    any report here, in event order, of ``retracted_count``. Raises :class:`NeedsAll` when
    the view needs the older reports after all."""
    view = visible(latest, asked)
    return _control(
        latest,
        place.id,
        registry,
        asked,
        view,
        {place.id: place},
        settled,
        (retractions, retracted_count),
    )


def _control(
    ledger: Ledger,
    place_id: str,
    registry: ActorRegistry,
    asked: Asked,
    view: Visible,
    places: dict[str, Place],
    settled: Settled | None = None,
    retracted_known: tuple[Sequence[EventRetractedEvent], int] | None = None,
) -> ControlView:
    """:func:`control_view`, with what the ledger shows as asked, and its places, worked out
    once for a place and all its sub-places (a city's neighbourhoods, its airport)."""
    place = places[place_id]
    events = _here(view, place_id)
    before = Settled() if settled is None else settled
    fold = before.copy()
    denied = fold.fold(events, view, registry)
    history = fold.history()
    run = fold.run
    current = run.controller if run is not None else None

    subs = tuple(
        _sub_place(ledger, child, registry, asked, view, places)
        for child in sorted(places.values(), key=lambda p: p.name)
        if child.parent == place_id
    )
    reasons: list[str] = []
    status: Status
    if (disputed := _disputed(events, view, registry, before)) is not None:
        status, reasons = "disputed", [disputed]
    elif contested := _contested(
        events,
        view,
        registry,
        asked,
        current.id if current is not None else None,
        fold.last_change,
    ):
        status, reasons = "contested", contested
    elif current is not None and (
        held_by_others := [
            s for s in subs if s.controller is not None and s.controller.id != current.id
        ]
    ):
        status = "partial"
        reasons = [
            f"{s.name} is held by {s.controller.name}" for s in held_by_others if s.controller
        ]
    else:
        status = "held" if current is not None else "unknown"

    if retracted_known is not None:
        retracted, retracted_count = retracted_known
    else:
        retracted = []
        if view.retractions:  # rare: the reports filed here are looked up only then
            here_ids = {
                f.event.id for f in ledger if f.place is not None and f.place.id == place_id
            }
            retracted = sorted(
                (r for target, r in view.retractions.items() if target in here_ids),
                key=order_key,
            )
        retracted_count = len(retracted)
    denials = [*fold.denials, *(denial_ref(registry, d) for d in denied[-SHOWN:])]
    return ControlView(
        place=place,
        controller=current,
        since=run.occurred_at if run is not None else None,
        status=status,
        reasons=tuple(reasons),
        claims=tuple(run.latest)[-SHOWN:] if run is not None else (),
        claim_count=run.count if run is not None else 0,
        corroboration=len(fold.backers),
        denials=tuple(denials[-SHOWN:]),
        denial_count=fold.denial_count + len(denied),
        history=tuple(history[-SHOWN:]),
        history_count=fold.done_count + int(run is not None),
        sub_places=subs,
        retracted=tuple(retraction_ref(r) for r in retracted[-SHOWN:]),
        retracted_count=retracted_count,
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
