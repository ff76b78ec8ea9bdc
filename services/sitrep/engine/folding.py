"""Filing reports into ledgers, and the view records of the entities they changed.

A report is filed once per ledger (an id already filed there changes nothing), indexed into
the entities it concerns (:mod:`sitrep.engine.entities`), and those entities are marked to be
made again. :meth:`Folder.take_changes` makes the marked entities' view records from their
own reports alone and returns what changed since they were last published.

State (in the :class:`~sitrep.engine.keyvalue.KeyValue` given), besides the entity index:

- ``report/<ledger>/<event id>`` → the report (its event and place, JSON);
- ``due/<ledger>/<entity>`` → ``b""``: an entity to make again (``""``: the whole ledger);
- ``published/<ledger>/<topic>/<key>`` → the view record last published for an entity;
- ``held/<place id>`` → who holds a place, as its control record says;
- ``holds/<actor id>/<place id>`` → the same by actor: the places on its record;
- ``moved/<actor id>`` → ``b""``: an actor whose record is to make again (the places it holds
  changed, or the registry did);
- ``reindex/<ledger>`` → ``b""``: a place ledger whose entities a new registry may redraw;
- ``registry`` → the registry the published records were made with.

Everything the folder needs survives a restart in the store: the entities still due are read
back from it, and a registry that changed meanwhile reaches the ledgers that name its actors.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import orjson

from sitrep.contract import Event, event_to_dict, parse_event
from sitrep.engine.controls import KEPT as PLACES_KEPT
from sitrep.engine.controls import Controls
from sitrep.engine.entities import (
    EntityIndex,
    changed_ids,
    changed_names,
    is_place_ledger,
    last_part,
)
from sitrep.engine.keyvalue import SEP, KeyValue, key
from sitrep.engine.projection import (
    Cache,
    ViewRecords,
    as_of,
    held_place,
    project,
    registry_and_record,
    strike_of,
    view_record,
)
from sitrep.engine.recent import Recent
from sitrep.engine.routing import place_from
from sitrep.engine.tallies import Tallies, is_tallied
from sitrep.engine.tallies import records as tallied_records
from sitrep.resolution.actors import ActorRegistry
from sitrep.resolution.places import Place
from sitrep.topics import TopicNames
from sitrep.views.actors import HeldPlace, actor_view, registry_of
from sitrep.views.ledger import Filed, Ledger
from sitrep.views.moments import Asked
from sitrep.views.routing import REGISTRY_KEY

REPORT, DUE, PUBLISHED, HELD, REGISTRY = "report", "due", "published", "held", "registry"
REINDEX, HOLDS, MOVED = "reindex", "holds", "moved"
HOLDERS = "holders"
"""The entity of the registry's ledger that stands for the actors whose records are due: a
record lists the places its actor holds, which control records move at any time."""

ACTORS_EVERY_S = 1.0
"""How often, at most, the actors whose places changed hands are made again (an actor holding
many places changes hands often)."""
SLICE_S = 0.02
"""How long a make that goes in parts runs at a time: the actors' records after a new registry
(each is made for the moment of the latest description), a party's casualties tallied again."""
SPACING = 8.0
"""An entity whose view took ``c`` seconds to make is made again no sooner than
``SPACING * c`` later (never more than ``MAX_SPACING_S``), so no entity takes more than an
eighth of the time while its reports pour in."""
MAX_SPACING_S = 0.5
REPORTS_KEPT = 20_000
"""How many decoded reports are kept in memory, the most recently read: ≈ 4.4 KB each, the
largest share of a worker's memory besides RocksDB's caches. Control views are made from a
place's latest reports (``sitrep.engine.controls``), so few makes read a place's whole history;
50,000 cost 130 MB more for ≈ 8% less CPU an event (6,000 events folded one by one on a
store of 100,000)."""
MEMOS_KEPT = 256
"""How many casualties and statements ledgers keep what their views made of each report."""


PACED_KEPT = 10_000
"""Entities whose next turn is remembered before those whose turn has come are forgotten: an
entity is held back at most MAX_SPACING_S, and a log's strikes are hundreds of thousands."""


Changes = dict[tuple[str, str], bytes | None]
"""View records to publish, by (topic, key); None removes the record."""


