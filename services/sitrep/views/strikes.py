"""The strike log: each strike once, with every source that reported it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sitrep.contract.events import StrikeReportedEvent
from sitrep.resolution.actors import ActorRegistry
from sitrep.resolution.places import Place
from sitrep.views.figures import Figure, figure_of, reconcile
from sitrep.views.ledger import Ledger, visible
from sitrep.views.moments import Asked, day_of, order_key
from sitrep.views.refs import ActorRef, DenialRef, SourceRef, actor_ref, denial_ref, source_ref

UNKNOWN_PERPETRATOR = "unknown"


@dataclass(frozen=True)
class Strike:
    """One strike: the reports of the same place, perpetrator, means and day, merged."""

    id: str
    place: Place
    day: date
    perpetrator: ActorRef | None
    means: str
    targets: tuple[str, ...]
    killed: Figure | None
    wounded: Figure | None
    sources: tuple[SourceRef, ...]
    denials: tuple[DenialRef, ...]


def _strike_key(
    event: StrikeReportedEvent, place: Place, registry: ActorRegistry
) -> tuple[str, str, str, date]:
    who = (
        registry.resolve_id(event.data.perpetrator)
        if event.data.perpetrator
        else UNKNOWN_PERPETRATOR
    )
    return (place.id, who, event.data.means, day_of(event))


def _key_id(key: tuple[str, str, str, date]) -> str:
    place_id, who, means, day = key
    return f"{place_id}/{day.isoformat()}/{means}/{who}"


def strike_id(event: StrikeReportedEvent, place: Place, registry: ActorRegistry) -> str:
    """The id of the strike a report is merged into: its place, day, means and perpetrator."""
    return _key_id(_strike_key(event, place, registry))


def strikes(ledger: Ledger, registry: ActorRegistry, asked: Asked) -> list[Strike]:
    """The strikes filed in ``ledger`` as asked, oldest first."""
    view = visible(ledger, asked)
    groups: dict[tuple[str, str, str, date], list[tuple[StrikeReportedEvent, Place]]] = {}
    for item in view.reports:
        event = item.event
        if isinstance(event, StrikeReportedEvent) and item.place is not None:
            key = _strike_key(event, item.place, registry)
            groups.setdefault(key, []).append((event, item.place))
    out = []
    for key, reports in groups.items():
        _, _, means, day = key
        reports.sort(key=lambda r: order_key(r[0]))
        first = reports[0][0]
        events = [r[0] for r in reports]
        out.append(
            Strike(
                id=_key_id(key),
                place=reports[0][1],
                day=day,
                perpetrator=actor_ref(registry, first.data.perpetrator)
                if first.data.perpetrator
                else None,
                means=means,
                targets=tuple(dict.fromkeys(e.data.target for e in events if e.data.target)),
                killed=reconcile(
                    [figure_of(e.data.killed) for e in events if e.data.killed is not None]
                ),
                wounded=reconcile(
                    [figure_of(e.data.wounded) for e in events if e.data.wounded is not None]
                ),
                sources=tuple(source_ref(e) for e in events),
                denials=tuple(denial_ref(registry, d) for e in events for d in view.denied(e.id)),
            )
        )
    return sorted(out, key=lambda s: (s.day, s.id))


@dataclass(frozen=True)
class StrikeCounts:
    by_place: dict[str, int]
    by_perpetrator: dict[str, int]
    by_day: dict[str, int]


def count_strikes(all_strikes: Iterable[Strike]) -> StrikeCounts:
    """How many strikes, by place id, perpetrator id and day."""
    places: Counter[str] = Counter()
    perpetrators: Counter[str] = Counter()
    days: Counter[str] = Counter()
    for strike in all_strikes:
        places[strike.place.id] += 1
        perpetrators[strike.perpetrator.id if strike.perpetrator else UNKNOWN_PERPETRATOR] += 1
        days[strike.day.isoformat()] += 1
    return StrikeCounts(
        dict(sorted(places.items())), dict(sorted(perpetrators.items())), dict(sorted(days.items()))
    )
