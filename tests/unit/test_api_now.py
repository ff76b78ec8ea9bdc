"""The index of the present (sitrep.api.now) answers as projecting every place would: on the
seeds and on generated histories, at the moment it was made and as time passes after it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import orjson
import pytest
from bench.history import COUNTRIES, History

from sitrep.api import app as app_module
from sitrep.api import asking as asking_module
from sitrep.api.answers import Answers
from sitrep.api.filters import Ranked, ReportFilter, ranked_list
from sitrep.api.holdings import actor_named, actors_page
from sitrep.api.now import NowIndex
from sitrep.api.now_parties import rank_of
from sitrep.api.overview import indexed, overview
from sitrep.api.readmodel import ReadModel
from sitrep.contract import Event, parse_event
from sitrep.contract.events import ActorDescribedEvent
from sitrep.resolution.geonames import build_gazetteer
from sitrep.resolution.places import Gazetteer
from sitrep.views.moments import Asked
from sitrep.views.statements import Statement
from tests.unit.test_api_app import NOW, fed, problem, serving

REGIONS = [
    (None, None),
    ("SY", None),
    ("IQ", None),
    ("SY", "Aleppo"),
    ("SY", "Idlib"),
    (None, "Aleppo"),
    ("IQ", "Nineveh"),
]


def _json(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


def made_for(model: ReadModel, at: datetime) -> Answers:
    """The answers at ``at`` (every report known), the index made for that moment."""
    latest = model.latest_report or at
    model.now.expire(at)
    model.now.make(at, latest)
    asked = Asked(at, latest)
    assert model.now.fresh_for(asked, model.latest_report)
    return Answers(model.situation, asked)


def assert_agree(model: ReadModel, answers: Answers) -> None:
    for country, admin1 in REGIONS:
        fast = indexed(model.now, answers, country=country, admin1=admin1)
        slow = overview(answers, country=country, admin1=admin1)
        assert _json(fast) == _json(slow), (country, admin1)


def test_the_seeds_read_from_the_index_as_projected() -> None:
    model = fed()
    answers = made_for(model, NOW)
    assert_agree(model, answers)
    syria = indexed(model.now, answers, country="SY", admin1=None)
    assert syria["holders"]
    assert syria["holder_count"] == len(syria["holders"])


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return build_gazetteer(countries=COUNTRIES)


@pytest.fixture(scope="module")
def generated(gazetteer: Gazetteer) -> ReadModel:
    """A read model of a generated history of 2,500 events."""
    return fed(history(2500), gazetteer)


def history(count: int) -> Iterator[Event]:
    # One year, not four: a few events a day, so that moments fall in the 72 hours in which
    # a clash contests a place. The seed is one whose moments see unsettled places and losses
    # in their last day (the test asserts it, so a change of the generator shows).
    for raw in History(seed=8, years=1).events(count):
        yield parse_event(raw)


@pytest.mark.parametrize("count", [1500, 3000])
def test_a_generated_history_reads_from_the_index_as_projected_as_time_passes(
    gazetteer: Gazetteer, count: int
) -> None:
    model = fed(history(count), gazetteer)
    assert model.latest_report is not None
    unsettled = losses = 0
    # In order: the index holds from the moment it was last made on.
    for later in (-timedelta(days=9), -timedelta(days=2), timedelta(0), timedelta(days=9)):
        answers = made_for(model, model.latest_report + later)
        assert_agree(model, answers)
        everywhere = indexed(model.now, answers, country=None, admin1=None)
        unsettled += everywhere["unsettled_count"]
        losses += len(everywhere["casualties"])
    # The moments asked did see places contested, and losses in their last day.
    assert unsettled
    assert losses


def test_reports_filed_after_the_index_was_made_are_in_it_once_made_again(
    gazetteer: Gazetteer,
) -> None:
    events = list(history(1200))
    model = fed(events[:900], gazetteer)
    assert model.latest_report is not None
    made_for(model, model.latest_report)
    more = fed(islice(events, 900, None), gazetteer, model, offset=900)
    assert more.now.due
    assert more.latest_report is not None
    assert not more.now.fresh_for(Asked(more.latest_report, more.latest_report), more.latest_report)
    assert_agree(more, made_for(more, more.latest_report))


def test_a_moment_before_what_the_views_were_made_from_is_not_read_from_the_index() -> None:
    model = fed()
    made_for(model, NOW)
    assert model.latest_report is not None
    assert model.now.since is not None
    before = Asked(model.now.since - timedelta(seconds=1), model.latest_report)
    assert not model.now.fresh_for(before, model.latest_report)
    earlier_known = Asked(NOW, model.latest_report - timedelta(days=1))
    assert not model.now.fresh_for(earlier_known, model.latest_report)


async def test_the_situation_now_is_answered_from_the_index_made_in_the_background() -> None:
    model = fed()
    async with serving(model) as client:
        body = (await client.get("/v1/situation", params={"country": "SY"})).json()
    assert not model.now.due
    assert body["view"] == _json(
        overview(
            Answers(model.situation, Asked(NOW, model.latest_report or NOW)),
            country="SY",
            admin1=None,
        )
    )


@pytest.mark.parametrize("country", [None, "SY", "IQ", "IR"])
def test_the_latest_statements_read_by_time_are_the_first_of_every_statement(
    generated: ReadModel, country: str | None
) -> None:
    model = generated
    assert model.latest_report is not None
    latest = model.latest_report
    for asked in (
        Asked(latest, latest),
        Asked(latest - timedelta(days=60), latest),
        Asked(latest, latest - timedelta(days=90)),
    ):
        answers = Answers(model.situation, asked)
        every = ReportFilter(country=country).statements(answers)
        assert answers.latest_statements(country, 10) == every[:10]
    assert every


def pages(answers: Answers, where: ReportFilter, limit: int, ranked: Ranked) -> list[list[Any]]:
    out, cursor = [], None
    while True:
        page = where.casualties_page(answers, limit, cursor, ranked)
        out.append(_json(list(page.items)))
        cursor = page.next_cursor
        if cursor is None:
            return out


@pytest.mark.parametrize(
    "where",
    [
        ReportFilter(),
        ReportFilter(country="SY"),
        ReportFilter(country="IQ", admin1="Nineveh"),
        ReportFilter(since=datetime(2021, 10, 1, tzinfo=UTC)),
        ReportFilter(until=datetime(2021, 9, 1, tzinfo=UTC)),
    ],
)
def test_casualties_pages_read_from_the_index_are_those_projected(
    generated: ReadModel, where: ReportFilter
) -> None:
    model = generated
    assert model.latest_report is not None
    answers = made_for(model, model.latest_report)
    every = where.casualties(answers)
    assert every
    for limit in (1, 7, 100):
        fast = pages(answers, where, limit, model.now.parties.ranked)
        slow = pages(answers, where, limit, ranked_list(answers.casualties, rank_of))
        assert fast == slow
        assert [c for page in fast for c in page] == _json(every)


def actor_pages(answers: Answers, limit: int, now: NowIndex | None) -> list[list[Any]]:
    out, cursor = [], None
    while True:
        page = actors_page(answers, limit, cursor, now)
        out.append(_json(list(page.items)))
        cursor = page.next_cursor
        if cursor is None:
            return out


def test_actors_read_from_the_index_are_those_made_from_every_place(
    generated: ReadModel,
) -> None:
    model = generated
    assert model.latest_report is not None
    answers = made_for(model, model.latest_report)
    for limit in (1, 9, 1000):
        assert actor_pages(answers, limit, model.now) == actor_pages(answers, limit, None)
    listed = [a for page in actor_pages(answers, 1000, model.now) for a in page]
    assert listed == _json(answers.actors)
    assert any(a["controls"] for a in listed)
    for actor in answers.actors[::7]:
        for name in (actor.id, actor.name, *actor.aliases):
            assert actor_named(answers, name, model.now) == actor_named(answers, name, None)
    assert actor_named(answers, "nobody at all", model.now) is None


async def test_while_the_present_is_made_questions_about_now_wait_then_are_a_503(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def not_in_the_background(*_: object) -> None:
        return None

    # Nothing made in the background, one place or party made per try, no time to wait.
    monkeypatch.setattr(app_module, "keep_present", not_in_the_background)
    monkeypatch.setattr(asking_module, "INLINE_BUDGET_S", 0.0)
    monkeypatch.setattr(asking_module, "PRESENT_WAIT_S", 0.0)
    model = fed()
    async with serving(model) as client:
        busy = await client.get("/v1/situation")
        past = await client.get("/v1/situation", params={"at": "2024-12-01"})
        monkeypatch.setattr(asking_module, "PRESENT_WAIT_S", 30.0)
        waited = await client.get("/v1/situation")
    problem(busy, 503)
    assert busy.headers["Retry-After"] == "1"
    assert past.status_code == 200
    assert waited.status_code == 200
    assert not model.now.due


def test_a_registry_change_makes_every_view_again(gazetteer: Gazetteer) -> None:
    events = list(history(1500))
    descriptions = [e for e in events if isinstance(e, ActorDescribedEvent)]
    # An actor described once: without its description, its names resolve to none.
    described = next(
        e
        for e in reversed(descriptions)
        if sum(d.data.name == e.data.name for d in descriptions) == 1
    )
    rest = [e for e in events if e is not described]
    model = fed(rest, gazetteer)
    assert model.latest_report is not None
    before = made_for(model, model.latest_report).registry
    fed([described], gazetteer, model, offset=len(rest))
    assert model.latest_report is not None
    assert not model.now.fresh_for(Asked(model.latest_report, model.latest_report), None)
    after = made_for(model, model.latest_report)
    assert_agree(model, after)
    assert before.actors != after.registry.actors


@pytest.mark.parametrize(
    "where",
    [
        ReportFilter(),
        ReportFilter(country="SY"),
        ReportFilter(country="IR"),
        ReportFilter(
            since=datetime(2021, 11, 1, tzinfo=UTC), until=datetime(2021, 11, 20, tzinfo=UTC)
        ),
    ],
)
def test_statement_pages_read_by_time_are_every_statement_in_order(
    generated: ReadModel, where: ReportFilter
) -> None:
    model = generated
    assert model.latest_report is not None
    latest = model.latest_report
    for asked in (Asked(latest, latest), Asked(latest - timedelta(days=30), latest)):
        answers = Answers(model.situation, asked)
        every = where.statements(answers)
        assert every
        for limit in (1, 7, 1000):
            read: list[Statement] = []
            cursor = None
            while True:
                page = where.statements_page(answers, limit, cursor)
                assert len(page.items) <= limit
                read.extend(page.items)
                cursor = page.next_cursor
                if cursor is None:
                    break
            assert read == every


def test_statements_of_an_actor_as_spoken_for_or_speaking(generated: ReadModel) -> None:
    model = generated
    assert model.latest_report is not None
    answers = Answers(model.situation, Asked(model.latest_report, model.latest_report))
    speaker = ReportFilter().statements(answers)[0].speaker.name
    where = ReportFilter(actor=speaker)
    assert where.statements_page(answers, 1000, None).items == where.statements(answers)


async def test_a_report_filed_while_serving_reaches_the_lists_about_now() -> None:
    model = fed()
    taken = parse_event(
        {
            "id": "taken-by-a-new-militia",
            "type": "control.changed",
            "occurred_at": "2025-06-01",
            "reported_at": "2025-06-01T12:00:00Z",
            "source": {"name": "AFP", "kind": "news_agency"},
            "location": {"name": "Aleppo", "country": "SY", "admin1": "Aleppo", "kind": "city"},
            "data": {"controller": "Brand New Militia", "method": "captured"},
        }
    )
    async with serving(model) as client:
        before = (await client.get("/v1/actors", params={"limit": "1000"})).json()
        fed([taken], model=model, offset=1000)
        after = (await client.get("/v1/actors", params={"limit": "1000"})).json()
        situation = (await client.get("/v1/situation", params={"country": "SY"})).json()
    held = {a["id"]: [c["place_id"] for c in a["controls"]] for a in after["items"]}
    assert "brand-new-militia" not in {a["id"] for a in before["items"]}
    assert held["brand-new-militia"] == ["sy-aleppo"]
    assert "sy-aleppo" not in held["hayat-tahrir-al-sham"]
    holders = {h["actor"]["id"]: h for h in situation["view"]["holders"]}
    assert "sy-aleppo" in holders["brand-new-militia"]["places"]
