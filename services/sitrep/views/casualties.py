"""Casualty figures per party, as ranges, with every report behind them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sitrep.contract.events import CasualtiesReportedEvent, start_of
from sitrep.resolution.actors import ActorRegistry
from sitrep.resolution.places import Place
from sitrep.views.figures import Figure, figure_of, reconcile, total
from sitrep.views.ledger import Ledger, visible
from sitrep.views.moments import Asked, day_of, order_key
from sitrep.views.refs import (
    ActorRef,
    DenialRef,
    SourceRef,
    actor_ref,
    denial_ref,
    originator,
    source_ref,
)


@dataclass(frozen=True)
class CasualtyReport:
    source: SourceRef
    place: Place | None
    period_start: date
    period_end: date
    killed: Figure
    wounded: Figure | None
    denials: tuple[DenialRef, ...]


@dataclass(frozen=True)
class PeriodFigures:
    """Reports of overlapping periods: one figure, reconciled into a range."""

    start: date
    end: date
    killed: Figure
    wounded: Figure | None
    reports: tuple[str, ...]


@dataclass(frozen=True)
class Casualties:
    """A party's losses: periods reconciled, then added up."""

    party: ActorRef
    killed: Figure
    wounded: Figure | None
    periods: tuple[PeriodFigures, ...]
    reports: tuple[CasualtyReport, ...]


def _period(event: CasualtiesReportedEvent) -> tuple[date, date]:
    day = day_of(event)
    start = start_of(event.data.period_start).date() if event.data.period_start else None
    end = start_of(event.data.period_end).date() if event.data.period_end else None
    return (start or end or day, end or max(start or day, day))


def _reports(
    ledgers: Iterable[Ledger], registry: ActorRegistry, asked: Asked
) -> dict[str, list[tuple[CasualtiesReportedEvent, Place | None, tuple[DenialRef, ...]]]]:
    by_party: dict[
        str, list[tuple[CasualtiesReportedEvent, Place | None, tuple[DenialRef, ...]]]
    ] = {}
    for ledger in ledgers:
        view = visible(ledger, asked)
        for item in view.reports:
            if isinstance(item.event, CasualtiesReportedEvent):
                denials = tuple(denial_ref(registry, d) for d in view.denied(item.event.id))
                party = registry.resolve_id(item.event.data.party)
                by_party.setdefault(party, []).append((item.event, item.place, denials))
    return by_party


def casualties(
    ledgers: Iterable[Ledger], registry: ActorRegistry, asked: Asked
) -> list[Casualties]:
    """Every party's casualties as asked, largest first."""
    out = []
    for reports in _reports(ledgers, registry, asked).values():
        reports.sort(key=lambda r: order_key(r[0]))
        # The same claim relayed twice (same originator, period and figures) counts once.
        distinct: dict[tuple[object, ...], CasualtiesReportedEvent] = {}
        for event, _, _ in reports:
            key = (
                originator(registry, event),
                _period(event),
                event.data.killed,
                event.data.wounded,
            )
            distinct.setdefault(key, event)
        periods = _merge_periods(list(distinct.values()))
        killed = total([p.killed for p in periods])
        assert killed is not None
        out.append(
            Casualties(
                party=actor_ref(registry, reports[0][0].data.party),
                killed=killed,
                wounded=total([p.wounded for p in periods if p.wounded is not None]),
                periods=tuple(periods),
                reports=tuple(
                    CasualtyReport(
                        source_ref(event),
                        place,
                        *_period(event),
                        figure_of(event.data.killed),
                        figure_of(event.data.wounded) if event.data.wounded is not None else None,
                        denials,
                    )
                    for event, place, denials in reports
                ),
            )
        )
    return sorted(out, key=lambda c: (-c.killed.low, c.party.id))


def _merge_periods(events: list[CasualtiesReportedEvent]) -> list[PeriodFigures]:
    spans = sorted(((*_period(e), e) for e in events), key=lambda s: (s[0], s[1], s[2].id))
    groups: list[tuple[date, date, list[CasualtiesReportedEvent]]] = []
    for start, end, event in spans:
        if groups and start <= groups[-1][1]:
            g_start, g_end, members = groups[-1]
            groups[-1] = (g_start, max(g_end, end), [*members, event])
        else:
            groups.append((start, end, [event]))
    out = []
    for start, end, members in groups:
        killed = reconcile([figure_of(e.data.killed) for e in members])
        assert killed is not None
        out.append(
            PeriodFigures(
                start,
                end,
                killed,
                reconcile(
                    [figure_of(e.data.wounded) for e in members if e.data.wounded is not None]
                ),
                tuple(e.id for e in members),
            )
        )
    return out
