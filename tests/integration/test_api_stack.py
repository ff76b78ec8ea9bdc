"""The HTTP API over real HTTP against the real stack: a broker, a `sitrep worker` process and
a `sitrep api` process, the seed article published through ``POST /v1/events``.

Every read endpoint and filter is asked of the running API and of the pure core (the unit
tests' read model, fed the very records this module put on the log): they must answer alike,
and the values users rely on (who holds what, statuses, counts) are checked against what the
seed files say. Then who may do what (reading is closed: readers read, publishers publish, a
publisher retracts only its own events), what became of an event, and the stream: a change
published through the API reaches a client as the worker's view record, and a client that
comes back with Last-Event-ID gets what it missed and nothing it had.

The broker-down 503 is not repeated here: ``tests/e2e/test_broker_down.py`` stops the broker
of a running stack, and ``tests/integration/test_api.py`` serves a bootstrap out of reach.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from sitrep.api.changes import Position
from sitrep.api.readmodel import ReadModel
from sitrep.contract import Event, encode_event, parse_event
from sitrep.contract.events import (
    ActorDescribedEvent,
    CasualtiesReportedEvent,
    ClaimDeniedEvent,
    ControlChangedEvent,
    StatementIssuedEvent,
    StrikeReportedEvent,
)
from sitrep.engine.ownership import PUBLISHER_HEADER
from sitrep.kafka.ports import free_port_block
from sitrep.publishing import Publisher
from sitrep.resolution.actors import Actor
from sitrep.views.actors import registry_of
from sitrep.views.routing import REGISTRY_KEY
from tests.integration.stack import (
    Stack,
    all_views,
    api_answering,
    expected_views,
    new_stack,
    wait_for,
    wait_for_views,
)
from tests.integration.test_api_stream import streaming
from tests.seeded import SEED_FILES, seed_gazetteer, seeded
from tests.unit.test_api_app import problem, serving

pytestmark = pytest.mark.integration

TOKENS = {
    "alice": ("publisher", "token-of-alice"),
    "bob": ("publisher", "token-of-bob"),
    "rita": ("reader", "token-of-rita"),
}
"""Who may use the stack's API. Reading is closed, so the module reads as rita."""

WITHIN_S = 60.0

DEC_1 = {"at": "2024-12-01"}
DEC_2 = {"at": "2024-12-02", "known_at": "2024-12-02"}


def _as(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name][1]}"}


def _raw_seeds(path: Path) -> list[dict[str, Any]]:
    """A seed file's events as a user posts them: the JSON of each line, untouched."""
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


SEEDS: dict[str, Event] = {
    event.id: event for path in SEED_FILES for event in map(parse_event, _raw_seeds(path))
}
REGISTRY = registry_of(seeded(list(SEEDS.values())).ledgers.get(REGISTRY_KEY))
GAZETTEER = seed_gazetteer()


def actor(name: str) -> Actor:
    """The actor the seed registry says ``name`` (any alias) is."""
    found = REGISTRY.lookup(name)
    assert found is not None, f"the seed registry has no actor called {name!r}"
    return found


def place_id(name: str) -> str:
    """The seed gazetteer's place for ``name`` (any spelling)."""
    return GAZETTEER.find(name)[0].id


def seeds_of(kind: type[Any]) -> list[Any]:
    return [e for e in SEEDS.values() if isinstance(e, kind)]


def control_seed(event_id: str) -> ControlChangedEvent:
    event = SEEDS[event_id]
    assert isinstance(event, ControlChangedEvent)
    return event


def baseline_of(place: str) -> ControlChangedEvent:
    """The baseline's report of who held ``place`` on the eve of the offensive."""
    [event] = [
        e
        for e in seeds_of(ControlChangedEvent)
        if e.data.method == "baseline"
        and e.id.startswith("seed-001-")
        and e.location is not None
        and place_id(e.location.name) == place_id(place)
    ]
    assert isinstance(event, ControlChangedEvent)
    return event


