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
- ``reindex/<ledger>`` → ``b""``: a place ledger whose entities a new registry may redraw;
- ``registry`` → the registry the published records were made with.

Everything the folder needs survives a restart in the store: the entities still due are read
back from it, and a registry that changed meanwhile reaches the ledgers that name its actors.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from sitrep.contract import Event, event_to_dict, parse_event
from sitrep.engine.entities import (
    EntityIndex,
    changed_names,
    is_place_ledger,
    last_part,
)
from sitrep.engine.keyvalue import SEP, KeyValue, key
from sitrep.engine.projection import (
    Cache,
    ViewRecords,
    as_of,
    control_of,
    held_place,
    project,
    strike_of,
    view_record,
)
from sitrep.engine.routing import place_from
from sitrep.resolution.actors import ActorRegistry
from sitrep.resolution.places import Place
from sitrep.topics import TopicNames
from sitrep.views.actors import HeldPlace, registry_of
from sitrep.views.ledger import Filed, Ledger, Memo
from sitrep.views.routing import REGISTRY_KEY

REPORT, DUE, PUBLISHED, HELD, REGISTRY = "report", "due", "published", "held", "registry"
REINDEX = "reindex"

ACTORS_EVERY_S = 1.0
"""How often, at most, the actors' view is made again because places changed hands: each
actor's record lists every place it holds."""
SPACING = 8.0
"""An entity whose view took ``c`` seconds to make is made again no sooner than
``SPACING * c`` later (never more than ``MAX_SPACING_S``), so no entity takes more than an
eighth of the time while its reports pour in."""
MAX_SPACING_S = 0.5
REPORTS_KEPT = 50_000
"""How many decoded reports are kept in memory, the most recently read (a few KB each: the
largest share of a worker's memory besides RocksDB's caches)."""
MEMOS_KEPT = 256
"""How many casualties and statements ledgers keep what their views made of each report."""


Changes = dict[tuple[str, str], bytes | None]
"""View records to publish, by (topic, key); None removes the record."""


