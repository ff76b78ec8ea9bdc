"""The records of casualties and statements ledgers, kept report by report.

A party's casualties add up every period ever reported, and an actor's statements are listed
newest first: made again from all of a ledger's reports at each new one, a busy party's record
would cost time in proportion to its whole history. Instead, each report filed updates what
the record is made from, kept in the store beside the reports, and the record reads a bounded
part of it: the latest periods and reports, the running totals.

State (in the :class:`~sitrep.engine.keyvalue.KeyValue` given), ``<order>`` being an event's
moment, report time and id, so that keys sort as :func:`~sitrep.views.moments.order_key`:

- ``tally/r/<ledger>/<order>`` → the ids of a casualty report's denials standing (not
  retracted), in event order of the reports (the record cites the latest with their denials;
  the first names the party);
- ``tally/c/<ledger>/<claim>/<order>`` → ``b""``: the reports of one claim (one originator's
  figures for one period), which counts once: as its first report in event order;
- ``tally/g/<ledger>/<end>`` → a period: the claims of overlapping periods, reconciled (keyed
  by its last day, latest first);
- ``tally/sum/<ledger>`` → how many reports and periods, and the periods' figures added up;
- ``tally/p/<ledger>/<party id>`` → how many reports count each party: a ledger is named by a
  folded name, and should two parties share one, its record is made from every report;
- ``tally/stale/<ledger>`` → ``b""``: casualties to tally again, as a new registry reads their
  claims and parties;
- ``tally/s/<ledger>/<order>`` → the ids of a statement's denials standing, in event order
  of the statements;
- ``tally/x/<ledger>/<target>`` → ``b""``: the reports retracted;
- ``tally/asof/<ledger>`` → the latest event and report time of the ledger: its record's moment.

Every record equals what :func:`sitrep.engine.projection.project` makes from the whole ledger
(a property-based test holds them equal).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from sitrep.contract.events import (
    CasualtiesReportedEvent,
    ClaimDeniedEvent,
    Event,
    EventRetractedEvent,
    StatementIssuedEvent,
)
from sitrep.engine import projection
from sitrep.engine.keyvalue import SEP, KeyValue, key
from sitrep.engine.projection import view_record
from sitrep.engine.recent import Recent
from sitrep.resolution.actors import ActorRegistry
from sitrep.resolution.places import Place
from sitrep.topics import TopicNames
from sitrep.views import casualties as casualties_view
from sitrep.views.casualties import Casualties, PeriodFigures, ReadReport, read_report
from sitrep.views.figures import Figure, point, reconcile
from sitrep.views.ledger import Filed
from sitrep.views.moments import Asked, end_of_day, order_key
from sitrep.views.refs import actor_ref
from sitrep.views.statements import statement_of

TALLY = "tally"
REPORTS, CLAIMS, PERIODS, SUM, PARTIES, STALE = "r", "c", "g", "sum", "p", "stale"
SAID, RETRACTED, AS_OF = "s", "x", "asof"

CITED_KEPT = 20_000
"""How many reports' citations are kept (a few hundred bytes each)."""

Reader = Callable[[str, str], Filed]
"""A ledger's report by its event id."""