# --- the stack ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One record this module put on the event log, where the broker stored it."""

    partition: int
    offset: int
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass
class Live:
    """The running stack, a client reading its API as rita, and every record on its log."""

    stack: Stack
    client: httpx.AsyncClient
    records: list[Record] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    """Every valid event on the log, once each, in the order published."""
    seeded: list[dict[str, Any]] = field(default_factory=list)
    """The API's answers to the seed files' POSTs."""

    async def post(self, body: Any, as_: str) -> httpx.Response:
        """POST ``body`` to /v1/events as ``as_``; what the broker took is noted as on the log."""
        response = await self.client.post("/v1/events", json=body, headers=_as(as_))
        if response.status_code == 200:
            items = body if isinstance(body, list) else [body]
            for result in response.json()["results"]:
                if result["status"] == "accepted":
                    event = parse_event(items[result["index"]])
                    self.note(result["partition"], result["offset"], event, as_)
        return response

    def note(self, partition: int, offset: int, event: Event, publisher: str | None) -> None:
        headers = ((PUBLISHER_HEADER, publisher.encode()),) if publisher else ()
        self.records.append(Record(partition, offset, encode_event(event), headers))
        if event.id not in {e.id for e in self.events}:
            self.events.append(event)

    def ends(self) -> dict[str, int]:
        """The next offset of each partition the log should hold, as the API's freshness
        names it."""
        ends: dict[str, int] = {}
        for r in self.records:
            ends[str(r.partition)] = max(ends.get(str(r.partition), 0), r.offset + 1)
        return ends

    async def api_caught_up(self) -> None:
        """Wait until the API has folded every record on the log, and no more than those."""
        wanted = self.ends()

        async def folded() -> dict[str, int] | None:
            ready = await self.client.get("/readyz")
            if ready.status_code != 200:
                return None
            position: dict[str, int] = ready.json()["freshness"]["position"]
            reached = all(position.get(p, 0) >= end for p, end in wanted.items())
            return position if reached else None

        position = await wait_for(folded, within=WITHIN_S, every=0.1)
        assert {p: o for p, o in position.items() if o} == wanted

    async def views_settled(self) -> None:
        """Wait until the worker's view topics say what the pure core says of the log."""
        await wait_for_views(self.stack, self.events, within=WITHIN_S)

    def reference(self) -> ReadModel:
        """The unit tests' read model, fed the records on the log as the API read them."""
        model = ReadModel(seed_gazetteer())
        for r in self.records:
            model.apply(r.partition, r.offset, r.value, r.headers)
        return model


def _token_lines() -> str:
    return ",".join(
        f"{name}:{role}:{hashlib.sha256(token.encode()).hexdigest()}"
        for name, (role, token) in TOKENS.items()
    )


@pytest_asyncio.fixture(scope="module")
async def live(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Live]:
    """One stack for the module: topics of its own, a worker, the API, the seeds published
    through the API as alice, one copy published again around it and one broken record."""
    stack = new_stack(kafka_bootstrap, tmp_path_factory.mktemp("api-stack"))
    await stack.create_topics()
    port = free_port_block(1)
    try:
        stack.start_worker()
        api = stack.start_api(
            port, {"SITREP_API_TOKENS": _token_lines(), "SITREP_API_ANONYMOUS_READ": "false"}
        )
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=30, headers=_as("rita")
        ) as client:
            await api_answering(stack, api, client, within=WITHIN_S)
            running = Live(stack, client)
            for path in SEED_FILES:  # in publishing order: the registry, the baseline, the article
                response = await running.post(_raw_seeds(path), "alice")
                assert response.status_code == 200, response.text
                running.seeded.append(response.json())
            await _around_the_api(running)
            await running.api_caught_up()
            await running.views_settled()
            yield running
    finally:
        stack.stop_all()


COPIED = "seed-000-aleppo-control-hts"
"""The seed event published a second time, around the API (which would refuse it)."""
BROKEN: dict[str, Any] = {
    "id": "stack-broken-1",
    "type": "strike.reported",
    "occurred_at": "2024-11-30",
}
"""A record that breaks the contract, produced straight onto the log."""


async def _around_the_api(live: Live) -> None:
    async with Publisher(live.stack.bootstrap, topic=live.stack.names.events) as publisher:
        receipt = await publisher.publish(SEEDS[COPIED])
    live.note(receipt.partition, receipt.offset, SEEDS[COPIED], None)
    producer = AIOKafkaProducer(bootstrap_servers=live.stack.bootstrap, acks="all")
    await producer.start()
    try:
        value = orjson.dumps(BROKEN)
        sent = await producer.send_and_wait(
            live.stack.names.events, value, key=BROKEN["id"].encode()
        )
    finally:
        await producer.stop()
    live.records.append(Record(sent.partition, sent.offset, value))


Ask = Callable[..., Awaitable[Any]]


def _content(response: httpx.Response) -> Any:
    """What an answer says, without when it was asked and how fresh it is."""
    if response.headers["content-type"].startswith("text/csv"):
        return response.text
    body = response.json()
    if isinstance(body, dict):
        return {k: v for k, v in body.items() if k not in ("asked", "freshness")}
    return body


@asynccontextmanager
async def agreeing(live: Live) -> AsyncIterator[Ask]:
    """``ask(path, **params)``: the stack's answer (its JSON), once checked to be the pure
    core's answer to the same question, fed the same log."""
    await live.api_caught_up()
    async with serving(live.reference()) as core:

        async def ask(path: str, expect: int = 200, **params: str) -> Any:
            stack = await live.client.get(path, params=params)
            reference = await core.get(path, params=params)
            assert stack.status_code == reference.status_code == expect, (
                f"GET {path} {params}: {stack.status_code} {stack.text[:300]}"
                f" (the core: {reference.status_code})"
            )
            assert stack.headers["content-type"] == reference.headers["content-type"]
            assert _content(stack) == _content(reference), f"GET {path} {params}: they differ"
            if stack.headers["content-type"].startswith("text/csv"):
                return stack.text
            return stack.json()

        yield ask


