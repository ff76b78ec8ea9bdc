"""The control view on the seed article: who holds what, since when, and why the status."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sitrep.contract import parse_event
from sitrep.engine.situation import Situation
from sitrep.views.control import SHOWN, control_history, control_view
from sitrep.views.moments import Asked, end_of_day
from tests.seeded import seed_events, seeded

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def on(day: date, known_at: datetime = NOW) -> Asked:
    return Asked(at=end_of_day(day), known_at=known_at)


def view(situation: Situation, place_id: str, asked: Asked):  # type: ignore[no-untyped-def]
    ledger = situation.ledger_of(place_id)
    assert ledger is not None, f"nothing filed for {place_id}"
    return control_view(ledger, place_id, situation.registry, asked)


def test_aleppo_is_held_by_hts_with_kurdish_neighbourhoods_on_1_december() -> None:
    aleppo = view(seeded(), "sy-aleppo", on(date(2024, 12, 1)))
    assert aleppo.controller is not None
    assert aleppo.controller.name == "Hayat Tahrir al-Sham"
    assert aleppo.since == date(2024, 11, 30)
    assert aleppo.status == "partial"
    assert any("Sheikh Maqsoud" in r and "Syrian Democratic Forces" in r for r in aleppo.reasons)
    assert {s.name for s in aleppo.sub_places} >= {"Sheikh Maqsoud", "Ashrafieh"}
    assert [c.claimed_by for c in aleppo.claims] == ["Syrian Observatory for Human Rights"]
    assert aleppo.corroboration == 1
    assert [h.controller.name for h in aleppo.history] == [
        "Syrian government",
        "Hayat Tahrir al-Sham",
    ]


def test_before_the_offensive_aleppo_is_the_governments() -> None:
    aleppo = view(seeded(), "sy-aleppo", on(date(2024, 11, 26)))
    assert aleppo.controller is not None
    assert aleppo.controller.name == "Syrian government"
    assert aleppo.status == "partial"  # the Kurdish-held neighbourhoods, since 2012


def test_known_at_hides_reports_not_yet_published() -> None:
    # The article was published on 1 Dec: on 30 Nov nobody knew Aleppo had fallen.
    asked = Asked(
        at=end_of_day(date(2024, 11, 30)), known_at=datetime(2024, 11, 30, 23, tzinfo=UTC)
    )
    aleppo = view(seeded(), "sy-aleppo", asked)
    assert aleppo.controller is not None
    assert aleppo.controller.name == "Syrian government"


def test_both_spellings_of_maarat_al_numan_are_one_town() -> None:
    town = view(seeded(), "sy-maarat-al-numan", on(date(2024, 12, 1)))
    assert town.controller is not None
    assert town.controller.name == "HTS-led rebel coalition"
    assert town.status == "held"
    capture = town.history[-1]
    assert {s.event_id for s in capture.sources} == {
        "seed-000-maraat-al-numan-captured",
        "seed-000-maarat-al-numan-caption",
    }
    assert town.corroboration == 2  # AP's caption and the article body


def _event(event_id: str, event_type: str, day: str, data: dict[str, object], **extra: object):  # type: ignore[no-untyped-def]
    return parse_event(
        {
            "id": event_id,
            "type": event_type,
            "occurred_at": day,
            "reported_at": f"{day}T20:00:00Z",
            "source": {"name": str(extra.pop("source", "Reuters")), "kind": "news_agency"},
            "location": {"name": str(extra.pop("place", "Hama")), "country": "SY"},
            "data": data,
            **extra,
        }
    )


def test_fighting_within_72_hours_makes_a_place_contested_until_it_changes_hands() -> None:
    clash = _event("t-clash", "clash.reported", "2024-12-03", {"parties": ["HTS", "Syrian army"]})
    situation = seeded([*seed_events(), clash])
    assert view(situation, "sy-hama", on(date(2024, 12, 3))).status == "disputed"
    denial_free = seeded([e for e in seed_events() if "hama-army" not in e.id] + [clash])
    hama = view(denial_free, "sy-hama", on(date(2024, 12, 4)))
    assert hama.status == "contested"
    assert "fighting reported between HTS, Syrian army" in hama.reasons[0]
    assert view(denial_free, "sy-hama", on(date(2024, 12, 7))).status == "held"
    capture = _event("t-capture", "control.changed", "2024-12-05", {"controller": "HTS"})
    taken = seeded([e for e in seed_events() if "hama-army" not in e.id] + [clash, capture])
    hama = view(taken, "sy-hama", on(date(2024, 12, 5)))
    assert (hama.status, hama.controller and hama.controller.name) == (
        "held",
        "Hayat Tahrir al-Sham",
    )


def test_sources_naming_different_holders_for_one_day_make_it_contested() -> None:
    ours = _event("t-hts", "control.changed", "2024-12-05", {"controller": "HTS"})
    theirs = _event(
        "t-army", "control.changed", "2024-12-05", {"controller": "Syrian army"}, source="SANA"
    )
    base = [e for e in seed_events() if "hama-army" not in e.id]
    hama = view(seeded([*base, ours, theirs]), "sy-hama", on(date(2024, 12, 6)))
    assert hama.status == "contested"
    assert "reports disagree" in hama.reasons[0]


def test_the_observatorys_hama_claim_is_disputed_by_the_armys_denial() -> None:
    hama = view(seeded(), "sy-hama", on(date(2024, 12, 1)))
    assert hama.status == "disputed"
    assert hama.controller is not None
    assert hama.controller.name == "Syrian government"  # a withdrawal names no new controller
    assert [d.denied_by.name for d in hama.denials] == ["Syrian Arab Army"]
    assert "denied" in hama.reasons[0]


def test_an_independent_confirmation_after_the_denial_lifts_the_dispute() -> None:
    confirm = parse_event(
        {
            "id": "test-hama-withdrawal-confirmed",
            "type": "forces.withdrew",
            "occurred_at": "2024-11-30",
            "reported_at": "2024-12-02T08:00:00Z",
            "source": {"name": "Reuters", "kind": "news_agency"},
            "location": {"name": "Hama", "country": "SY"},
            "data": {"actor": "Syrian Arab Army"},
        }
    )
    hama = view(seeded([*seed_events(), confirm]), "sy-hama", on(date(2024, 12, 2)))
    assert hama.status != "disputed"


def test_the_airport_is_a_sub_place_of_aleppo() -> None:
    aleppo = view(seeded(), "sy-aleppo", on(date(2024, 12, 1)))
    airport = next(s for s in aleppo.sub_places if s.place_id == "sy-aleppo-international-airport")
    assert airport.controller is not None
    assert airport.controller.name == "HTS-led rebel coalition"


def test_a_retraction_removes_the_claim_from_when_it_was_reported_and_says_why() -> None:
    retraction = parse_event(
        {
            "id": "test-retract-aleppo",
            "type": "event.retracted",
            "occurred_at": "2024-12-03",
            "reported_at": "2024-12-03T09:00:00Z",
            "source": {"name": "AFP", "kind": "news_agency"},
            "data": {"event_id": "seed-000-aleppo-control-hts", "reason": "misattributed quote"},
        }
    )
    situation = seeded([*seed_events(), retraction])
    before = view(
        situation,
        "sy-aleppo",
        Asked(end_of_day(date(2024, 12, 1)), datetime(2024, 12, 2, tzinfo=UTC)),
    )
    after = view(situation, "sy-aleppo", on(date(2024, 12, 1)))
    assert before.controller is not None
    assert before.controller.name == "Hayat Tahrir al-Sham"
    assert after.controller is not None
    assert after.controller.name == "Syrian government"
    assert [(r.event_id, r.reason) for r in after.retracted] == [
        ("seed-000-aleppo-control-hts", "misattributed quote")
    ]


def test_folding_twice_or_in_another_order_gives_the_same_views() -> None:
    events = list(seed_events())
    once = seeded(events)
    twice = seeded(events + events)
    shuffled = seeded(sorted(events, key=lambda e: e.id))
    asked = on(date(2024, 12, 1))
    for place in ("sy-aleppo", "sy-hama", "sy-maarat-al-numan", "sy-idlib"):
        assert view(once, place, asked) == view(twice, place, asked) == view(shuffled, place, asked)


def test_a_place_fought_over_for_years_lists_its_latest_changes_and_counts_them_all() -> None:
    # Idlib changing hands every ten days for four years, each change reported by three
    # outlets, the holder's hold restated every other day: a record of megabytes unbounded.
    holders = ["HTS", "Syrian army"]
    events = []
    start = date(2021, 1, 1).toordinal()
    for change in range(150):
        for report in range(3):
            day = date.fromordinal(start + 10 * change).isoformat()
            data = {"controller": holders[change % 2], "method": "captured"}
            events.append(
                _event(
                    f"t-{change}-{report}",
                    "control.changed",
                    day,
                    data,
                    place="Idlib",
                    source=f"Outlet {report}",
                )
            )
        for restated in range(1, 10, 2):
            day = date.fromordinal(start + 10 * change + restated).isoformat()
            data = {"controller": holders[change % 2], "method": "captured"}
            events.append(
                _event(f"t-{change}-again-{restated}", "control.changed", day, data, place="Idlib")
            )
    # The last holder's hold restated daily for two months after its last capture.
    for restated in range(60):
        day = date.fromordinal(start + 1500 + restated).isoformat()
        data = {"controller": holders[149 % 2], "method": "captured"}
        events.append(_event(f"t-last-{restated:02d}", "control.changed", day, data, place="Idlib"))
    situation = seeded(events)
    asked = on(date(2025, 12, 1))
    idlib = view(situation, "sy-idlib", asked)
    assert idlib.history_count == 150
    assert len(idlib.history) == SHOWN
    latest = idlib.history[-1]
    assert latest.source_count == 3 + 5 + 60
    assert len(latest.sources) == SHOWN
    assert latest.sources[0].event_id == "t-149-0"  # the first report of the change stays
    assert latest.sources[-1].event_id == "t-last-59"
    assert idlib.claim_count == 68
    assert len(idlib.claims) == SHOWN
    assert idlib.claims[-1].event_id == "t-last-59"
    ledger = situation.ledger_of("sy-idlib")
    assert ledger is not None
    full = control_history(ledger, "sy-idlib", situation.registry, asked)
    assert len(full) == 150
    assert [c.source_count for c in full] == [8] * 149 + [68]
    assert len(full[-1].sources) == 68
    assert full[-SHOWN:-1] == list(idlib.history[:-1])  # the record's history is the latest
