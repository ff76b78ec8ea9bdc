"""The present, kept made in the read model's store with indexes over it: every place's
control and every party's casualties now, so that questions about now (the situation of a
region, who holds what, the parties' losses) read a few index entries instead of projecting
every place or party.

Filing a report marks what it may change as due: the place and those enclosing it (every
place of the ledger when the place is new there), the parties of a casualties ledger
(:mod:`sitrep.api.now_parties`), everything when the registry changes. :meth:`NowIndex.make`
makes what is due as it stands at a moment, a slice at a time within a time budget, and
files each place under the indexes the situation reads, for each region it lies in
(everywhere, its country, its admin1, both):

- ``nowhold/<region>/<actor id>/<folded name>\\0<place id>`` → the holder as the place's
  view names it, and the place as an actor's view lists it;
- ``nowheldn/<region>/<actor id>`` → how many places the actor holds there, and
  ``nowrank/<region>/<10^10 - count>/<actor id>`` → ``b""``: holders, most places first;
- ``nowunset/<region>/<folded name>\\0<place id>`` → a disputed or contested place and why,
  with ``nowunsetn/<region>`` counting them;
- ``nowchg/<region>/<start>/<place id>/<999999 - i>`` → the place's i-th change of hands
  (baselines left out), by when it happened.

What is made is a unit: ``p:<place id>``, ``l:<casualties ledger>`` (whose parties are then
due), ``k:<party id>``, ``r:`` (the registry changed). Besides:

- ``nowrec/<unit>`` → the index keys a unit is filed under, and when its view stops holding;
- ``nowexp/<until>/<unit>`` → the unit's ledger: when a view stops holding;
- ``nowdue/<unit>`` → its ledger: a unit to make again.

A view made at ``T`` from every report known holds for any moment ``at`` from the latest of
its reports' starts (and, for a place, starts + 72 hours) at or before ``T``, until the first
after ``T``: nothing else in a control view or a party's casualties depends on ``at`` (a
report becomes visible at its start; a clash or withdrawal stops contesting a place 72 hours
after). :meth:`NowIndex.fresh_for` says whether every view holds for a question, which then
reads the indexes alone.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from datetime import datetime, timedelta

import orjson

from sitrep.api.answers import Shared
from sitrep.api.now_parties import CASUALTIES, RANKED, PartyIndex
from sitrep.api.stored import StoredSituation, moment_key
from sitrep.contract import Event
from sitrep.contract.events import CasualtiesReportedEvent, start_of
from sitrep.engine.entities import PLACE, is_place_ledger, last_part
from sitrep.engine.keyvalue import SEP, KeyValue, key
from sitrep.resolution.names import fold, skeleton
from sitrep.resolution.places import Place
from sitrep.views.actors import descriptions
from sitrep.views.control import ControlView, control_view
from sitrep.views.ledger import Filed, Ledger, visible
from sitrep.views.moments import CONTESTED_WINDOW, Asked
from sitrep.views.routing import REGISTRY_KEY

REC, HOLD, HELD_N, RANK = "nowrec", "nowhold", "nowheldn", "nowrank"
UNSETTLED, UNSETTLED_N, CHANGE, EXPIRES, DUE = (
    "nowunset",
    "nowunsetn",
    "nowchg",
    "nowexp",
    "nowdue",
)
DESCRIBED = key("meta", "now-described")
FROM = key("meta", "now-from")
"""The latest moment from which every view made holds (it only grows)."""
COUNT_BASE = 10**10
ENCODED_KEPT = 64
ENCODED_BYTES_KEPT = 16 * 1024 * 1024
"""How many pages read from the index are kept encoded, and how many bytes of them: past
either, all are forgotten (a page of 20 parties' casualties is over half a megabyte)."""
EVERYWHERE = "*"


def regions_of(place: Place) -> list[str]:
    """The regions a place is listed in: everywhere, its country, its admin1, both."""
    out = [EVERYWHERE]
    country = (place.country or "").upper() or None
    admin1 = skeleton(place.admin1) if place.admin1 is not None else None
    if country is not None:
        out.append(f"c={country}")
    if admin1 is not None:
        out.append(f"a={admin1}")
        if country is not None:
            out.append(f"c={country};a={admin1}")
    return out


def region_of(country: str | None, admin1: str | None) -> str:
    """The region a question names (``admin1`` as the gazetteer names the region)."""
    parts = []
    if country is not None:
        parts.append(f"c={country.upper()}")
    if admin1 is not None:
        parts.append(f"a={skeleton(admin1)}")
    return ";".join(parts) or EVERYWHERE


def seen_at(ledger: Ledger, place_id: str, asked: Asked) -> bool:
    """Whether any report about the place is visible as asked (else it is not listed)."""
    return any(
        f.place is not None and f.place.id == place_id for f in visible(ledger, asked).reports
    )


def _held(place_id: str, name: str) -> str:
    return f"{fold(name)}\x00{place_id}"


def entries(view: ControlView) -> dict[bytes, bytes]:
    """The index entries of one place's view."""
    place = view.place
    out: dict[bytes, bytes] = {}
    by_name = _held(place.id, place.name)
    changes = [
        (i, change)
        for i, change in enumerate(view.history)
        # A baseline says who held a place all along: not a change of hands.
        if change.method != "baseline"
    ]
    for region in regions_of(place):
        if view.controller is not None:
            since = view.since.isoformat() if view.since is not None else None
            held = {"place_id": place.id, "name": place.name, "since": since}
            out[key(HOLD, region, view.controller.id, by_name)] = orjson.dumps(
                {"actor": view.controller, "held": {**held, "status": view.status}}
            )
        if view.status in ("disputed", "contested"):
            out[key(UNSETTLED, region, by_name)] = orjson.dumps(
                {
                    "place_id": place.id,
                    "name": place.name,
                    "status": view.status,
                    "reasons": view.reasons,
                }
            )
        for i, change in changes:
            at = moment_key(start_of(change.occurred_at))
            out[key(CHANGE, region, at, place.id, f"{999_999 - i:06d}")] = orjson.dumps(
                {"place_id": place.id, "name": place.name, "change": change}
            )
    return out


def holds(
    reports: Iterable[Filed], made_at: datetime, window: timedelta | None = None
) -> tuple[datetime | None, datetime | None]:
    """Between which moments a view made at ``made_at`` from ``reports`` holds: from the
    latest start of a report (and, with ``window``, that start + ``window``) at or before
    ``made_at``, until the first after."""
    shifts = (timedelta(0),) if window is None else (timedelta(0), window)
    marks = [f.event.starts_at + shift for f in reports for shift in shifts]
    since = max((m for m in marks if m <= made_at), default=None)
    until = min((m for m in marks if m > made_at), default=None)
    return since, until


class NowIndex:
    """The control of every place now and its indexes, in ``situation``'s store."""

    def __init__(
        self, situation: StoredSituation, *, timer: Callable[[], float] = time.perf_counter
    ) -> None:
        self.situation = situation
        self.kv: KeyValue = situation.kv
        self.timer = timer
        self._due: dict[str, str] = {
            last_part(found): value.decode() for found, value in self.kv.scan(key(DUE, ""))
        }
        """What is due, in the order it became due: ``p:<place id>`` → its ledger,
        ``l:<casualties ledger>`` (its parties), ``k:<party id>``, ``r:`` (the registry)."""
        self.parties = PartyIndex(self.kv)
        self._settled = False
        self._last_described: tuple[tuple[Ledger | None, Asked], str] | None = None
        self.version = 0
        """How many times a view was made: what was read from the index at one version
        holds until the next."""
        self._encoded: dict[Hashable, bytes] = {}
        self._encoded_version = -1
        self._encoded_bytes = 0
        found = self.kv.get(FROM)
        self.since: datetime | None = (
            datetime.fromisoformat(found.decode()) if found is not None else None
        )
        self._shared = Shared(situation)
        found = self.kv.get(DESCRIBED)
        self.described = found.decode() if found is not None else None
        """Which descriptions made the registry the views were made with (:meth:`_described`)."""

    # --- what filing changes ---------------------------------------------------------------

    def filed(self, ledger: str, event: Event, place: Place | None, new_place: bool) -> None:
        """``event`` was filed in ``ledger`` about ``place`` (``new_place``: new there)."""
        if ledger == REGISTRY_KEY:
            # Made at once by :meth:`make`, which finds the registry changed: everything.
            self._mark("r:")
            return
        if ledger.startswith(CASUALTIES):
            if isinstance(event, CasualtiesReportedEvent):
                self.parties.named(ledger, event.data.party)
            self._mark(f"l:{ledger}")
            return
        if not is_place_ledger(ledger) or place is None:
            return
        places = self.situation.ledgers.folder.index.places(ledger)
        if new_place:
            for place_id in places:
                self._mark(f"p:{place_id}", ledger)
            return
        current: str | None = place.id
        seen: set[str] = set()
        while current is not None and current in places and current not in seen:
            seen.add(current)
            self._mark(f"p:{current}", ledger)
            current = places[current].parent

    def _remake_all(self) -> None:
        """Mark every place and party due: any name may resolve otherwise now."""
        for found, _ in self.kv.scan(key(PLACE, "")):
            _, place_ledger, place_id = found.decode().split("\x00", 2)
            if is_place_ledger(place_ledger):
                self._mark(f"p:{place_id}", place_ledger)
        for party in self.parties.made():
            self._mark(f"k:{party}")
        for casualties in self.parties.ledgers():
            self._mark(f"l:{casualties}")

    def _described(self, asked: Asked) -> str:
        """Which descriptions of actors make the registry as asked (a digest of their ids)."""
        ledger = self.situation.ledgers.get(REGISTRY_KEY)
        # Asked at every request: the registry's ledger is read again only once filed in.
        if self._last_described is not None:
            (known, known_asked), digest = self._last_described
            if known is ledger and known_asked == asked:
                return digest
        described = descriptions(ledger, asked)
        digest = hashlib.sha256("\x00".join(e.id for e in described).encode()).hexdigest()
        self._last_described = ((ledger, asked), digest)
        return digest

    def _mark(self, unit: str, ledger: str = "") -> None:
        if unit not in self._due:
            self._due[unit] = ledger
            self.kv.put(key(DUE, unit), ledger.encode())

    @property
    def due(self) -> int:
        """How many places and parties wait to be made again."""
        return len(self._due)

    @property
    def settled(self) -> bool:
        """Whether nothing has been due at some point since the process started: the index
        of the present was whole once (it stays so but for what the latest reports changed,
        made within milliseconds, or a registry change, made again in the background)."""
        if not self._settled and not self._due:
            self._settled = True
        return self._settled

    def expire(self, at: datetime) -> None:
        """Mark due the places and parties whose view no longer holds at ``at``."""
        end = key(EXPIRES, moment_key(at), b"\xff")
        for found, ledger in self.kv.scan(key(EXPIRES, "")):
            if found > end:
                break
            self._mark(last_part(found), ledger.decode())

    # --- making ----------------------------------------------------------------------------

    def make(self, at: datetime, known_at: datetime, budget_s: float = float("inf")) -> int:
        """Make the due places' views as they stand at ``at`` (from the reports known at
        ``known_at``: all of them), first come first served, while ``budget_s`` lasts (at
        least one); how many were made."""
        asked = Asked(at, known_at)
        registry = self._shared.registry(asked)
        described = self._described(asked)
        if described != self.described:
            # Views made with another registry (descriptions filed or, asked at another
            # moment, seen) are all made again, and none is read until they are.
            self._remake_all()
            self.described = described
            self.kv.put(DESCRIBED, described.encode())
        started = self.timer()
        made = 0
        while self._due and (not made or self.timer() - started < budget_s):
            unit, ledger = next(iter(self._due.items()))
            kind, _, name = unit.partition(":")
            since: datetime | None = None
            if kind == "p":
                control = self.situation.control(ledger, name)
                view = (
                    control_view(control, name, registry, asked)
                    if seen_at(control, name, asked)
                    else None
                )
                since, until = holds(control, at, CONTESTED_WINDOW)
                self._file(unit, ledger, entries(view) if view is not None else {}, until)
            elif kind == "r":
                pass  # the registry, taken in above
            elif kind == "l":
                for party in self.parties.of(name, registry):
                    self._mark(f"k:{party}")
            else:
                party_of = self.parties.ledgers_of(name, registry)
                reports, made_entries = self.parties.make(
                    name, [self.situation.ledgers[k] for k in party_of], registry, asked
                )
                since, until = holds(reports, at)
                self._file(unit, "", made_entries, until)
            if since is not None and (self.since is None or since > self.since):
                self.since = since
                self.kv.put(FROM, since.isoformat().encode())
            del self._due[unit]
            self.kv.delete(key(DUE, unit))
            made += 1
        return made

    def _file(
        self, unit: str, ledger: str, after: dict[bytes, bytes], until: datetime | None
    ) -> None:
        """File a unit's index entries (none: it is gone), and when they stop holding."""
        self.version += 1
        kv = self.kv
        rec_key = key(REC, unit)
        found = kv.get(rec_key)
        before: set[bytes] = set()
        if found is not None:
            record = orjson.loads(found)
            before = {k.encode() for k in record["keys"]}
            if record["until"] is not None:
                kv.delete(key(EXPIRES, record["until"], unit))
        for gone in before - after.keys():
            kv.delete(gone)
            self._count(gone, -1)
        for entry, value in after.items():
            kv.put(entry, value)
            if entry not in before:
                self._count(entry, +1)
        if not after and until is None:
            kv.delete(rec_key)
            return
        expires = moment_key(until) if until is not None else None
        if expires is not None:
            kv.put(key(EXPIRES, expires, unit), ledger.encode())
        kv.put(rec_key, orjson.dumps({"until": expires, "keys": [k.decode() for k in after]}))

    def _count(self, entry: bytes, delta: int) -> None:
        kind, region, rest = entry.decode().split("\x00", 2)
        if kind == HOLD:
            actor = rest.split("\x00", 1)[0]
            count_key = key(HELD_N, region, actor)
            was = int(self.kv.get(count_key) or b"0")
            if was:
                self.kv.delete(key(RANK, region, f"{COUNT_BASE - was:010d}", actor))
            now = was + delta
            if now:
                self.kv.put(count_key, str(now).encode())
                self.kv.put(key(RANK, region, f"{COUNT_BASE - now:010d}", actor), b"")
            else:
                self.kv.delete(count_key)
        elif kind == UNSETTLED:
            count_key = key(UNSETTLED_N, region)
            self.kv.put(count_key, str(int(self.kv.get(count_key) or b"0") + delta).encode())

    # --- reading ---------------------------------------------------------------------------

    def encoded(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        """``make()``, kept for ``key`` (which names the question whole) until a view is made
        again: lists read from the index change only then."""
        if self._encoded_version != self.version:
            self._encoded.clear()
            self._encoded_bytes = 0
            self._encoded_version = self.version
        found = self._encoded.get(key)
        if found is None:
            if len(self._encoded) >= ENCODED_KEPT or self._encoded_bytes > ENCODED_BYTES_KEPT:
                self._encoded.clear()
                self._encoded_bytes = 0
            found = self._encoded[key] = make()
            self._encoded_bytes += len(found)
        return found

    def ready(
        self, asked: Asked, latest_report: datetime | None, *, present: bool, budget_s: float
    ) -> bool:
        """:meth:`fresh_for`, once what is due is made (for a question about the present,
        within ``budget_s``)."""
        knows_all = latest_report is None or asked.known_at >= latest_report
        if present and knows_all and not self.fresh_for(asked, latest_report):
            self.expire(asked.at)
            self.make(asked.at, asked.known_at, budget_s)
        return self.fresh_for(asked, latest_report)

    def fresh_for(self, asked: Asked, latest_report: datetime | None) -> bool:
        """Whether every place's view made holds for ``asked``: reading the indexes then
        answers as projecting every place would."""
        if self._due or self._described(asked) != self.described:
            return False
        if latest_report is not None and asked.known_at < latest_report:
            return False
        if self.since is not None and asked.at < self.since:
            return False
        first = next(self.kv.scan(key(EXPIRES, "")), None)
        if first is None:
            return True
        until = first[0].split(SEP)[1].decode()
        return moment_key(asked.at) < until

    def holders(self, region: str) -> Iterator[str]:
        """The ids of the actors holding places in ``region``, most places first."""
        for found, _ in self.kv.scan(key(RANK, region, "")):
            yield last_part(found)

    def holder_ids(self, region: str) -> Iterator[str]:
        """The ids of the actors holding places in ``region``, by id."""
        for found, _ in self.kv.scan(key(HELD_N, region, "")):
            yield last_part(found)

    def held_count(self, region: str, actor: str) -> int:
        return int(self.kv.get(key(HELD_N, region, actor)) or b"0")

    def held(self, region: str, actor: str) -> Iterator[bytes]:
        """What each place ``actor`` holds in ``region`` says of it (JSON), by name."""
        for _, value in self.kv.scan(key(HOLD, region, actor, "")):
            yield value

    def unsettled(self, region: str) -> Iterator[bytes]:
        """The disputed or contested places of ``region`` (JSON), by name."""
        for _, value in self.kv.scan(key(UNSETTLED, region, "")):
            yield value

    def casualties_of(self, party: str) -> bytes | None:
        """A party's casualties now (JSON), if it has any."""
        found = self.kv.get(key(REC, f"k:{party}"))
        if found is None:
            return None
        keys = orjson.loads(found)["keys"]
        ranked = next((k for k in keys if k.startswith(RANKED + "\x00")), None)
        return self.kv.get(ranked.encode()) if ranked is not None else None

    def unsettled_count(self, region: str) -> int:
        return int(self.kv.get(key(UNSETTLED_N, region)) or b"0")

    def changes(self, region: str, since: datetime, until: datetime) -> Iterator[bytes]:
        """The changes of hands in ``region`` that started after ``since`` and by ``until``
        (JSON), newest first."""
        low = moment_key(since)
        top = key(CHANGE, region, moment_key(until), b"\xff")
        for found, value in self.kv.scan(key(CHANGE, region, ""), start=top, reverse=True):
            if found.split(SEP)[2].decode() <= low:
                return
            yield value