def _ids(body: dict[str, Any]) -> set[str]:
    return {item["place"]["id"] for item in body["items"]}


# --- publishing ---------------------------------------------------------------------------------


async def test_the_seeds_posted_through_the_api_were_accepted_and_again_are_duplicates(
    live: Live,
) -> None:
    posted = [_raw_seeds(path) for path in SEED_FILES]
    for events, answer in zip(posted, live.seeded, strict=True):
        assert (answer["accepted"], answer["duplicate"], answer["rejected"]) == (len(events), 0, 0)
        assert [r["id"] for r in answer["results"]] == [e["id"] for e in events]
    before = live.ends()
    again = await live.post(posted[2][:3], "alice")
    assert again.status_code == 200, again.text
    assert [r["status"] for r in again.json()["results"]] == ["duplicate"] * 3
    assert live.ends() == before
    await live.api_caught_up()  # and nothing more reached the log


# --- places ------------------------------------------------------------------------------------


async def test_places_by_country_region_controller_alias_and_status(live: Live) -> None:
    hts = actor("HTS")
    async with agreeing(live) as ask:
        every = await ask("/v1/places", **DEC_1)
        in_syria = await ask("/v1/places", country="sy", **DEC_1)
        in_iraq = await ask("/v1/places", country="IQ", **DEC_1)
        in_idlib = await ask("/v1/places", admin1="Idleb", **DEC_1)
        in_aleppo = await ask("/v1/places", admin1="aleppo", country="SY", **DEC_1)
        holders = [
            await ask("/v1/places", controller=name, **DEC_1)
            for name in ("HTS", "Nusra Front", "Jabhat al-Nusra", hts.id, hts.name)
        ]
        statuses = {
            status: _ids(await ask("/v1/places", status=status, **DEC_1))
            for status in ("held", "partial", "disputed", "contested", "unknown")
        }
        before = await ask("/v1/places", controller="Nusra Front", at="2024-11-26")
        nothing_yet = await ask("/v1/places", at="2024-11-25")
    named = {e.location.name for e in SEEDS.values() if e.location is not None}
    assert _ids(every) >= {place_id(name) for name in named if GAZETTEER.find(name)}
    assert _ids(in_syria) == _ids(every)
    assert _ids(in_iraq) == set()
    # "Idleb" is how GeoNames spells the governorate the seeds call "Idlib".
    assert _ids(in_idlib) == {
        item["place"]["id"] for item in every["items"] if item["place"]["admin1"] == "Idlib"
    }
    assert _ids(in_idlib) >= {place_id("Idlib"), place_id("Maarat al-Numan")}
    assert place_id("Aleppo") in _ids(in_aleppo)
    assert not _ids(in_aleppo) & _ids(in_idlib)
    # Every name of HTS finds the same places: Idlib (held since before the offensive) and Aleppo.
    assert all(_ids(h) == _ids(holders[0]) for h in holders)
    assert _ids(holders[0]) >= {place_id("Idlib"), place_id("Aleppo")}
    assert {item["controller"]["name"] for item in holders[0]["items"]} == {hts.name}
    assert _ids(before) == {
        place_id(e.location.name)
        for e in seeds_of(ControlChangedEvent)
        if e.id.startswith("seed-001-") and e.location and actor(e.data.controller).id == hts.id
    }
    # Each place in exactly one status, and the ones the article implies where it says.
    assert sum(len(ids) for ids in statuses.values()) == len(_ids(every))
    assert place_id("Aleppo") in statuses["partial"]  # the Kurdish neighbourhoods
    assert place_id("Hama") in statuses["disputed"]  # the army denied withdrawing
    assert nothing_yet["items"] == []


async def test_places_as_geojson_and_csv_say_what_the_json_says(live: Live) -> None:
    async with agreeing(live) as ask:
        listed = (await ask("/v1/places", **DEC_1))["items"]
        geo = await ask("/v1/places", format="geojson", **DEC_1)
        table = await ask("/v1/places", format="csv", country="SY", **DEC_1)
    assert geo["type"] == "FeatureCollection"
    assert [f["id"] for f in geo["features"]] == [v["place"]["id"] for v in listed]
    aleppo = next(f for f in geo["features"] if f["id"] == place_id("Aleppo"))
    baseline = baseline_of("Aleppo").location
    assert baseline is not None
    assert aleppo["geometry"] == {"type": "Point", "coordinates": [baseline.lon, baseline.lat]}
    assert aleppo["properties"]["controller"]["name"] == actor("HTS").name
    rows = table.splitlines()
    assert len(rows) == 1 + len(listed)
    assert any(row.startswith(place_id("Hama")) and "disputed" in row for row in rows[1:])