class Recent(OrderedDict[Any, Any]):
    """A dict of at most ``size`` entries; the least recently used goes first."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def recall(self, k: Any) -> Any:
        found = self.get(k)
        if found is not None:
            self.move_to_end(k)
        return found

    def keep(self, k: Any, value: Any) -> None:
        self[k] = value
        self.move_to_end(k)
        if len(self) > self.size:
            self.popitem(last=False)


@dataclass
class _Pacing:
    """When each costly entity may be made again (see ``SPACING``)."""

    due: dict[tuple[str, str], float] = field(default_factory=dict)

    def ready(self, unit: tuple[str, str], now: float) -> bool:
        return self.due.get(unit, -math.inf) <= now

    def took(self, unit: tuple[str, str], now: float, seconds: float) -> None:
        if seconds * SPACING > 0.001:
            self.due[unit] = now + min(SPACING * seconds, MAX_SPACING_S)
        else:
            self.due.pop(unit, None)


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
    ) -> None:
        self.kv = kv
        self.makes_views = makes_views
        """False for a reader that answers questions from the reports (the API): no entity
        is marked to be made again."""
        self.names = names
        self.index = EntityIndex(kv, self._touched, for_views=makes_views)
        self.registry = ActorRegistry()
        self.holders_moved = False
        self.actors_made_at = -math.inf
        self.timer = timer
        self.on_made = on_made
        """Told of each ledger or entity made and the seconds it took."""
        self._due: dict[tuple[str, str], None] | None = None
        """The entities due, in the order they became due: made first come, first served, so
        an entity newly changed waits for those before it, never behind all that follow."""
        self._reports: Recent = Recent(reports_kept)
        self._memos: Recent = Recent(MEMOS_KEPT)
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
        if not self.index.add(ledger, event, place, self.registry):
            self.index.rebuild(ledger, self._filed(ledger), self.registry)
        return True

    def _touched(self, ledger: str, entity: str) -> None:
        if not self.makes_views:
            return
        unit = (ledger, entity)
        due = self._due_units()
        if unit not in due:
            due[unit] = None
            self.kv.put(key(DUE, ledger, entity), b"")

    def _due_units(self) -> dict[tuple[str, str], None]:
        if self._due is None:
            self._due = {}
            for found, _ in self.kv.scan(key(DUE, "")):
                _, ledger, entity = found.split(SEP, 2)
                self._due[(ledger.decode(), entity.decode())] = None
        return self._due

    @property
    def due(self) -> int:
        """How many entities wait to be made again."""
        return len(self._due_units())

    # --- reading reports -------------------------------------------------------------------

    def _report(self, ledger: str, event_id: str) -> Filed:
        found = self._reports.recall((ledger, event_id))
        if found is None:
            raw = self.kv.get(key(REPORT, ledger, event_id))
            assert raw is not None, f"{event_id} is a member of {ledger} but not filed there"
            data = orjson.loads(raw)
            found = Filed(parse_event(data["event"]), place_from(data["place"]))
            self._reports.keep((ledger, event_id), found)
        return found  # type: ignore[no-any-return]

    def _filed(self, ledger: str) -> Iterator[tuple[Event, Place | None]]:
        for found, _ in list(self.kv.scan(key(REPORT, ledger, ""))):
            filed = self._report(ledger, last_part(found))
            yield filed.event, filed.place

    def scanned(self, ledger: str) -> Ledger:
        """The whole ledger, as :meth:`ledger` gives it, read in one scan of the store: on
        RocksDB a get per report took ≈ 0.3 ms, most of the time a reader spent."""
        filed: dict[str, Filed] = {}
        for found, raw in self.kv.scan(key(REPORT, ledger, "")):
            event_id = last_part(found)
            known = self._reports.recall((ledger, event_id))
            if known is None:
                data = orjson.loads(raw)
                known = Filed(parse_event(data["event"]), place_from(data["place"]))
                self._reports.keep((ledger, event_id), known)
            filed[event_id] = known
        return Ledger(ledger, filed)

    def ledger(self, ledger: str, ids: list[str] | None = None) -> Ledger:
        """The ledger ``ledger`` (or the part of it made of ``ids``), in id order."""
        if ids is None:
            ids = [last_part(k) for k, _ in self.kv.scan(key(REPORT, ledger, ""))]
        return Ledger(ledger, {i: self._report(ledger, i) for i in ids})

    # --- the registry and who holds what ---------------------------------------------------

    def describe(self, registry: ActorRegistry, record: bytes) -> None:
        """Make views with ``registry`` (whose record, as the registry topic carries it, is
        ``record``) from now on: the ledgers naming an actor it changed are made again."""
        self.registry = registry
        stored = self.kv.get(key(REGISTRY))
        if stored == record:
            return
        before = registry_from(stored) if stored is not None else ActorRegistry()
        self._made.clear()
        self.kv.put(key(REGISTRY), record)
        for ledger in sorted(self.index.ledgers_naming(changed_names(before, registry))):
            if is_place_ledger(ledger):
                # Indexed again by take_changes, a ledger at a time within its budget: a
                # registry change may name thousands of ledgers.
                self.kv.put(key(REINDEX, ledger), b"")
            else:
                self._touched(ledger, "")

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
        another worker did); the actors' view is made again if that changed (at most every
        ``ACTORS_EVERY_S``)."""
        held_key = key(HELD, place_id)
        value = None if holder is None else orjson.dumps(holder)
        if self.kv.get(held_key) == value:
            return
        if value is None:
            self.kv.delete(held_key)
        else:
            self.kv.put(held_key, value)
        self.holders_moved = True

    def holdings(self) -> dict[str, list[HeldPlace]]:
        """The places held, by actor id."""
        held: dict[str, list[HeldPlace]] = {}
        for _, value in self.kv.scan(key(HELD, "")):
            actor_id, place = orjson.loads(value)
            held.setdefault(actor_id, []).append(HeldPlace(**place))
        return held

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
        the order they became due, as do those of ledgers
        ``owns`` says another process publishes now (a worker's partitions moved)."""
        moment = math.inf if now is None else now
        due = self._due_units()
        if (
            self.holders_moved
            and moment >= self.actors_made_at + ACTORS_EVERY_S
            and next(self.kv.scan(key(REPORT, REGISTRY_KEY, "")), None) is not None
        ):
            due[(REGISTRY_KEY, "")] = None
        pending: Changes = {}
        started = self.timer()
        owned = owns or (lambda ledger: True)
        # Reindexing comes first: a unit made after it sees its ledger indexed with the
        # registry, and one it has left waiting is not reached within this budget either.
        self._reindex(started, budget_s, owned)
        # The actors' view last: it lists the places each actor holds, which the control
        # views made before it in this call may have moved.
        made = 0
        for unit in sorted(due, key=lambda unit: unit[0] == REGISTRY_KEY):
            if made and self.timer() - started > budget_s:
                break
            if now is not None and not self._pacing.ready(unit, now):
                continue
            if not owned(unit[0]):
                continue
            began = self.timer()
            made += 1
            pending.update(self._make(*unit))
            took = self.timer() - began
            if now is not None:
                self._pacing.took(unit, now, took)
            if self.on_made is not None:
                self.on_made(unit[0], took)
            del due[unit]
            self.kv.delete(key(DUE, *unit))
            if unit[0] == REGISTRY_KEY:
                self.holders_moved = False
                self.actors_made_at = moment
        return pending

    def _make(self, ledger: str, entity: str) -> Changes:
        if not entity:
            records = self._project_ledger(ledger)
            return self._publish(ledger, records, whole=True)
        ids = self.index.members(entity)
        made: bytes | None = None
        kind, _, name = entity.partition(":")
        record = (self.names.view_control if kind == "c" else self.names.view_strikes, name)
        if ids:
            sub = self.ledger(ledger, ids)
            asked = as_of(sub)
            view = (
                control_of(sub, self.registry, asked, place_id=name)
                if kind == "c"
                else strike_of(sub, self.registry, asked)
            )
            made = None if view is None else view_record(asked, view)
        return self._publish(ledger, {record: made})

    def _project_ledger(self, ledger: str) -> dict[tuple[str, str], bytes | None]:
        whole = self.ledger(ledger)
        held = self.holdings() if ledger == REGISTRY_KEY else None
        memo: Memo | None = None
        if ledger != REGISTRY_KEY:
            memo = self._memos.recall(ledger)
            if memo is None:
                memo = {}
                self._memos.keep(ledger, memo)
        return dict(project(whole, self.registry, self.names, held, self._made, memo))

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
