"""The API's picture of the situation, kept in a store: every ledger on disk, the ones asked
about lately in memory.

The read model files each event with the engine (:class:`~sitrep.engine.engine.Engine`), so
routing and filing are the worker's own rules, and keeps nothing of the log in memory but
what :class:`StoredLedgers` caches: a ledger read is decoded from the store and kept, up to
``SITREP_API_CACHED_REPORTS`` reports in all, the least recently asked dropped first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime

import orjson

from sitrep.contract.events import (
    ClaimDeniedEvent,
    EventRetractedEvent,
    StatementIssuedEvent,
    StrikeReportedEvent,
    start_of,
)
from sitrep.engine.entities import ANSWER, PLACE, control_entity, is_place_ledger, last_part
from sitrep.engine.folding import Folder
from sitrep.engine.keyvalue import SEP, KeyValue, key
from sitrep.engine.recent import Recent
from sitrep.engine.routing import Router, place_from
from sitrep.resolution.places import Gazetteer, Place
from sitrep.views.ledger import Ledger
from sitrep.views.moments import day_of

LEDGER, STRIKE_DAY, SAID = "ledger", "strikeday", "said"
DAYS_KEPT = 2_000
"""How many days' lists of strike reports the API keeps in memory (a few KB each)."""
CACHED_REPORTS = 100_000
"""How many reports the ledgers kept in memory hold in all (a few KB each, decoded):
``SITREP_API_CACHED_REPORTS``."""