@pytest.mark.parametrize(
    ("place", "spellings"),
    [
        ("Aleppo", ["sy-aleppo", "Halab", "Ḩalab", "حلب", "Aleppo city"]),
        (
            "Maarat al-Numan",
            ["Maraat al Numan", "Ma'arrat al-Nu'man", "Ma‘arrat an Nu‘mān", "معرة النعمان"],
        ),
        ("Hama", ["sy-hama", "Ḩamāh", "Hamah", "حماة"]),
        ("Sheikh Maqsoud", ["Sheikh Maqsood", "Şêx Meqsûd"]),
    ],
)
async def test_a_place_by_its_id_its_name_and_its_spellings_is_one_place(
    live: Live, place: str, spellings: list[str]
) -> None:
    async with agreeing(live) as ask:
        named = await ask(f"/v1/places/{place}", **DEC_1)
        others = [await ask(f"/v1/places/{spelling}", **DEC_1) for spelling in spellings]
    assert named["view"]["place"]["id"] == place_id(place)
    assert all(other["view"] == named["view"] for other in others)


async def test_what_the_article_says_of_each_place_on_1_december(live: Live) -> None:
    capture = control_seed("seed-000-aleppo-control-hts")
    async with agreeing(live) as ask:
        aleppo = (await ask("/v1/places/Aleppo", **DEC_1))["view"]
        maarat = (await ask("/v1/places/Maarat al-Numan", **DEC_1))["view"]
        hama = (await ask("/v1/places/Hama", **DEC_1))["view"]
        await ask("/v1/places/Atlantis", expect=404, **DEC_1)
    assert aleppo["controller"]["name"] == actor(capture.data.controller).name
    assert aleppo["since"] == capture.occurred_at.isoformat()
    assert aleppo["status"] == "partial"
    assert [c["event_id"] for c in aleppo["claims"]] == [capture.id]
    kurdish = {place_id("Sheikh Maqsoud"), place_id("Ashrafieh")}
    assert {s["controller"]["name"] for s in aleppo["sub_places"] if s["place_id"] in kurdish} == {
        actor(baseline_of("Sheikh Maqsoud").data.controller).name
    }
    # Two reports of the capture, two originators: the body and the photo caption.
    captured = control_seed("seed-000-maraat-al-numan-captured")
    assert maarat["controller"]["name"] == actor(captured.data.controller).name
    assert maarat["corroboration"] == 2
    # The withdrawal claimed and denied: still the government's, disputed.
    assert hama["controller"]["name"] == actor(baseline_of("Hama").data.controller).name
    assert hama["status"] == "disputed"
    assert [d["event_id"] for d in hama["denials"]] == ["seed-000-hama-army-denial"]


async def test_a_places_history_lists_each_change_of_hands(live: Live) -> None:
    async with agreeing(live) as ask:
        latest_first = await ask("/v1/places/Ḩalab/history", **DEC_1)
        earlier = (await ask("/v1/places/sy-aleppo/history", at="2024-11-26"))["items"]
    capture = control_seed("seed-000-aleppo-control-hts")
    history = latest_first["items"]
    assert latest_first["next_cursor"] is None
    assert [c["controller"]["name"] for c in history] == [
        actor(capture.data.controller).name,
        actor(baseline_of("Aleppo").data.controller).name,
    ]
    assert history[0]["sources"][0]["event_id"] == capture.id
    assert earlier == history[1:]