_ZERO = datetime(1, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_DAYS = 10**7
"""Above every date's ordinal: a period's key counts down from it, so the latest sorts first."""


def kind_of(ledger: str) -> str:
    return ledger.partition(":")[0]


def is_tallied(ledger: str) -> bool:
    return kind_of(ledger) in ("casualties", "statements")


def _moment(value: datetime) -> str:
    return f"{(value - _ZERO) // _MICROSECOND:018d}"


def _order(event: Event) -> tuple[str, str, str]:
    return _moment(event.starts_at), _moment(event.reported_at), event.id


def _period_key(end: int) -> str:
    return f"{_DAYS - end:07d}"


def _claim_key(read: ReadReport) -> str:
    # Equal claims have equal reprs (strings, dates, ints and validated count ranges).
    return hashlib.blake2b(repr(read.claim).encode(), digest_size=12).hexdigest()


def _figure(value: list[int | None] | None) -> Figure | None:
    if value is None:
        return None
    low, best, high = value
    assert low is not None
    return Figure(low, best, high)


def _listed(figure: Figure | None) -> list[int | None] | None:
    return None if figure is None else [figure.low, figure.best, figure.high]


Member = list[Any]
"""A claim in a period: [first day, last day (ordinals), event id, killed, wounded]."""


def _span(member: Member) -> tuple[int, int, str]:
    return member[0], member[1], member[2]


def _periods_of(members: list[Member]) -> list[dict[str, Any]]:
    """Claims grouped as :func:`sitrep.views.casualties` groups them: overlapping periods
    together, each group's figures reconciled."""
    members = sorted(members, key=_span)
    groups: list[list[Member]] = []
    end = -1
    for member in members:
        if groups and member[0] <= end:
            groups[-1].append(member)
            end = max(end, member[1])
        else:
            groups.append([member])
            end = member[1]
    return [_period(group) for group in groups]


def _period(members: list[Member]) -> dict[str, Any]:
    killed = reconcile([f for m in members if (f := _figure(m[3])) is not None])
    wounded = reconcile([f for m in members if (f := _figure(m[4])) is not None])
    return {
        "start": min(m[0] for m in members),
        "end": max(m[1] for m in members),
        "members": members,
        "killed": _listed(killed),
        "wounded": _listed(wounded),
    }


class Tallies:
    """What casualties and statements ledgers' records are made from, over ``kv``."""

    def __init__(self, kv: KeyValue, report: Reader) -> None:
        self.kv = kv
        self.report = report
        self._cited = Recent(CITED_KEPT)
        """How each report was last cited, with the registry and denials it was cited with:
        a record cites its latest 50 or 100 reports again at each new one, and reading each
        back and citing it again cost more than all the rest of making the record."""

    def _cite(
        self,
        ledger: str,
        event_id: str,
        denial_ids: list[str],
        registry: ActorRegistry,
        cite: Callable[[Filed, tuple[ClaimDeniedEvent, ...]], Any],
    ) -> Any:
        known = self._cited.recall(event_id)
        if known is not None and known[0] is registry and known[1] == denial_ids:
            return known[2]
        cited = cite(self.report(ledger, event_id), self._denials(ledger, denial_ids))
        self._cited.keep(event_id, (registry, denial_ids, cited))
        return cited

    # --- filing ----------------------------------------------------------------------------

    def add(self, ledger: str, event: Event, place: Place | None, registry: ActorRegistry) -> None:
        """Take in a report newly filed in ``ledger`` (its answers always come after it)."""
        self._saw(ledger, event)
        if isinstance(event, ClaimDeniedEvent):
            self._deny(ledger, event, +1)
        elif isinstance(event, EventRetractedEvent):
            self._retract(ledger, event.data.event_id, registry)
        elif isinstance(event, StatementIssuedEvent):
            self.kv.put(key(TALLY, SAID, ledger, *_order(event)), b"[]")
        elif isinstance(event, CasualtiesReportedEvent) and self._counts_now(ledger, event.id):
            self._count(ledger, event, place, registry)

    def _saw(self, ledger: str, event: Event) -> None:
        """Keep the ledger's latest event time and report time (the record's moment)."""
        at_key = key(TALLY, AS_OF, ledger)
        found = self.kv.get(at_key)
        latest = (event.starts_at, event.reported_at, event.id)
        if found is not None:
            was_start, was_reported, was_id = orjson.loads(found)
            was = (datetime.fromisoformat(was_start), datetime.fromisoformat(was_reported), was_id)
            # Of equal report times the first in id order, as max() over the ledger finds it.
            reported = min((latest[1:], was[1:]), key=lambda r: (-r[0].timestamp(), r[1]))
            latest = (max(latest[0], was[0]), *reported)
            if latest == was:
                return
        start, reported_at, event_id = latest
        self.kv.put(at_key, orjson.dumps([start.isoformat(), reported_at.isoformat(), event_id]))

    def _retract(self, ledger: str, target: str, registry: ActorRegistry) -> None:
        gone = key(TALLY, RETRACTED, ledger, target)
        if self.kv.get(gone) is not None:
            return
        self.kv.put(gone, b"")
        filed = self.report(ledger, target)
        event = filed.event
        if isinstance(event, ClaimDeniedEvent):
            self._deny(ledger, event, -1)
        elif isinstance(event, StatementIssuedEvent):
            self.kv.delete(key(TALLY, SAID, ledger, *_order(event)))
        elif isinstance(event, CasualtiesReportedEvent) and self._counts_now(ledger, target):
            self._uncount(ledger, event, filed.place, registry)

    def _deny(self, ledger: str, denial: ClaimDeniedEvent, change: int) -> None:
        """Note a denial on the entry of the report it denies (``change`` -1: retracted); a
        report retracted, or one no record cites (a denial), has none."""
        target = self.report(ledger, denial.data.event_id).event
        if isinstance(target, StatementIssuedEvent):
            entry = key(TALLY, SAID, ledger, *_order(target))
        elif isinstance(target, CasualtiesReportedEvent):
            entry = key(TALLY, REPORTS, ledger, *_order(target))
        else:
            return
        found = self.kv.get(entry)
        if found is None:
            return
        ids = [i for i in orjson.loads(found) if i != denial.id]
        if change > 0:
            ids.append(denial.id)
        self.kv.put(entry, orjson.dumps(ids))

    def stale(self, ledger: str) -> None:
        """A new registry may read ``ledger``'s claims and parties differently: tally its
        casualties again before its record is next made."""
        if kind_of(ledger) == "casualties":
            self.kv.put(key(TALLY, STALE, ledger), b"")

    def is_stale(self, ledger: str) -> bool:
        return self.kv.get(key(TALLY, STALE, ledger)) is not None

    def _stage(self, ledger: str) -> tuple[str, str] | None:
        """Where tallying a stale ledger again stands: its phase (``new``, ``count``,
        ``deny``) and the last report id it went through; None: the tally is current."""
        found = self.kv.get(key(TALLY, STALE, ledger))
        if found is None:
            return None
        if not found:
            return "new", ""
        phase, cursor = orjson.loads(found)
        return phase, cursor

    def _counts_now(self, ledger: str, event_id: str) -> bool:
        """Whether a casualty report filed or retracted now changes the tally now; if not,
        the tally under way reads it when it gets to it."""
        stage = self._stage(ledger)
        if stage is None:
            return True
        phase, cursor = stage
        return phase == "deny" or (phase == "count" and event_id <= cursor)

    # --- casualties: counting and uncounting a report --------------------------------------

    def _tally(
        self,
        ledger: str,
        event: CasualtiesReportedEvent,
        place: Place | None,
        registry: ActorRegistry,
        change: int,
    ) -> tuple[ReadReport, tuple[str, str, str], bytes, tuple[bytes, bytes] | None]:
        """Count a report in or out (``change``) of the ledger's reports, its party and its
        sums; what it reads, its order, its claim's key prefix and the claim's first report
        before this change."""
        read = read_report(event, place, (), registry)  # denials: cited when a record is made
        order = _order(event)
        entry = key(TALLY, REPORTS, ledger, *order)
        if change > 0:
            self.kv.put(entry, b"[]")
        else:
            self.kv.delete(entry)
        self._party(ledger, read.party, change)
        self._add_to_sum(ledger, reports=change)
        claim = key(TALLY, CLAIMS, ledger, _claim_key(read), "")
        return read, order, claim, next(self.kv.scan(claim), None)

    def _count(
        self,
        ledger: str,
        event: CasualtiesReportedEvent,
        place: Place | None,
        registry: ActorRegistry,
    ) -> None:
        read, order, claim, first = self._tally(ledger, event, place, registry, +1)
        self.kv.put(claim + SEP.join(p.encode() for p in order), b"")
        member = self._member(read, event.id)
        if first is None:
            self._merge(ledger, member)
        elif order < _split_order(first[0]):
            # The claim counts as its first report now: the same period and figures.
            self._replace(ledger, member, _split_order(first[0])[2])

    def _uncount(
        self,
        ledger: str,
        event: CasualtiesReportedEvent,
        place: Place | None,
        registry: ActorRegistry,
    ) -> None:
        kv = self.kv
        read, order, claim, first = self._tally(ledger, event, place, registry, -1)
        assert first is not None, f"{event.id} was counted in {ledger}"
        kv.delete(claim + SEP.join(p.encode() for p in order))
        if _split_order(first[0]) != order:
            return  # the claim still counts as the report it counted as
        member = self._member(read, event.id)
        after = next(kv.scan(claim), None)
        if after is not None:
            self._replace(ledger, member, event.id, _split_order(after[0])[2])
        else:
            self._remove(ledger, member)

    @staticmethod
    def _member(read: ReadReport, event_id: str) -> Member:
        cited = read.cited
        return [
            cited.period_start.toordinal(),
            cited.period_end.toordinal(),
            event_id,
            _listed(cited.killed),
            _listed(cited.wounded),
        ]

    def _party(self, ledger: str, party: str, change: int) -> None:
        party_key = key(TALLY, PARTIES, ledger, party)
        found = self.kv.get(party_key)
        count = (0 if found is None else int(found)) + change
        if count:
            self.kv.put(party_key, str(count).encode())
        else:
            self.kv.delete(party_key)

    def _period_holding(self, ledger: str, start: int, end: int) -> tuple[bytes, dict[str, Any]]:
        """The period whose days hold ``start``..``end``: the first ending on or after ``end``."""
        prefix = key(TALLY, PERIODS, ledger, "")
        found = next(self.kv.scan(prefix, start=prefix + _period_key(end).encode(), reverse=True))
        period: dict[str, Any] = orjson.loads(found[1])
        assert period["start"] <= start, f"{found[0]!r} holds the days {start}..{end}"
        assert period["end"] >= end, f"{found[0]!r} holds the days {start}..{end}"
        return found[0], period

    def _merge(self, ledger: str, member: Member) -> None:
        """Take a claim into the periods: it joins every period it overlaps into one."""
        start, end = member[0], member[1]
        prefix = key(TALLY, PERIODS, ledger, "")
        overlapped = []
        for found, value in self.kv.scan(
            prefix, start=prefix + _period_key(start).encode(), reverse=True
        ):
            period = orjson.loads(value)
            if period["start"] > end:
                break
            overlapped.append((found, period))
        members = [member]
        for _, period in overlapped:
            members.extend(period["members"])
        self._swap(ledger, overlapped, _periods_of(members))

    def _remove(self, ledger: str, member: Member) -> None:
        """Take a claim out of its period, which may fall apart into several."""
        found, period = self._period_holding(ledger, member[0], member[1])
        left = [m for m in period["members"] if m[2] != member[2]]
        self._swap(ledger, [(found, period)], _periods_of(left) if left else [])

    def _replace(self, ledger: str, member: Member, was: str, now: str | None = None) -> None:
        """A claim counts as another of its reports: ``now`` (default ``member``'s) for ``was``."""
        found, period = self._period_holding(ledger, member[0], member[1])
        members = [
            [*m[:2], now or member[2], *m[3:]] if m[2] == was else m for m in period["members"]
        ]
        self._swap(ledger, [(found, period)], [{**period, "members": sorted(members, key=_span)}])

    def _swap(
        self,
        ledger: str,
        old: list[tuple[bytes, dict[str, Any]]],
        new: list[dict[str, Any]],
    ) -> None:
        for found, period in old:
            self.kv.delete(found)
            self._add_to_sum(ledger, periods=-1, period=period, sign=-1)
        for period in new:
            self.kv.put(
                key(TALLY, PERIODS, ledger, _period_key(period["end"])), orjson.dumps(period)
            )
            self._add_to_sum(ledger, periods=1, period=period, sign=1)

    def _add_to_sum(
        self,
        ledger: str,
        *,
        reports: int = 0,
        periods: int = 0,
        period: dict[str, Any] | None = None,
        sign: int = 1,
    ) -> None:
        sum_key = key(TALLY, SUM, ledger)
        found = self.kv.get(sum_key)
        # [reports, periods, killed: low, best, high, open-ended, wounded: ..., periods with it]
        sums: list[int] = orjson.loads(found) if found is not None else [0] * 11
        sums[0] += reports
        sums[1] += periods
        if period is not None:
            for at, value in ((2, period["killed"]), (6, period["wounded"])):
                figure = _figure(value)
                if figure is None:
                    continue
                sums[at] += sign * figure.low
                sums[at + 1] += sign * point(figure)
                sums[at + 2] += sign * (figure.high or 0)
                sums[at + 3] += sign * (figure.high is None)
                if at == 6:
                    sums[10] += sign
        self.kv.put(sum_key, orjson.dumps(sums))

    def retally(
        self,
        ledger: str,
        reports: Callable[[str], Iterator[tuple[str, Filed]]],
        registry: ActorRegistry,
        spent: Callable[[], bool],
    ) -> bool:
        """Tally a stale casualties ledger again, from ``reports(after)`` (its reports after
        an id, in id order), until ``spent()`` (at least one report a call); True once done.

        Reports filed meanwhile are counted at once when the tally went past them, else when
        it reaches them (:meth:`_counts_now`); denials are noted on what they deny in a second
        pass, once every report is counted."""
        kv = self.kv
        stage = self._stage(ledger)
        if stage is None:
            return True
        phase, cursor = stage
        if phase == "new":
            for kind in (REPORTS, CLAIMS, PERIODS, PARTIES):
                for found, _ in list(kv.scan(key(TALLY, kind, ledger, ""))):
                    kv.delete(found)
            kv.delete(key(TALLY, SUM, ledger))
            phase = "count"
        while True:
            for event_id, item in reports(cursor):
                event = item.event
                if self._retracted(ledger, event_id):
                    pass
                elif phase == "count" and isinstance(event, CasualtiesReportedEvent):
                    self._count(ledger, event, item.place, registry)
                elif phase == "deny" and isinstance(event, ClaimDeniedEvent):
                    self._deny(ledger, event, +1)
                cursor = event_id
                if spent():
                    kv.put(key(TALLY, STALE, ledger), orjson.dumps([phase, cursor]))
                    return False
            if phase == "deny":
                kv.delete(key(TALLY, STALE, ledger))
                return True
            phase, cursor = "deny", ""
            kv.put(key(TALLY, STALE, ledger), orjson.dumps([phase, cursor]))

    def _retracted(self, ledger: str, event_id: str) -> bool:
        return self.kv.get(key(TALLY, RETRACTED, ledger, event_id)) is not None

    # --- making records --------------------------------------------------------------------

    def asked(self, ledger: str) -> Asked:
        """:func:`~sitrep.engine.projection.as_of` the ledger."""
        found = self.kv.get(key(TALLY, AS_OF, ledger))
        assert found is not None, f"nothing filed in {ledger}"
        start, reported, _ = orjson.loads(found)
        latest = datetime.fromisoformat(start)
        return Asked(end_of_day(latest.astimezone(UTC).date()), datetime.fromisoformat(reported))

    def parties(self, ledger: str) -> int:
        """How many parties the ledger's casualty reports count (at most 2: "several")."""
        found = self.kv.scan(key(TALLY, PARTIES, ledger, ""))
        return sum(1 for _ in zip(range(2), found, strict=False))

    def _denials(self, ledger: str, ids: list[str]) -> tuple[ClaimDeniedEvent, ...]:
        out = []
        for denial_id in ids:
            event = self.report(ledger, denial_id).event
            assert isinstance(event, ClaimDeniedEvent)
            out.append(event)
        return tuple(sorted(out, key=order_key))

    def _latest(self, prefix: bytes, count: int) -> list[tuple[str, list[str]]]:
        """The last ``count`` entries under ``prefix`` in order, oldest first: each report's
        id and its denials' ids."""
        found = [
            (entry.rsplit(SEP, 1)[1].decode(), orjson.loads(value))
            for entry, value in _first(self.kv.scan(prefix, reverse=True), count)
        ]
        return found[::-1]

    def casualties(self, ledger: str, registry: ActorRegistry) -> Casualties | None:
        """The party's casualties now (None: no report counts), when one party's reports
        fill the ledger (see :meth:`parties`)."""
        found = self.kv.get(key(TALLY, SUM, ledger))
        sums: list[int] = orjson.loads(found) if found is not None else [0] * 11
        if not sums[0]:
            return None
        prefix = key(TALLY, REPORTS, ledger, "")
        first = next(self.kv.scan(prefix))[0].rsplit(SEP, 1)[1].decode()
        party = self.report(ledger, first).event
        assert isinstance(party, CasualtiesReportedEvent)
        shown = casualties_view.SHOWN
        periods = [
            orjson.loads(value)
            for _, value in _first(self.kv.scan(key(TALLY, PERIODS, ledger, "")), shown)
        ][::-1]

        def cite(item: Filed, denied: tuple[ClaimDeniedEvent, ...]) -> Any:
            assert isinstance(item.event, CasualtiesReportedEvent)
            return read_report(item.event, item.place, denied, registry).cited

        cited = [
            self._cite(ledger, event_id, denial_ids, registry, cite)
            for event_id, denial_ids in self._latest(prefix, shown)
        ]
        return Casualties(
            party=actor_ref(registry, party.data.party),
            killed=_total(sums[2:6]),
            wounded=_total(sums[6:10]) if sums[10] else None,
            periods=tuple(
                PeriodFigures(
                    date.fromordinal(p["start"]),
                    date.fromordinal(p["end"]),
                    killed,
                    _figure(p["wounded"]),
                    tuple(m[2] for m in p["members"]),
                )
                for p in periods
                if (killed := _figure(p["killed"])) is not None
            ),
            reports=tuple(cited),
            period_count=sums[1],
            report_count=sums[0],
        )

    def statements(self, ledger: str, registry: ActorRegistry, count: int) -> list[Any]:
        """The latest ``count`` statements, newest first."""

        def cite(item: Filed, denied: tuple[ClaimDeniedEvent, ...]) -> Any:
            assert isinstance(item.event, StatementIssuedEvent)
            return statement_of(item.event, denied, registry)

        return [
            self._cite(ledger, event_id, denial_ids, registry, cite)
            for event_id, denial_ids in self._latest(key(TALLY, SAID, ledger, ""), count)[::-1]
        ]


def _total(sums: list[int]) -> Figure:
    low, best, high, open_ended = sums
    return Figure(low, best, None if open_ended else high)


def _split_order(found: bytes) -> tuple[str, str, str]:
    parts = found.rsplit(SEP, 3)[1:]
    return parts[0].decode(), parts[1].decode(), parts[2].decode()


def _first(items: Iterator[tuple[bytes, bytes]], count: int) -> Iterator[tuple[bytes, bytes]]:
    for _, item in zip(range(count), items, strict=False):
        yield item


def records(
    tallies: Tallies, ledger: str, registry: ActorRegistry, names: TopicNames
) -> dict[tuple[str, str], bytes | None]:
    """The record of a casualties or statements ledger now."""
    name = ledger.partition(":")[2]
    asked = tallies.asked(ledger)
    if kind_of(ledger) == "casualties":
        party = tallies.casualties(ledger, registry)
        record = (names.view_casualties, name)
        return {record: None if party is None else view_record(asked, party)}
    said = tallies.statements(ledger, registry, projection.STATEMENTS_SHOWN)
    return {(names.view_statements, name): view_record(asked, said) if said else None}
