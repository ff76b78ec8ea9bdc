"""Control views made from a place's settled history and its latest reports equal the views
made from every report, whatever the order, lateness and answers of the reports."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitrep.contract import Event, parse_event
from sitrep.engine.engine import Engine
from sitrep.engine.folding import REGISTRY, registry_from
from sitrep.engine.keyvalue import KeyValue, MemoryKeyValue, key
from sitrep.stores.rocks import RocksKeyValue
from sitrep.topics import TopicNames
from tests.seeded import seed_gazetteer
from tests.unit.test_engine import from_nothing

NAMES = TopicNames()
START = date(2024, 1, 1)
PLACES = ("Hama", "Idlib")
ACTORS = ("HTS", "Syrian Army", "SNA", "Hay'at Tahrir al-Sham")
SOURCES = ("Reuters", "SOHR", "AFP", "SANA")


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    """Three months of reports on two places, mostly in order, each 0-12 days late, some
    denied or retracted (some long after), sometimes an actor described as another's alias."""
    count = draw(st.integers(20, 70))
    raw: list[dict[str, Any]] = []
    for n in range(count):
        # Mostly in step with the history's days; now and then a report of any day.
        if draw(st.integers(0, 9)):
            day = START + timedelta(days=n * 90 // count + draw(st.integers(-3, 1)))
        else:
            day = START + timedelta(days=draw(st.integers(0, 90)))
        late = draw(st.sampled_from((0, 0, 0, 1, 2, 5, 12)))
        kind = draw(
            st.sampled_from(("control", "control", "control", "clash", "withdrew", "answer"))
        )
        item: dict[str, Any] = {
            "id": f"e-{n:03d}",
            "occurred_at": day.isoformat(),
            "reported_at": f"{day + timedelta(days=late)}T{draw(st.integers(10, 23))}:00:00Z",
            "source": {"name": draw(st.sampled_from(SOURCES)), "kind": "news_agency"},
        }
        where = {"location": {"name": draw(st.sampled_from(PLACES)), "country": "SY"}}
        if kind == "control":
            item |= {
                "type": "control.changed",
                "data": {"controller": draw(st.sampled_from(ACTORS)), "method": "captured"},
                **where,
            }
            if draw(st.booleans()):
                item["claimed_by"] = draw(st.sampled_from(ACTORS))
        elif kind == "clash":
            item |= {"type": "clash.reported", "data": {"parties": ["HTS", "Syrian Army"]}, **where}
        elif kind == "withdrew":
            item |= {
                "type": "forces.withdrew",
                "data": {"actor": draw(st.sampled_from(ACTORS))},
                **where,
            }
        elif raw:
            target = draw(st.sampled_from(raw))
            if draw(st.integers(0, 3)):
                item |= {
                    "type": "claim.denied",
                    "data": {"event_id": target["id"], "denied_by": draw(st.sampled_from(ACTORS))},
                }
            else:
                item |= {
                    "type": "event.retracted",
                    "data": {"event_id": target["id"], "reason": "misreported"},
                }
        else:
            continue
        raw.append(item)
    if draw(st.booleans()):
        raw.insert(
            draw(st.integers(0, len(raw))),
            {
                "id": "e-alias",
                "type": "actor.described",
                "occurred_at": START.isoformat(),
                "reported_at": f"{START}T09:00:00Z",
                "source": {"name": "Sitrep", "kind": "other"},
                "data": {"name": "HTS", "aliases": ["Hay'at Tahrir al-Sham"]},
            },
        )
    return [parse_event(item) for item in raw]


def _control(records: dict[tuple[str, str], bytes]) -> dict[tuple[str, str], bytes]:
    return {k: v for k, v in records.items() if k[0] == NAMES.view_control}


def _check(kv: KeyValue, events: list[Event], every: int, places_kept: int = 2_000) -> None:
    engine = Engine(kv, seed_gazetteer(), NAMES, places_kept)
    for count, event in enumerate(events, start=1):
        engine.fold(event)
        engine.take_changes()
        if count % every == 0 or count == len(events):
            made = _control(engine.folder.published())
            assert made == _control(from_nothing(events[:count])), f"after {count} events"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=histories())
def test_views_from_the_latest_reports_equal_the_views_from_every_report(
    events: list[Event],
) -> None:
    _check(MemoryKeyValue(), events, every=1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=histories())
def test_a_place_read_back_from_the_store_gives_the_views_from_every_report(
    events: list[Event],
) -> None:
    """One place kept in memory: the other is read back from the store at each report."""
    _check(MemoryKeyValue(), events, every=1, places_kept=1)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=histories(), at=st.integers(1, 60))
def test_after_a_restart_the_stored_settled_histories_give_the_same_views(
    tmp_path_factory: Any, events: list[Event], at: int
) -> None:
    path: Path = tmp_path_factory.mktemp("engine") / "db"
    cut = min(at, len(events))
    store = RocksKeyValue(path, cache_mb=8)
    first = Engine(store, seed_gazetteer(), NAMES)
    for event in events[:cut]:
        first.fold(event)
        first.take_changes()
    store.commit()
    store.close()
    reopened = RocksKeyValue(path, cache_mb=8)
    engine = Engine(reopened, seed_gazetteer(), NAMES)
    record = reopened.get(key(REGISTRY))
    if record is not None:  # as a worker learns it from the registry topic
        engine.folder.describe(registry_from(record), record)
    for event in events[cut:]:
        engine.fold(event)
        engine.take_changes()
    assert _control(engine.folder.published()) == _control(from_nothing(events))
    reopened.close()


class _CountingReads(MemoryKeyValue):
    """Counts the reports read from the store one by one."""

    def __init__(self) -> None:
        super().__init__()
        self.reports_read = 0

    def get(self, k: bytes) -> bytes | None:
        if k.startswith(b"report\x00"):
            self.reports_read += 1
        return super().get(k)


def _daily(day: int, controller: str) -> Event:
    moment = START + timedelta(days=day)
    return parse_event(
        {
            "id": f"daily-{day:03d}",
            "type": "control.changed",
            "occurred_at": moment.isoformat(),
            "reported_at": f"{moment}T12:00:00Z",
            "source": {"name": SOURCES[day % len(SOURCES)], "kind": "news_agency"},
            "location": {"name": "Hama", "country": "SY"},
            "data": {"controller": controller, "method": "captured"},
        }
    )


def test_a_restarted_engine_makes_a_place_from_its_stored_history_and_last_week() -> None:
    kv = _CountingReads()
    events = [_daily(day, ACTORS[day // 30 % 2]) for day in range(120)]
    first = Engine(kv, seed_gazetteer(), NAMES)
    for event in events:
        first.fold(event)
        first.take_changes()
    restarted = Engine(kv, seed_gazetteer(), NAMES)
    kv.reports_read = 0
    latest = _daily(120, ACTORS[0])
    restarted.fold(latest)
    restarted.take_changes()
    # The week's reports and the new one, not the 120 days before.
    assert kv.reports_read <= 10
    made = _control(restarted.folder.published())
    assert made == _control(from_nothing([*events, latest]))