def moment_key(moment: datetime) -> str:
    """A moment as a key part that sorts as the moment does."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


class StoredLedgers(Mapping[str, Ledger]):
    """Every ledger by key, and the part of one that makes an entity, read from the store
    when asked and cached."""

    def __init__(self, kv: KeyValue, folder: Folder, cached_reports: int = CACHED_REPORTS) -> None:
        self.kv = kv
        self.folder = folder
        self.cached_reports = cached_reports
        self._cache: OrderedDict[tuple[str, str], Ledger] = OrderedDict()
        """By (ledger, entity): "" for the whole ledger."""
        self._of_ledger: dict[str, set[str]] = {}
        self._cached = 0

    def note(self, ledger: str) -> None:
        """``ledger`` was filed in: listed if new, and read again when next asked."""
        listed = key(LEDGER, ledger)
        if self.kv.get(listed) is None:
            self.kv.put(listed, b"")
        for entity in self._of_ledger.pop(ledger, ()):
            dropped = self._cache.pop((ledger, entity), None)
            if dropped is not None:
                self._cached -= len(dropped)

    def __getitem__(self, ledger: str) -> Ledger:
        found = self._cache.get((ledger, ""))
        if found is not None:
            self._cache.move_to_end((ledger, ""))
            return found
        if self.kv.get(key(LEDGER, ledger)) is None:
            raise KeyError(ledger)
        return self._keep(ledger, "", self.folder.ledger(ledger))

    def entity(self, ledger: str, entity: str) -> Ledger:
        """The reports of ``ledger`` that make ``entity``, as the engine indexes them (taken
        from the whole ledger, read in one scan)."""
        found = self._cache.get((ledger, entity))
        if found is not None:
            self._cache.move_to_end((ledger, entity))
            return found
        whole = self[ledger].filed
        members = self.folder.index.members(entity)
        return self._keep(ledger, entity, Ledger(ledger, {i: whole[i] for i in members}))

    def _keep(self, ledger: str, entity: str, found: Ledger) -> Ledger:
        self._cache[(ledger, entity)] = found
        self._of_ledger.setdefault(ledger, set()).add(entity)
        self._cached += len(found)
        while self._cached > self.cached_reports and len(self._cache) > 1:
            (old_ledger, old_entity), old = self._cache.popitem(last=False)
            self._of_ledger.get(old_ledger, set()).discard(old_entity)
            self._cached -= len(old)
        return found

    @property
    def cached(self) -> int:
        """How many reports the ledgers kept in memory hold."""
        return self._cached

    def __contains__(self, ledger: object) -> bool:
        return isinstance(ledger, str) and self.kv.get(key(LEDGER, ledger)) is not None

    def __iter__(self) -> Iterator[str]:
        return self.keys_of("")

    def keys_of(self, prefix: str) -> Iterator[str]:
        """The keys of the ledgers that start with ``prefix``, in order."""
        start = len(key(LEDGER, ""))
        for found, _ in self.kv.scan(key(LEDGER, prefix)):
            yield found[start:].decode()

    def __len__(self) -> int:
        return sum(1 for _ in self.kv.scan(key(LEDGER, "")))


class StoredSituation:
    """What the API's answers read: the ledgers, where each event went, the gazetteer."""

    def __init__(
        self,
        kv: KeyValue,
        folder: Folder,
        router: Router,
        gazetteer: Gazetteer,
        cached_reports: int = CACHED_REPORTS,
    ) -> None:
        self.kv = kv
        self.router = router
        self.gazetteer = gazetteer
        self.ledgers = StoredLedgers(kv, folder, cached_reports)
        self._days: Recent = Recent(DAYS_KEPT)
        """The strike reports of the days read last, by day (ISO), as :meth:`strike_days`
        gives them: a list of strikes reads the same days again at every request."""

    def note_strike(self, ledger: str, event: StrikeReportedEvent) -> None:
        """Index a strike report by its day: the strikes of a day are made from that day's
        reports (a strike's reports are all of its day) and their answers."""
        day = day_of(event).isoformat()
        self.kv.put(key(STRIKE_DAY, day, ledger, event.id), b"")
        self._days.pop(day, None)

    def note_answer(self, ledger: str, event: ClaimDeniedEvent | EventRetractedEvent) -> None:
        """Index a denial or retraction filed outside a place's ledger by what it answers (the
        engine indexes those of places' ledgers): :meth:`with_answers` reads both."""
        if not is_place_ledger(ledger):
            self.kv.put(key(ANSWER, ledger, event.data.event_id, event.id), b"")

    def note_statement(self, ledger: str, event: StatementIssuedEvent) -> None:
        """Index a statement by when it was made, then reported (the order statements are
        listed in, newest first), with the actor it speaks for as named."""
        self.kv.put(
            key(
                SAID,
                moment_key(start_of(event.occurred_at)),
                moment_key(event.reported_at),
                event.id,
                ledger,
            ),
            event.data.actor.encode(),
        )

    def said(
        self, until: datetime, after: tuple[str, ...] | None = None
    ) -> Iterator[tuple[tuple[str, ...], str]]:
        """Each statement made by ``until`` (from just after the sort key ``after``), newest
        first: its sort key (made, reported, id, ledger) and the actor it speaks for as named."""
        top = key(SAID, moment_key(until), b"\xff")
        if after is not None:
            top = min(top, key(SAID, *after))
        for entry, actor in self.kv.scan(key(SAID, ""), start=top, reverse=True):
            sort_key = tuple(entry.decode().split("\x00")[1:])
            if sort_key != after:
                yield sort_key, actor.decode()

    def strike_days(self, first: date | None = None) -> Iterator[tuple[date, dict[str, list[str]]]]:
        """Each day with a strike reported, from ``first`` on: the ids of its strike reports,
        by ledger. A day is found with a seek past the one before; a day read recently and
        not reported on since is not read again."""
        prefix = key(STRIKE_DAY, "")
        start = prefix if first is None else key(STRIKE_DAY, first.isoformat())
        while (entry := next(self.kv.scan(prefix, start=start), None)) is not None:
            day = entry[0][len(prefix) :].split(SEP, 1)[0].decode()
            found: dict[str, list[str]] | None = self._days.recall(day)
            if found is None:
                found = {}
                for report, _ in self.kv.scan(key(STRIKE_DAY, day, "")):
                    _, _, ledger, event_id = (part.decode() for part in report.split(SEP))
                    found.setdefault(ledger, []).append(event_id)
                self._days.keep(day, found)
            yield date.fromisoformat(day), found
            start = key(STRIKE_DAY, day) + b"\x01"

    def with_answers(self, ledger: str, ids: list[str]) -> Ledger:
        """The reports ``ids`` of ``ledger`` with their denials and retractions (and theirs)."""
        chosen = set(ids)
        pending = list(ids)
        while pending:
            target = pending.pop()
            for found, _ in self.kv.scan(key(ANSWER, ledger, target, "")):
                answer = last_part(found)
                if answer not in chosen:
                    chosen.add(answer)
                    pending.append(answer)
        return self.ledgers.folder.ledger(ledger, sorted(chosen))

    def control(self, ledger: str, place_id: str) -> Ledger:
        """The reports that make a place's control view: those about it and the places
        within it, with their denials and retractions."""
        return self.ledgers.entity(ledger, control_entity(place_id))

    def places_filed(self) -> Iterator[tuple[str, Place]]:
        """Every place reported, with the key of the ledger it is filed in, from the index
        the engine keeps (no report is read)."""
        for found, value in self.kv.scan(key(PLACE, "")):
            _, ledger, _ = found.split(SEP, 2)
            place = place_from(orjson.loads(value))
            if place is not None and is_place_ledger(ledger.decode()):
                yield ledger.decode(), place