async def test_at_and_known_at_answer_as_the_seed_facts_imply(live: Live) -> None:
    capture = control_seed("seed-000-aleppo-control-hts")
    reported = capture.reported_at
    just_before = (reported - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    async with agreeing(live) as ask:
        eve = await ask("/v1/places/Aleppo", at="2024-11-26")
        after = await ask("/v1/places/Aleppo", at="2024-12-01")
        unknown_yet = await ask("/v1/places/Aleppo", at="2024-12-01", known_at=just_before)
        known = await ask("/v1/places/Aleppo", at="2024-12-01", known_at=reported.isoformat())
        hts_eve = await ask("/v1/actors/HTS", at="2024-11-26", known_at="2024-11-26")
        hts_after = await ask("/v1/actors/HTS", **DEC_2)
        fate_before = await ask(
            "/v1/events/seed-000-hama-army-withdrew", known_at="2024-11-30T00:00:00Z"
        )
    government = actor(baseline_of("Aleppo").data.controller).name
    assert eve["view"]["controller"]["name"] == government
    assert after["view"]["controller"]["name"] == actor(capture.data.controller).name
    assert unknown_yet["view"]["controller"]["name"] == government
    assert known["view"]["controller"]["name"] == actor(capture.data.controller).name
    assert unknown_yet["asked"] == {
        "at": "2024-12-01T23:59:59.999999+00:00",
        "known_at": just_before.replace("Z", "+00:00"),
    }
    assert {p["place_id"] for p in hts_eve["view"]["controls"]} == {place_id("Idlib")}
    assert {p["place_id"] for p in hts_after["view"]["controls"]} >= {
        place_id("Idlib"),
        place_id("Aleppo"),
    }
    # Asked as known before the army's denial was reported, the Observatory's claim stands.
    assert fate_before["view"]["status"] == "applied"


# --- reports -------------------------------------------------------------------------------------


async def test_strikes_by_place_region_perpetrator_alias_and_day(live: Live) -> None:
    strikes = seeds_of(StrikeReportedEvent)
    russian = actor("Russian air force")
    async with agreeing(live) as ask:

        async def sources(**params: str) -> list[set[str]]:
            body = await ask("/v1/strikes", **{**DEC_2, **params})
            return [{s["event_id"] for s in item["sources"]} for item in body["items"]]

        every = await sources()
        by_alias = [await sources(actor=name) for name in ("Russian air force", "VKS", russian.id)]
        in_aleppo = await sources(place="Aleppo")
        in_region = await sources(admin1="Aleppo", country="SY")
        on_the_day = await sources(since="2024-11-30", until="2024-11-30")
        before = await sources(until="2024-11-29")
        after = await sources(since="2024-12-01")
    assert sorted(set().union(*every)) == sorted(e.id for e in strikes)
    assert len(every) == len(strikes)  # each reported once
    assert all(found == by_alias[0] for found in by_alias)
    assert by_alias[0] == [
        {e.id for e in strikes if e.data.perpetrator and actor(e.data.perpetrator).id == russian.id}
    ]
    # The consulate lies in Aleppo; the strikes located at "Syria" do not.
    assert in_aleppo == in_region == [{"seed-000-iran-consulate-attack"}]
    assert on_the_day == every
    assert before == after == []


async def test_casualties_by_party_alias_place_and_period(live: Live) -> None:
    reported = {e.id: e for e in seeds_of(CasualtiesReportedEvent)}
    army = actor("Syrian army")
    async with agreeing(live) as ask:
        every = (await ask("/v1/casualties", **DEC_2))["items"]
        by_alias = [
            (await ask("/v1/casualties", actor=name, **DEC_2))["items"]
            for name in ("Syrian army", "SAA", "Syrian government forces")
        ]
        in_aleppo = (await ask("/v1/casualties", place="Halab", **DEC_2))["items"]
        in_region = (await ask("/v1/casualties", admin1="Aleppo", **DEC_2))["items"]
        in_period = await ask("/v1/casualties", since="2024-11-28", until="2024-11-29", **DEC_2)
        later = (await ask("/v1/casualties", since="2024-12-01", **DEC_2))["items"]
    reports = {r["source"]["event_id"] for party in every for r in party["reports"]}
    assert reports == set(reported)
    assert all(found == by_alias[0] for found in by_alias)
    [party] = by_alias[0]
    assert party["party"]["name"] == army.name
    assert {r["source"]["event_id"] for r in party["reports"]} == {
        i for i, e in reported.items() if actor(e.data.party).id == army.id
    }
    assert party["killed"]["low"] <= party["killed"]["high"]
    # A party is listed whole when any of its reports is located in the place.
    in_the_city = {
        i
        for i, e in reported.items()
        if e.location and place_id(e.location.name) == place_id("Aleppo")
    }
    assert [p["party"]["id"] for p in in_aleppo] == [
        actor(reported[i].data.party).id for i in sorted(in_the_city)
    ]
    assert len(in_region) == len(every)
    assert in_period["items"] == every  # 27 to 30 November overlaps it
    assert later == []


async def test_statements_by_actor_alias_speaker_country_and_day(live: Live) -> None:
    said = seeds_of(StatementIssuedEvent)
    iran = actor("Islamic Republic of Iran")
    async with agreeing(live) as ask:
        every = (await ask("/v1/statements", **DEC_2))["items"]
        by_iran = (await ask("/v1/statements", actor="Islamic Republic of Iran", **DEC_2))["items"]
        by_minister = (await ask("/v1/statements", actor="Araqchi", **DEC_2))["items"]
        in_syria = (await ask("/v1/statements", country="SY", **DEC_2))["items"]
        on_sunday = (await ask("/v1/statements", since="2024-12-01", **DEC_2))["items"]
        by_ministry = (await ask("/v1/statements", actor="Iran's foreign ministry", **DEC_2))[
            "items"
        ]
    assert {s["event_id"] for s in every} == {e.id for e in said}
    assert every[0]["event_id"] == max(said, key=lambda e: e.occurred_at).id  # newest first
    assert {s["event_id"] for s in by_iran} == {
        e.id for e in said if iran.id in (actor(e.data.actor).id, actor(e.data.speaker).id)
    }
    assert [s["event_id"] for s in by_minister] == ["seed-000-araghchi-to-damascus"]
    assert {s["event_id"] for s in in_syria} == {
        e.id for e in said if actor(e.data.actor).country == "SY"
    }
    assert [s["event_id"] for s in on_sunday] == [
        e.id for e in said if e.occurred_at.isoformat() >= "2024-12-01"
    ]
    assert [s["event_id"] for s in by_ministry] == ["seed-000-iran-consulate-statement"]


# --- actors and the situation -------------------------------------------------------------------


async def test_actors_by_any_alias(live: Live) -> None:
    described = seeds_of(ActorDescribedEvent)
    async with agreeing(live) as ask:
        listed = (await ask("/v1/actors", limit="1000", **DEC_2))["items"]
        paged = await ask("/v1/actors", limit="5", **DEC_2)
        views = [
            (await ask(f"/v1/actors/{name}", **DEC_2))["view"]
            for name in ("HTS", "Nusra Front", "Hay'at Tahrir al-Sham", "hayat-tahrir-al-sham")
        ]
        await ask("/v1/actors/Nobody at all", expect=404, **DEC_2)
    assert {a["name"] for a in listed} >= {actor(e.data.name).name for e in described}
    assert paged["items"] == listed[:5]
    assert paged["next_cursor"] is not None
    assert all(view == views[0] for view in views)
    assert views[0]["name"] == actor("HTS").name
    assert set(views[0]["aliases"]) >= {"Nusra Front", "HTS"}


async def test_the_situation_of_a_country_and_a_region(live: Live) -> None:
    async with agreeing(live) as ask:
        syria = (await ask("/v1/situation", country="SY", **DEC_1))["view"]
        aleppo_eve = (await ask("/v1/situation", admin1="Aleppo", at="2024-11-26"))["view"]
        a_week_later = (await ask("/v1/situation", country="SY", at="2024-12-09"))["view"]
    holders = {h["actor"]["name"]: set(h["places"]) for h in syria["holders"]}
    assert place_id("Aleppo") in holders[actor("HTS").name]
    assert [u["place_id"] for u in syria["unsettled"] if u["status"] == "disputed"] == [
        place_id("Hama")
    ]
    assert len(syria["strikes"]) == len(seeds_of(StrikeReportedEvent))
    eve = {h["actor"]["name"]: set(h["places"]) for h in aleppo_eve["holders"]}
    assert eve == {
        actor("Syrian government").name: {
            place_id("Aleppo"),
            place_id("Aleppo International Airport"),
        },
        actor("Kurdish forces").name: {place_id("Sheikh Maqsoud"), place_id("Ashrafieh")},
    }
    assert a_week_later["strikes"] == []


# --- what became of an event --------------------------------------------------------------------


async def test_what_became_of_each_event(live: Live) -> None:
    async with agreeing(live) as ask:
        copied = (await ask(f"/v1/events/{COPIED}"))["view"]
        denied = (await ask("/v1/events/seed-000-hama-army-withdrew"))["view"]
        both = [
            (await ask(f"/v1/events/{event_id}"))["view"]
            for event_id in (
                "seed-000-maraat-al-numan-captured",
                "seed-000-maarat-al-numan-caption",
            )
        ]
        broken = (await ask(f"/v1/events/{BROKEN['id']}"))["view"]
        await ask("/v1/events/never-published", expect=404)
    # Published through the API, then again around it: one event, two records.
    assert copied["status"] == "applied"
    assert [c["status"] for c in copied["copies"]] == ["applied", "duplicate"]
    assert copied["event"]["data"]["controller"] == control_seed(COPIED).data.controller
    assert denied["status"] == "denied"
    [denial] = seeds_of(ClaimDeniedEvent)
    assert denied["reason"].startswith(f"denied by {denial.data.denied_by}")
    # Two reports of one capture: the second to be reported corroborates the first.
    first, second = sorted(both, key=lambda f: f["status"])
    assert (first["status"], second["status"]) == ("applied", "corroborating")
    assert first["event_id"] in second["reason"]
    assert broken["status"] == "rejected"
    assert broken["event"] is None
    assert "source" in broken["reason"]


# --- who may do what -----------------------------------------------------------------------------


def _retraction(event_id: str, target: str, reported_at: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "event.retracted",
        "occurred_at": reported_at[:10],
        "reported_at": reported_at,
        "source": {"name": "Sitrep desk", "kind": "monitor"},
        "data": {"event_id": target, "reason": "The report was mistaken."},
    }


STRIKE_ON_HAMA: dict[str, Any] = {
    "id": "stack-hama-strike",
    "type": "strike.reported",
    "occurred_at": "2024-12-04",
    "reported_at": "2024-12-04T18:00:00Z",
    "source": {"name": "AP", "kind": "news_agency"},
    "location": {"name": "Hama", "country": "SY"},
    "data": {"perpetrator": "Russian air force", "means": "air"},
}


async def test_reading_needs_a_reader_token(live: Live) -> None:
    async with httpx.AsyncClient(base_url=live.client.base_url, timeout=30) as anonymous:
        paths = ["/v1/places", "/v1/places/Aleppo", "/v1/events/seed-000-aleppo-control-hts"]
        for path in [*paths, "/v1/stream", "/v1/situation", "/metrics"]:
            response = await anonymous.get(path)
            problem(response, 401)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = await anonymous.get("/v1/places", headers={"Authorization": "Bearer nonsense"})
        problem(wrong, 401)
        assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
        publisher = await anonymous.get("/v1/places", headers=_as("alice"))
        assert "alice" in problem(publisher, 403)["detail"]
        assert (await anonymous.get("/healthz")).status_code == 200


async def test_publishing_needs_a_publisher_and_retracting_the_event_its_own(live: Live) -> None:
    target = COPIED  # published by alice through the API (its copy around the API is no one's)
    async with httpx.AsyncClient(base_url=live.client.base_url, timeout=30) as nobody:
        anonymous = await nobody.post("/v1/events", json=STRIKE_ON_HAMA)
        wrong = await nobody.post(
            "/v1/events", json=STRIKE_ON_HAMA, headers={"Authorization": "Bearer nonsense"}
        )
    reader = await live.post(STRIKE_ON_HAMA, "rita")
    by_bob = await live.post(
        _retraction("stack-bob-retracts", target, "2024-12-02T09:00:00Z"), "bob"
    )
    problem(anonymous, 401)
    problem(wrong, 401)
    assert "rita" in problem(reader, 403)["detail"]
    assert target in problem(by_bob, 403)["detail"]

    published = await live.post(STRIKE_ON_HAMA, "alice")
    assert published.json()["accepted"] == 1, published.text
    retracting = _retraction("stack-alice-retracts", STRIKE_ON_HAMA["id"], "2024-12-05T09:00:00Z")
    retracted = await live.post(retracting, "alice")
    assert retracted.json()["accepted"] == 1, retracted.text

    between = {"at": "2024-12-04", "known_at": "2024-12-04T23:00:00Z"}
    async with agreeing(live) as ask:
        fate = (await ask(f"/v1/events/{STRIKE_ON_HAMA['id']}"))["view"]
        fate_then = (await ask(f"/v1/events/{STRIKE_ON_HAMA['id']}", **between))["view"]
        strikes_then = (await ask("/v1/strikes", place="Ḩamāh", **between))["items"]
        strikes_now = (await ask("/v1/strikes", place="Ḩamāh"))["items"]
        unchanged = (await ask(f"/v1/events/{target}"))["view"]
        await ask("/v1/events/stack-bob-retracts", expect=404)
    assert fate["status"] == "retracted"
    assert retracting["id"] in fate["reason"]
    assert fate_then["status"] == "applied"
    assert [[s["event_id"] for s in item["sources"]] for item in strikes_then] == [
        [STRIKE_ON_HAMA["id"]]
    ]
    assert strikes_now == []
    assert unchanged["status"] == "applied"
    await live.views_settled()


# --- the stream ----------------------------------------------------------------------------------


HAMA_CAPTURED: dict[str, Any] = {
    "id": "stack-hama-captured",
    "type": "control.changed",
    "occurred_at": "2024-12-05",
    "reported_at": "2024-12-05T18:00:00Z",
    "source": {"name": "Reuters", "kind": "news_agency"},
    "location": {"name": "Hama", "country": "SY"},
    "data": {"controller": "HTS", "method": "captured"},
}
HAMA_CORROBORATED: dict[str, Any] = {
    **HAMA_CAPTURED,
    "id": "stack-hama-captured-ap",
    "reported_at": "2024-12-06T08:00:00Z",
    "source": {"name": "AP", "kind": "news_agency"},
    "location": {"name": "Ḩamāh", "country": "SY"},
    "data": {"controller": "Hayat Tahrir al-Sham", "method": "captured"},
}
FOLLOWING = {"kind": "control", "place": "Ḩamāh", "actor": "Nusra Front"}


def _expected(live: Live, kind: str, key: str) -> Any:
    return orjson.loads(expected_views(live.events, live.stack.names)[kind][key.encode()])


async def test_a_change_published_through_the_api_streams_as_the_workers_view(
    live: Live,
) -> None:
    await live.views_settled()
    hama = place_id("Hama")
    async with streaming(live.client, **FOLLOWING) as events:
        published = await live.post(HAMA_CAPTURED, "alice")
        assert published.json()["accepted"] == 1, published.text
        had = await events.next()
    assert (had["event"], had["data"]["kind"], had["data"]["key"]) == ("control", "control", hama)
    assert had["data"]["value"] == _expected(live, "control", hama)
    assert had["data"]["value"]["view"]["controller"]["name"] == actor("HTS").name

    # While the client is away, a second report of the capture reaches the view topic.
    published = await live.post(HAMA_CORROBORATED, "alice")
    assert published.json()["accepted"] == 1, published.text
    await live.views_settled()
    async with streaming(live.client, last_event_id=had["id"], **FOLLOWING) as events:
        missed = await events.next()
    assert missed["data"]["key"] == hama
    assert missed["data"]["value"] == _expected(live, "control", hama)
    assert missed["data"]["value"]["view"]["corroboration"] == 2
    # Resumed after what it had: the record it had is not sent again.
    assert missed["data"]["value"] != had["data"]["value"]
    assert Position.decode(missed["id"]).reached(Position.decode(had["id"]))
    assert missed["id"] != had["id"]

    # From the beginning: the place's view as it stands, once, not each record on the topic.
    async with streaming(live.client, **{**FOLLOWING, "from": "beginning"}) as events:
        current = (await events.next())["data"]
    assert current == missed["data"]

    async with agreeing(live) as ask:
        now = (await ask("/v1/places/Hama"))["view"]
        then = (await ask("/v1/places/Hama", **DEC_1))["view"]
    assert now["controller"]["name"] == actor("HTS").name
    assert now["corroboration"] == 2
    assert then["status"] == "disputed"


# --- the worker and the API ----------------------------------------------------------------------


async def test_the_workers_view_records_are_what_the_api_answers_for_their_moment(
    live: Live,
) -> None:
    await live.views_settled()
    await live.api_caught_up()
    views = await all_views(live.stack)

    async def asked(path: str, record: dict[str, Any], **params: str) -> Any:
        response = await live.client.get(path, params={**record["as_of"], **params})
        assert response.status_code == 200, f"{path}: {response.text[:300]}"
        return response.json()

    for key, value in views["control"].items():
        record = orjson.loads(value)
        listed = (await asked("/v1/places", record, limit="1000"))["items"]
        assert record["view"] in listed, key
    for value in views["strikes"].values():
        record = orjson.loads(value)
        assert record["view"] in (await asked("/v1/strikes", record, limit="1000"))["items"]
    # A casualty record is one party as named ("Syrian army", "Syrian government forces"); the
    # API lists the party as resolved, with the reports of every name it goes by.
    for value in views["casualties"].values():
        record = orjson.loads(value)
        party = record["view"]["party"]["id"]
        [item] = (await asked("/v1/casualties", record, actor=party))["items"]
        assert all(report in item["reports"] for report in record["view"]["reports"])
    named = [orjson.loads(v)["view"] for v in views["casualties"].values()]
    for item in (await live.client.get("/v1/casualties", params=DEC_2)).json()["items"]:
        reports = [
            r
            for view in named
            if view["party"]["id"] == item["party"]["id"]
            for r in view["reports"]
        ]
        assert sorted(r["source"]["event_id"] for r in reports) == sorted(
            r["source"]["event_id"] for r in item["reports"]
        )
    for key, value in views["statements"].items():
        record = orjson.loads(value)
        said = (await asked("/v1/statements", record, limit="1000"))["items"]
        assert all(s in said for s in record["view"]), key
    # An actor record describes the actor as of its own reports, and the places it holds as the
    # control view topic has them now (docs/ARCHITECTURE.md).
    for key, value in views["actors"].items():
        record = orjson.loads(value)
        path = f"/v1/actors/{quote(key.decode(), safe='')}"
        described = (await asked(path, record))["view"]
        holding = (await asked(path, {"as_of": {}}))["view"]
        assert {**described, "controls": holding["controls"]} == record["view"], key


async def test_every_place_listed_can_be_asked_for_by_its_id(live: Live) -> None:
    await live.api_caught_up()
    listed = (await live.client.get("/v1/places", params={**DEC_2, "limit": "1000"})).json()
    for item in listed["items"]:
        place = item["place"]["id"]
        for path in (
            f"/v1/places/{quote(place, safe='')}",
            f"/v1/places/{quote(place, safe='')}/history",
        ):
            response = await live.client.get(path, params=DEC_2)
            assert response.status_code == 200, f"GET {path}: {response.text[:300]}"
        one = (await live.client.get(f"/v1/places/{quote(place, safe='')}", params=DEC_2)).json()
        assert one["view"] == item
