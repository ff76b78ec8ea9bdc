"""Strikes, casualties, statements and actors on the seed article."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import orjson

from sitrep.contract import Event, parse_event
from sitrep.engine.situation import Situation
from sitrep.views.actors import actor_views, holdings_of
from sitrep.views.casualties import casualties
from sitrep.views.control import control_view
from sitrep.views.figures import Figure
from sitrep.views.moments import Asked, end_of_day
from sitrep.views.statements import statements
from sitrep.views.strikes import count_strikes, strikes
from tests.seeded import seed_events, seeded

ASKED = Asked(end_of_day(date(2024, 12, 2)), datetime(2026, 1, 1, tzinfo=UTC))


def all_strikes(situation: Situation, asked: Asked = ASKED) -> list[Any]:
    return [
        s
        for ledger in situation.ledgers.values()
        for s in strikes(ledger, situation.registry, asked)
    ]


def relay(event_id: str, original: str, **changes: Any) -> Event:
    """Another report of a seed event, as another outlet would publish it."""
    raw = next(e for e in seed_events() if e.id == original).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    raw.update(id=event_id, **changes)
    return parse_event(raw)


def test_the_strikes_of_the_article_each_appear_once() -> None:
    found = {s.id: s for s in all_strikes(seeded())}
    missile = next(s for s in found.values() if s.means == "missile")
    assert missile.perpetrator is not None
    assert missile.perpetrator.name == "Syrian Arab Army"
    assert missile.killed == Figure(low=300, best=None, high=None)
    assert [src.claimed_by for src in missile.sources] == [
        "Russian Center for Reconciliation of the Opposing Parties in Syria"
    ]
    assert {s.means for s in found.values()} == {"air", "missile", "unknown"}


def test_a_strike_reported_by_several_sources_is_one_strike_with_all_of_them() -> None:
    again = relay(
        "test-tass-missile",
        "seed-000-missile-strikes-300-killed",
        source={"name": "TASS", "kind": "news_agency"},
        claimed_by="Russian Defence Ministry",
        data={
            "perpetrator": "Syrian army",
            "means": "missile",
            "killed": {"low": 320, "high": 400},
        },
    )
    found = all_strikes(seeded([*seed_events(), again]))
    missiles = [s for s in found if s.means == "missile"]
    assert len(missiles) == 1
    assert [src.source for src in missiles[0].sources][-1] == "TASS"
    assert len(missiles[0].sources) == 2
    assert missiles[0].killed.low == 300
    assert missiles[0].killed.high == 400


def test_strikes_are_counted_by_place_perpetrator_and_day() -> None:
    counts = count_strikes(all_strikes(seeded()))
    assert counts.by_day == {"2024-11-30": 3}
    assert counts.by_perpetrator["syrian-arab-army"] == 1
    assert counts.by_perpetrator["unknown"] == 1
    assert sum(counts.by_place.values()) == 3


def test_both_death_tolls_reconcile_into_one_range_for_the_army() -> None:
    situation = seeded()
    found = {
        c.party.name: c for c in casualties(situation.ledgers.values(), situation.registry, ASKED)
    }
    army = found["Syrian Arab Army"]
    assert {r.source.claimed_by for r in army.reports} == {
        "Syrian Observatory for Human Rights",
        "Syrian army command",
    }
    assert len(army.periods) == 1  # overlapping periods: one figure, not two added up
    assert army.killed.low == 24
    assert army.killed.high == 100


def test_the_same_casualty_report_twice_counts_once() -> None:
    events = list(seed_events())
    relayed = relay(
        "test-relayed-sohr-toll", "seed-000-government-losses-sohr", source={"name": "Reuters"}
    )
    situation = seeded([*events, *events, relayed])
    found = {
        c.party.name: c for c in casualties(situation.ledgers.values(), situation.registry, ASKED)
    }
    army = found["Syrian Arab Army"]
    assert army.killed.low == 24
    assert army.killed.high == 100
    assert len(army.reports) == 3  # every report is listed, once


def test_tolls_of_separate_periods_add_up() -> None:
    later = relay(
        "test-later-toll",
        "seed-000-government-losses-sohr",
        occurred_at="2024-12-02",
        reported_at="2024-12-02T18:00:00Z",
        data={"party": "Syrian army", "killed": 50, "period_start": "2024-12-02"},
    )
    situation = seeded([*seed_events(), later])
    found = {
        c.party.name: c for c in casualties(situation.ledgers.values(), situation.registry, ASKED)
    }
    army = found["Syrian Arab Army"]
    assert len(army.periods) == 2
    assert army.killed.low == 24 + 50
    assert army.killed.high == 100 + 50


def test_statements_name_speaker_actor_stance_and_source() -> None:
    situation = seeded()
    found = statements(situation.ledgers.values(), situation.registry, ASKED)
    us = [s for s in found if s.actor.name == "United States"]
    assert {s.stance for s in us} >= {"deny", "call_for_deescalation"}
    assad = next(s for s in found if s.speaker.name == "Bashar al-Assad")
    assert assad.actor.name == "Syrian government"
    assert assad.channel is not None
    assert "telephone" in assad.channel
    iran = [s for s in found if s.actor.name == "Iran"]
    assert {s.speaker.name for s in iran} >= {"Abbas Araghchi"}
    assert found == sorted(
        found, key=lambda s: (str(s.occurred_at), s.source.reported_at, s.event_id), reverse=True
    )


def test_actors_know_their_aliases_designations_and_the_places_they_hold() -> None:
    situation = seeded()
    views = [
        control_view(ledger, place_id, situation.registry, ASKED)
        for ledger in situation.ledgers.values()
        for place_id in ledger.places()
    ]
    actors = {a.name: a for a in actor_views(situation.registry, holdings_of(views))}
    hts = actors["Hayat Tahrir al-Sham"]
    assert "Nusra Front" in hts.aliases
    assert {d["by"] for d in hts.designations} >= {"United States", "Russia", "Turkey"}
    # spelt as the contract spells it, on the view topic and in the API alike
    assert {"by": "United States", "as": "terrorist organisation"} in orjson.loads(
        orjson.dumps(hts)
    )["designations"]
    assert [p.name for p in hts.controls] == ["Aleppo", "Idlib"]
    sdf = actors["Syrian Democratic Forces"]
    assert [p.name for p in sdf.controls] == ["Ashrafieh", "Sheikh Maqsoud"]


def _denial(event_id: str, target: str, denied_by: str) -> Event:
    return parse_event(
        {
            "id": event_id,
            "type": "claim.denied",
            "occurred_at": "2024-12-01",
            "reported_at": "2024-12-01T20:00:00Z",
            "source": {"name": "SANA", "kind": "government"},
            "data": {"event_id": target, "denied_by": denied_by},
        }
    )


def test_a_memo_of_what_each_report_said_never_changes_casualties_or_statements() -> None:
    """Made report by report with one memo, as the worker makes them, the views are those made
    from nothing: after denials, retractions and a registry that learned a new alias too."""
    events = [
        *seed_events(),
        relay("test-memo-toll", "seed-000-government-losses-sohr", source={"name": "Reuters"}),
        _denial("test-memo-deny-toll", "seed-000-government-losses-sohr", "Memo Brigade"),
        _denial("test-memo-deny-said", "seed-000-us-blames-syria", "Syrian government"),
        parse_event(
            {
                "id": "test-memo-retract",
                "type": "event.retracted",
                "occurred_at": "2024-12-02",
                "reported_at": "2024-12-02T08:00:00Z",
                "source": {"name": "Reuters"},
                "data": {"event_id": "test-memo-toll", "reason": "a duplicate of SOHR's toll"},
            }
        ),
        parse_event(
            {
                "id": "test-memo-alias",
                "type": "actor.described",
                "occurred_at": "2024-12-02",
                "reported_at": "2024-12-02T09:00:00Z",
                "source": {"name": "Sitrep analysts", "kind": "other"},
                "data": {"name": "Syrian Arab Army", "aliases": ["Memo Brigade"]},
            }
        ),
    ]
    situation = Situation(seeded().gazetteer)
    memos: dict[str, Any] = {}
    denied_seen = False
    for event in events:
        situation.fold(event)
        for key, ledger in situation.ledgers.items():
            memo = memos.setdefault(key, {})
            for view in (casualties, statements):
                with_memo = view([ledger], situation.registry, ASKED, memo)
                assert with_memo == view([ledger], situation.registry, ASKED)
                denied_seen |= any(
                    r.denials for made in with_memo for r in getattr(made, "reports", (made,))
                )
    assert denied_seen  # the denials reached views made from the memo
