"""Casualty figures per party, as ranges, with every report behind them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import partial

from sitrep.contract.events import CasualtiesReportedEvent, ClaimDeniedEvent, start_of
from sitrep.resolution.actors import ActorRegistry
from sitrep.resolution.places import Place
from sitrep.views.figures import Figure, figure_of, reconcile, total
from sitrep.views.ledger import Ledger, Memo, recalled, visible
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


SHOWN = 50
"""How many periods and reports a party's casualties list: the latest. The totals count them
all; a party reported on for years would otherwise make a record of megabytes."""


@dataclass(frozen=True)
class Casualties:
    """A party's losses: periods reconciled, then added up."""

    party: ActorRef
    killed: Figure
    wounded: Figure | None
    periods: tuple[PeriodFigures, ...]
    """The latest ``SHOWN`` periods, oldest first."""
    reports: tuple[CasualtyReport, ...]
    """The latest ``SHOWN`` reports, oldest first."""
    period_count: int
    report_count: int


def _period(event: CasualtiesReportedEvent) -> tuple[date, date]:
    day = day_of(event)
    start = start_of(event.data.period_start).date() if event.data.period_start else None
    end = start_of(event.data.period_end).date() if event.data.period_end else None
    return (start or end or day, end or max(start or day, day))


@dataclass(frozen=True)
class ReadReport:
    """What one report says, as the registry reads it: its party, what makes it the same
    claim as another, and how the view cites it."""

    party: str
    claim: tuple[object, ...]
    cited: CasualtyReport


def read_report(
    event: CasualtiesReportedEvent,
    place: Place | None,
    denied: tuple[ClaimDeniedEvent, ...],
    registry: ActorRegistry,
) -> ReadReport:
    start, end = _period(event)
    return ReadReport(
        party=registry.resolve_id(event.data.party),
        # The same claim relayed twice (same originator, period and figures) counts once.
        claim=(originator(registry, event), (start, end), event.data.killed, event.data.wounded),
        cited=CasualtyReport(
            source_ref(event),
            place,
            start,
            end,
            figure_of(event.data.killed),
            figure_of(event.data.wounded) if event.data.wounded is not None else None,
            tuple(denial_ref(registry, d) for d in denied),
        ),
    )


def casualties(
    ledgers: Iterable[Ledger],
    registry: ActorRegistry,
    asked: Asked,
    memo: Memo | None = None,
) -> list[Casualties]:
    """Every party's casualties as asked, largest first (``memo``: see :data:`~sitrep.views.ledger.Memo`)."""
    by_party: dict[str, list[tuple[CasualtiesReportedEvent, ReadReport]]] = {}
    for ledger in ledgers:
        view = visible(ledger, asked)
        for item in view.reports:
            event = item.event
            if isinstance(event, CasualtiesReportedEvent):
                denied = view.denied(event.id)
                make = partial(read_report, event, item.place, denied, registry)
                read = recalled(memo, event.id, (event, item.place, registry, denied), make)
                by_party.setdefault(read.party, []).append((event, read))
    out = []
    for reports in by_party.values():
        reports.sort(key=lambda r: order_key(r[0]))
        distinct: dict[tuple[object, ...], tuple[CasualtiesReportedEvent, ReadReport]] = {}
        for event, read in reports:
            distinct.setdefault(read.claim, (event, read))
        periods = _merge_periods(list(distinct.values()))
        killed = total([p.killed for p in periods])
        assert killed is not None
        out.append(
            Casualties(
                party=actor_ref(registry, reports[0][0].data.party),
                killed=killed,
                wounded=total([p.wounded for p in periods if p.wounded is not None]),
                periods=tuple(periods[-SHOWN:]),
                reports=tuple(read.cited for _, read in reports[-SHOWN:]),
                period_count=len(periods),
                report_count=len(reports),
            )
        )
    return sorted(out, key=lambda c: (-c.killed.low, c.party.id))


def _merge_periods(claims: list[tuple[CasualtiesReportedEvent, ReadReport]]) -> list[PeriodFigures]:
    spans = sorted(
        ((r.cited.period_start, r.cited.period_end, e.id, r.cited) for e, r in claims),
        key=lambda s: (s[0], s[1], s[2]),
    )
    groups: list[tuple[date, date, list[tuple[str, CasualtyReport]]]] = []
    for start, end, event_id, cited in spans:
        if groups and start <= groups[-1][1]:
            g_start, g_end, members = groups[-1]
            groups[-1] = (g_start, max(g_end, end), [*members, (event_id, cited)])
        else:
            groups.append((start, end, [(event_id, cited)]))
    out = []
    for start, end, members in groups:
        killed = reconcile([c.killed for _, c in members])
        assert killed is not None
        out.append(
            PeriodFigures(
                start,
                end,
                killed,
                reconcile([c.wounded for _, c in members if c.wounded is not None]),
                tuple(event_id for event_id, _ in members),
            )
        )
    return out