@dataclass
class _Pacing:
    """When each costly entity may be made again (see ``SPACING``)."""

    due: dict[tuple[str, str], float] = field(default_factory=dict)

    def ready(self, unit: tuple[str, str], now: float) -> bool:
        return self.due.get(unit, -math.inf) <= now

    def took(self, unit: tuple[str, str], now: float, seconds: float) -> None:
        if seconds * SPACING > 0.001:
            self.due[unit] = now + min(SPACING * seconds, MAX_SPACING_S)
            if len(self.due) > PACED_KEPT:
                # Most entities are made once (a strike): their turn has long come.
                self.due = {u: at for u, at in self.due.items() if at > now}
        else:
            self.due.pop(unit, None)


def _digest(record: bytes | None) -> str:
    return hashlib.blake2b(record or b"", digest_size=12).hexdigest()


class Folder:
    """Files reports and makes the view records of what they changed, over ``kv``."""

    def __init__(
        self,
        kv: KeyValue,
        names: TopicNames,
        *,
        timer: Callable[[], float] = time.perf_counter,
        on_made: Callable[[str, float], None] | None = None,
        reports_kept: int = REPORTS_KEPT,
        makes_views: bool = True,
        places_kept: int = PLACES_KEPT,
    ) -> None:
        self.kv = kv
        self.makes_views = makes_views
        """False for a reader that answers questions from the reports (the API): no entity
        is marked to be made again."""
        self.names = names
        self.controls = Controls(kv, places_kept)
        self.index = EntityIndex(
            kv,
            self._touched,
            for_views=makes_views,
            joined=self.controls.joined if makes_views else None,
        )
        self.registry = ActorRegistry()
        self._described: tuple[str, bytes | None] = (_digest(None), None)
        """The registry views are made with: a digest of its record (what is stored with a
        view's making names it), and the record."""
        self._actors: tuple[ActorRegistry, Asked] | None = None
        """The registry the registry's ledger makes and the moment its records are made for."""
        self._unfinished = False
        self._slice_s = SLICE_S
        self.timer = timer
        self.on_made = on_made
        """Told of each ledger or entity made and the seconds it took."""
        self._due: dict[tuple[str, str], None] | None = None
        """The entities due since this folder opened, in the order they became due: made first
        come, first served, so an entity newly changed waits for those before it, never behind
        all that follow."""
        self._left: dict[tuple[str, str], None] = {}
        """The entities the store said were due when this folder opened (what an earlier
        process left unmade), made with what time the new ones leave: a restarted worker's
        backlog must not hold up the views of the events that come after it."""
        self._reports: Recent = Recent(reports_kept)
        self._memos: Recent = Recent(MEMOS_KEPT)
        self.tallies = Tallies(kv, self._report)
        self._made: Cache = {}
        self._pacing = _Pacing()

    # --- filing ----------------------------------------------------------------------------

    def file(self, ledger: str, event: Event, place: Place | None) -> bool:
        """File one report; False when the ledger holds its id already."""
        report_key = key(REPORT, ledger, event.id)
        if self.kv.get(report_key) is not None:
            return False
        self.kv.put(report_key, orjson.dumps({"event": event_to_dict(event), "place": place}))
        self._reports.keep((ledger, event.id), Filed(event, place))
        if ledger == REGISTRY_KEY:
            self._actors = None
        if not self.index.add(ledger, event, place, self.registry):
            self.index.rebuild(ledger, self._filed(ledger), self.registry)
        if self.makes_views and is_tallied(ledger):
            self.tallies.add(ledger, event, place, self.registry)
        return True

    def _touched(self, ledger: str, entity: str) -> None:
        if not self.makes_views:
            return
        unit = (ledger, entity)
        due = self._due_units()
        if unit in due:
            return
        due[unit] = None
        if unit in self._left:
            del self._left[unit]  # stored as due already; now among the new ones
        else:
            self.kv.put(key(DUE, ledger, entity), b"")

    def _due_units(self) -> dict[tuple[str, str], None]:
        if self._due is None:
            self._due = {}
            for found, _ in self.kv.scan(key(DUE, "")):
                _, ledger, entity = found.split(SEP, 2)
                self._left[(ledger.decode(), entity.decode())] = None
        return self._due

    @property
    def due(self) -> int:
        """How many entities wait to be made again."""
        return len(self._due_units()) + len(self._left)

    @property
    def left(self) -> int:
        """How many of those an earlier process left due (made after the others)."""
        self._due_units()
        return len(self._left)

    # --- reading reports -------------------------------------------------------------------

    def _report(self, ledger: str, event_id: str, raw: bytes | None = None) -> Filed:
        """A report, decoded once while it is among the most recently read; ``raw``: as
        stored, when a scan read it already."""
        found = self._reports.recall((ledger, event_id))
        if found is None:
            raw = raw if raw is not None else self.kv.get(key(REPORT, ledger, event_id))
            assert raw is not None, f"{event_id} is a member of {ledger} but not filed there"
            data = orjson.loads(raw)
            found = Filed(parse_event(data["event"]), place_from(data["place"]))
            self._reports.keep((ledger, event_id), found)
        return found  # type: ignore[no-any-return]

    def _filed(self, ledger: str) -> list[tuple[Event, Place | None]]:
        return [(filed.event, filed.place) for _, filed in self._reports_after(ledger, "")]

    def _reports_after(self, ledger: str, after: str) -> Iterator[tuple[str, Filed]]:
        """The ledger's reports whose ids come after ``after`` (all: ""), in id order, read
        in one scan of the store (a seek, then the next key: cheaper than a get each)."""
        prefix = key(REPORT, ledger, "")
        for found, raw in self.kv.scan(prefix, start=prefix + after.encode() + SEP):
            event_id = last_part(found)
            yield event_id, self._report(ledger, event_id, raw)

    def ledger(self, ledger: str, ids: list[str] | None = None) -> Ledger:
        """The ledger ``ledger`` (or the part of it made of ``ids``), in id order."""
        if ids is None:
            return Ledger(ledger, dict(self._reports_after(ledger, "")))
        return Ledger(ledger, {i: self._report(ledger, i) for i in ids})

    # --- the registry and who holds what ---------------------------------------------------

    def describe(self, registry: ActorRegistry, record: bytes) -> None:
        """Make views with ``registry`` (whose record, as the registry topic carries it, is
        ``record``) from now on: the entities naming an actor it changed are made again; a
        place ledger with a strike by an actor now read as another is indexed again (strike
        ids hold the perpetrator's), and a party's casualties tallied again if an actor its
        reports name is (claims and parties are actors' ids)."""
        self.registry = registry
        if record != self._described[1]:
            self._described = (_digest(record), record)
        stored = self.kv.get(key(REGISTRY))
        if stored == record:
            return
        before = registry_from(stored) if stored is not None else ActorRegistry()
        self._made.clear()
        self.kv.put(key(REGISTRY), record)
        moved = changed_ids(before, registry)
        redrawn = self.index.ledgers_striking(moved)
        retold = self.index.ledgers_naming(moved)
        for ledger in sorted(self.index.ledgers_naming(changed_names(before, registry))):
            if not is_place_ledger(ledger):
                if ledger in retold:
                    self.tallies.stale(ledger)
                self._touched(ledger, "")
            elif ledger in redrawn:
                # Indexed again by take_changes, a ledger at a time within its budget: a
                # registry change may name thousands of ledgers.
                self.kv.put(key(REINDEX, ledger), b"")
            else:
                for entity in self.index.entities(ledger):
                    self._touched(ledger, entity)

    def _reindex(self, started: float, budget_s: float, owns: Callable[[str], bool]) -> None:
        """Index again the ledgers a new registry may redraw, while ``budget_s`` lasts."""
        done = 0
        for found, _ in list(self.kv.scan(key(REINDEX, ""))):
            ledger = last_part(found)
            # At least one a call, however short the budget, so that it ends.
            if not owns(ledger):
                continue
            if done and self.timer() - started > budget_s:
                return
            done += 1
            self.index.rebuild(ledger, self._filed(ledger), self.registry)
            self.kv.delete(found)

    def hold(self, place_id: str, holder: tuple[str, HeldPlace] | None) -> None:
        """Note who holds a place now (from a control record this folder published, or one
        another worker did); the records of the actors it moved between are made again."""
        held_key = key(HELD, place_id)
        value = None if holder is None else orjson.dumps(holder)
        was = self.kv.get(held_key)
        if was == value:
            return
        if was is not None:
            was_actor = orjson.loads(was)[0]
            self.kv.delete(key(HOLDS, was_actor, place_id))
            self._moved(was_actor)
        if holder is None:
            self.kv.delete(held_key)
        else:
            self.kv.put(held_key, value)  # type: ignore[arg-type]  # not None with a holder
            self.kv.put(key(HOLDS, holder[0], place_id), orjson.dumps(holder[1]))
            self._moved(holder[0])

    def _moved(self, actor_id: str) -> None:
        self.kv.put(key(MOVED, actor_id), b"")
        self._touched(REGISTRY_KEY, HOLDERS)

    def holdings(self, actor_id: str) -> list[HeldPlace]:
        """The places ``actor_id`` holds."""
        return [
            HeldPlace(**orjson.loads(value)) for _, value in self.kv.scan(key(HOLDS, actor_id, ""))
        ]

    def _holders(self) -> Iterator[str]:
        """Every actor holding a place (a seek each)."""
        prefix = key(HOLDS, "")
        found = next(self.kv.scan(prefix), None)
        while found is not None:
            actor_id = found[0][len(prefix) :].split(SEP, 1)[0]
            yield actor_id.decode()
            found = next(self.kv.scan(prefix, start=prefix + actor_id + b"\x01"), None)

    # --- making views ----------------------------------------------------------------------

    def take_changes(
        self,
        now: float | None = None,
        budget_s: float = math.inf,
        owns: Callable[[str], bool] | None = None,
    ) -> Changes:
        """The view records changed since last asked, for the entities due.

        ``now`` (a monotonic clock) paces the costly: an entity is made again only when its
        spacing has passed, the actors' view at most every ``ACTORS_EVERY_S``. The entities
        left when ``budget_s`` is spent (at least one is made) stay due for the next call, in
        the order they became due (those left by an earlier process after the others), as do
        those of ledgers
        ``owns`` says another process publishes now (a worker's partitions moved)."""
        fresh = self._due_units()
        # Unpaced (a test, a rebuild), every actor moved is made at once.
        self._slice_s = math.inf if now is None else SLICE_S
        pending: Changes = {}
        started = self.timer()
        owned = owns or (lambda ledger: True)
        # Reindexing comes first: a unit made after it sees its ledger indexed with the
        # registry, and one it has left waiting is not reached within this budget either.
        self._reindex(started, budget_s, owned)
        # The actors' view last: it lists the places each actor holds, which the control
        # views made before it in this call may have moved.
        made = 0
        last: list[tuple[str, str]] = []
        for unit in [*fresh, *self._left]:
            if unit[0] == REGISTRY_KEY:
                last.append(unit)
                continue
            if made and self.timer() - started > budget_s:
                return pending  # the actors' view too waits for the next call
            if (now is None or self._pacing.ready(unit, now)) and owned(unit[0]):
                made += 1
                pending.update(self._make_due(unit, now))
        actors = (REGISTRY_KEY, HOLDERS)
        for unit in last:
            ready = now is None or self._pacing.ready(unit, now)
            if ready and (not made or self.timer() - started <= budget_s) and owned(unit[0]):
                made += 1
                pending.update(self._make_due(unit, now))
                if (actors in fresh or actors in self._left) and actors not in last:
                    last.append(actors)  # a new registry: its actors' records follow it
        return pending

    def _make_due(self, unit: tuple[str, str], now: float | None) -> Changes:
        began = self.timer()
        self._unfinished = False
        made = self._make(*unit)
        took = self.timer() - began
        if now is not None:
            self._pacing.took(unit, now, took)
        if self.on_made is not None:
            self.on_made(unit[0], took)
        fresh = self._due_units()
        if unit in fresh:
            del fresh[unit]
        else:
            del self._left[unit]
        self.kv.delete(key(DUE, *unit))
        if self._unfinished:
            self._touched(*unit)  # the next part, as soon as its turn comes
        elif unit == (REGISTRY_KEY, HOLDERS) and now is not None:
            self._pacing.due[unit] = now + ACTORS_EVERY_S
        return made

    def _make(self, ledger: str, entity: str) -> Changes:
        if ledger == REGISTRY_KEY:
            return self._make_actors() if entity == HOLDERS else self._make_registry()
        if not entity:
            if is_tallied(ledger) and self.tallies.parties(ledger) < 2:
                return self._publish(ledger, self._tallied(ledger))
            records = self._project_ledger(ledger)
            return self._publish(ledger, records, whole=True)
        made: bytes | None = None
        kind, _, name = entity.partition(":")
        if kind == "c":
            control = self.controls.make(
                entity,
                name,
                self.registry,
                self._described[0],
                lambda event_id: self._report(ledger, event_id),
                lambda: self.index.members(entity),
            )
            made = None if control is None else view_record(*control)
            return self._publish(ledger, {(self.names.view_control, name): made})
        ids = self.index.members(entity)
        record = (self.names.view_strikes, name)
        if ids:
            sub = self.ledger(ledger, ids)
            asked = as_of(sub)
            view = strike_of(sub, self.registry, asked)
            made = None if view is None else view_record(asked, view)
        return self._publish(ledger, {record: made})

    def _tallied(self, ledger: str) -> dict[tuple[str, str], bytes | None]:
        """A casualties or statements ledger's record, from what its reports added up to."""
        if self.tallies.is_stale(ledger):
            started = self.timer()
            if not self.tallies.retally(
                ledger,
                lambda after: self._reports_after(ledger, after),
                self.registry,
                lambda: self.timer() - started > self._slice_s,
            ):
                self._unfinished = True
                return {}
        return tallied_records(self.tallies, ledger, self.registry, self.names)

    def _project_ledger(self, ledger: str) -> dict[tuple[str, str], bytes | None]:
        memo = self._memos.recall(ledger)
        if memo is None:
            memo = {}
            self._memos.keep(ledger, memo)
        return dict(project(self.ledger(ledger), self.registry, self.names, None, self._made, memo))

    def _registry_made(self) -> bytes:
        """The registry's record, from the descriptions filed; what the actors' records are
        made with is kept beside it."""
        whole = self.ledger(REGISTRY_KEY)
        described, record = registry_and_record(whole, self.names, self._made)
        self._actors = (described, as_of(whole))
        return record

    def _actors_basis(self) -> tuple[ActorRegistry, Asked]:
        if self._actors is None:
            self._registry_made()
        assert self._actors is not None
        return self._actors

    def _make_registry(self) -> Changes:
        """The registry's record; every actor's record is made again after it (in slices:
        they all show the moment of the latest description)."""
        record = self._registry_made()
        described, _ = self._actors_basis()
        actors = {*described.actors, *self._holders()}
        for found, _ in self.kv.scan(key(PUBLISHED, REGISTRY_KEY, self.names.view_actors, "")):
            actors.add(last_part(found))
        for actor_id in actors:
            self._moved(actor_id)
        return self._publish(REGISTRY_KEY, {(self.names.registry, REGISTRY_KEY): record})

    def _make_actors(self) -> Changes:
        """The records of the actors moved, for ``SLICE_S`` when paced (at least one)."""
        moved = list(self.kv.scan(key(MOVED, "")))
        if next(self.kv.scan(key(REPORT, REGISTRY_KEY, "")), None) is None:
            # No description filed yet: no actor has a record, holding places or not; the
            # first description makes them all.
            for found, _ in moved:
                self.kv.delete(found)
            return {}
        described, asked = self._actors_basis()
        records: dict[tuple[str, str], bytes | None] = {}
        started = self.timer()
        for found, _ in moved:
            if records and self.timer() - started > self._slice_s:
                self._unfinished = True
                break
            actor_id = last_part(found)
            held = self.holdings(actor_id)
            made = None
            if held or actor_id in described.actors:
                made = view_record(asked, actor_view(described, actor_id, held))
            records[(self.names.view_actors, actor_id)] = made
            self.kv.delete(found)
        return self._publish(REGISTRY_KEY, records)

    def _publish(
        self, ledger: str, records: dict[tuple[str, str], bytes | None], *, whole: bool = False
    ) -> Changes:
        """What changed against the records last published; with ``whole``, ``records`` are
        all the ledger's, and any other it published before is removed."""
        out: Changes = {}
        if whole:
            for found, _ in list(self.kv.scan(key(PUBLISHED, ledger, ""))):
                _, _, topic_part, key_part = found.split(SEP, 3)
                records.setdefault((topic_part.decode(), key_part.decode()), None)
        for (topic, record_key), value in records.items():
            stored = key(PUBLISHED, ledger, topic, record_key)
            if self.kv.get(stored) == value:
                continue
            out[(topic, record_key)] = value
            if value is None:
                self.kv.delete(stored)
            else:
                self.kv.put(stored, value)
            if topic == self.names.view_control:
                self.hold(record_key, held_place(value) if value is not None else None)
        return out

    def published(self) -> ViewRecords:
        """Every view record published, as the view topics hold them once compacted."""
        return {
            (topic.decode(), record_key.decode()): value
            for found, value in self.kv.scan(key(PUBLISHED, ""))
            for _, _, topic, record_key in [found.split(SEP, 3)]
        }


def registry_from(record: bytes) -> ActorRegistry:
    """The registry a record of the registry topic describes (every description, in event
    order)."""
    descriptions = [parse_event(raw) for raw in orjson.loads(record)]
    return registry_of(Ledger(REGISTRY_KEY, {e.id: Filed(e) for e in descriptions}))
