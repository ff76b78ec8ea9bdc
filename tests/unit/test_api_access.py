"""Who may use the API: bearer tokens with roles, kept hashed, and who may retract what."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from sitrep.api.access import Access, AccessConfigError, Role, read_file
from sitrep.api.app import create_api
from sitrep.api.gate import PublishGate
from sitrep.api.readmodel import ReadModel
from sitrep.contract import EventBase, encode_event, event_to_dict
from sitrep.engine.ownership import PUBLISHER_HEADER, ROLE_HEADER
from sitrep.kafka.ports import free_port_block
from sitrep.publishing import Publisher, Receipt
from sitrep.settings import Settings
from tests.examples import retraction
from tests.seeded import seed_events
from tests.unit.test_api_app import NOW, fed, problem

TOKENS = {
    "alice": ("publisher", "token-of-alice"),
    "bob": ("publisher", "token-of-bob"),
    "rita": ("reader", "token-of-rita"),
    "ada": ("admin", "token-of-ada"),
}


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _configured(**more: Any) -> Settings:
    lines = ",".join(f"{name}:{role}:{_sha256(token)}" for name, (role, token) in TOKENS.items())
    closed = f"127.0.0.1:{free_port_block(1)}"
    return Settings.model_validate({"KAFKA_BOOTSTRAP_SERVERS": closed, "api_tokens": lines, **more})


def _as(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name][1]}"}


class RecordingPublisher(Publisher):
    """Acknowledges every event at once, keeping the headers it was asked to send."""

    def __init__(self) -> None:  # no super().__init__: it would make a Kafka producer
        self.sent: list[tuple[str, Mapping[str, str]]] = []

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def enqueue(
        self, raw: Any, *, headers: Mapping[str, str] | None = None
    ) -> asyncio.Future[Receipt]:
        event = raw if isinstance(raw, EventBase) else PublishGate.validate(raw)
        self.sent.append((event.id, dict(headers or {})))
        done: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        done.set_result(Receipt(event.id, "unused", 0, len(self.sent)))
        return done


@asynccontextmanager
async def serving(
    settings: Settings, model: ReadModel | None = None, publisher: Publisher | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_api(settings, model or fed(), publisher or RecordingPublisher(), clock=lambda: NOW)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sitrep") as client:
            yield client


def _json(event: EventBase) -> dict[str, Any]:
    return event.model_dump(mode="json", by_alias=True, exclude_none=True)


def _new_event(event_id: str) -> dict[str, Any]:
    capture = next(e for e in seed_events() if e.type == "control.changed")
    return {**_json(capture), "id": event_id}


_retraction = retraction


def _owned_by(owners: Mapping[str, str]) -> ReadModel:
    """The seed events on the log, those in ``owners`` published through the API by them."""
    model = fed([])
    for offset, event in enumerate(seed_events()):
        owner = owners.get(event.id)
        headers = [(PUBLISHER_HEADER, owner.encode())] if owner else []
        model.apply(0, offset, encode_event(event), headers)
    return model


# --- who is calling ----------------------------------------------------------------------------


async def test_reading_needs_no_token_by_default() -> None:
    async with serving(_configured()) as client:
        response = await client.get("/v1/places/Aleppo")
    assert response.status_code == 200, response.text


async def test_reading_without_a_token_is_a_401_when_anonymous_reading_is_off() -> None:
    async with serving(_configured(api_anonymous_read=False)) as client:
        places = await client.get("/v1/places")
        event = await client.get("/v1/events/seed-000-aleppo-control-hts")
        metrics = await client.get("/metrics")
        health = await client.get("/healthz")
    for response in (places, event, metrics):
        problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert health.status_code == 200


async def test_readers_and_admins_read_publishers_do_not_when_reading_is_closed() -> None:
    async with serving(_configured(api_anonymous_read=False)) as client:
        rita = await client.get("/v1/places", headers=_as("rita"))
        ada = await client.get("/v1/places", headers=_as("ada"))
        alice = await client.get("/v1/places", headers=_as("alice"))
    assert (rita.status_code, ada.status_code) == (200, 200)
    problem(alice, 403)


async def test_a_wrong_token_is_a_401_even_where_none_is_needed() -> None:
    wrong = {"Authorization": "Bearer token-of-nobody"}
    async with serving(_configured()) as client:
        read = await client.get("/v1/places", headers=wrong)
        post = await client.post("/v1/events", json=_new_event("x-1"), headers=wrong)
    for response in (read, post):
        problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


async def test_publishing_needs_a_publisher_token() -> None:
    publisher = RecordingPublisher()
    async with serving(_configured(), publisher=publisher) as client:
        anonymous = await client.post("/v1/events", json=_new_event("x-1"))
        reader = await client.post("/v1/events", json=_new_event("x-1"), headers=_as("rita"))
        alice = await client.post("/v1/events", json=_new_event("x-1"), headers=_as("alice"))
        ada = await client.post("/v1/events", json=_new_event("x-2"), headers=_as("ada"))
    problem(anonymous, 401)
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert "rita is a reader" in problem(reader, 403)["detail"]
    assert alice.status_code == ada.status_code == 200
    assert alice.json()["accepted"] == ada.json()["accepted"] == 1
    assert publisher.sent == [
        ("x-1", {PUBLISHER_HEADER: "alice"}),
        ("x-2", {PUBLISHER_HEADER: "ada", ROLE_HEADER: "admin"}),
    ]


# --- who may retract what ----------------------------------------------------------------------


async def test_a_publisher_may_retract_only_its_own_events() -> None:
    model = _owned_by({"seed-000-aleppo-control-hts": "alice"})
    publisher = RecordingPublisher()
    retract = _retraction("retract-1", "seed-000-aleppo-control-hts")
    async with serving(_configured(), model, publisher) as client:
        bob = await client.post("/v1/events", json=retract, headers=_as("bob"))
        alice = await client.post("/v1/events", json=retract, headers=_as("alice"))
    assert "alice" not in problem(bob, 403)["detail"]
    assert alice.status_code == 200, alice.text
    assert [r["status"] for r in alice.json()["results"]] == ["accepted"]
    assert publisher.sent == [("retract-1", {PUBLISHER_HEADER: "alice"})]


async def test_ownership_holds_before_the_log_comes_back_and_within_a_batch() -> None:
    async with serving(_configured()) as client:
        posted = await client.post("/v1/events", json=_new_event("mine"), headers=_as("alice"))
        bob = await client.post("/v1/events", json=_retraction("r-bob", "mine"), headers=_as("bob"))
        alice = await client.post(
            "/v1/events", json=_retraction("r-alice", "mine"), headers=_as("alice")
        )
        batch = await client.post(
            "/v1/events",
            json=[_new_event("also-mine"), _retraction("r-batch", "also-mine")],
            headers=_as("bob"),
        )
    assert posted.status_code == 200
    problem(bob, 403)
    assert alice.json()["accepted"] == 1
    assert batch.json()["accepted"] == 2


async def test_while_the_log_is_being_read_a_retraction_of_an_event_in_its_batch_waits() -> None:
    # Right after a start, the victim's event may be on the log unread: a copy of it sent
    # with a retraction must not pass for the caller's own.
    model = _owned_by({})
    model.note_ends({0: 10_000})  # the log holds more than the model has read
    victim = next(e for e in seed_events() if e.type == "control.changed")
    copy = event_to_dict(victim)
    async with serving(_configured(), model) as client:
        batch = await client.post(
            "/v1/events",
            json=[{**copy, "id": "victims-own"}, _retraction("r-bob", "victims-own")],
            headers=_as("bob"),
        )
    body = problem(batch, 503)
    assert "is not known until the API has read the whole event log" in body["detail"]
    assert batch.headers["Retry-After"]


async def test_an_answer_to_an_event_not_on_the_log_is_accepted_with_a_warning_that_it_waits() -> (
    None
):
    denial = {
        **_retraction("d-1", "never-published-yet"),
        "type": "claim.denied",
        "data": {"event_id": "never-published-yet", "denied_by": "Syrian Arab Army"},
    }
    known = {**denial, "id": "d-2", "data": {**denial["data"], "event_id": "mine-too"}}
    async with serving(_configured()) as client:
        body = (
            await client.post(
                "/v1/events", json=[denial, _new_event("mine-too"), known], headers=_as("alice")
            )
        ).json()
    assert [r["status"] for r in body["results"]] == ["accepted"] * 3
    assert any(
        "'never-published-yet' is not on the log yet" in w for w in body["results"][0]["warnings"]
    )
    assert not any("not on the log" in w for w in body["results"][2].get("warnings", []))


async def test_events_not_published_through_the_api_only_an_admin_may_retract() -> None:
    retract = _retraction("retract-1", "seed-000-aleppo-control-hts")
    unknown = _retraction("retract-2", "never-published")
    async with serving(_configured(), _owned_by({})) as client:
        alice = await client.post("/v1/events", json=retract, headers=_as("alice"))
        ahead = await client.post("/v1/events", json=unknown, headers=_as("alice"))
        ada = await client.post("/v1/events", json=[retract, unknown], headers=_as("ada"))
    problem(alice, 403)
    problem(ahead, 403)
    assert ada.json()["accepted"] == 2


async def test_an_admin_may_retract_another_publishers_event() -> None:
    model = _owned_by({"seed-000-aleppo-control-hts": "alice"})
    retract = _retraction("retract-1", "seed-000-aleppo-control-hts")
    async with serving(_configured(), model) as client:
        ada = await client.post("/v1/events", json=retract, headers=_as("ada"))
    assert ada.json()["accepted"] == 1


# --- how tokens are kept -----------------------------------------------------------------------


def test_tokens_are_kept_only_as_digests() -> None:
    settings = _configured()
    access = Access.from_settings(settings)
    shown = repr(settings) + str(settings.model_dump()) + repr(access.__dict__)
    assert all(token not in shown for _, token in TOKENS.values())
    assert _sha256(TOKENS["alice"][1]) not in repr(settings)
    alice = access.identify(TOKENS["alice"][1])
    assert alice is not None
    assert (alice.name, alice.role) == ("alice", Role.PUBLISHER)
    assert access.identify("token-of-nobody") is None


def test_tokens_come_from_a_json_or_toml_file_too(tmp_path: Path) -> None:
    digest = _sha256("file-token")
    as_json = tmp_path / "tokens.json"
    as_json.write_text(json.dumps([{"name": "scraper", "role": "publisher", "sha256": digest}]))
    as_toml = tmp_path / "tokens.toml"
    as_toml.write_text(f'[[tokens]]\nname = "desk"\nrole = "admin"\nsha256 = "{digest.upper()}"\n')
    assert [g.caller.name for g in read_file(as_json)] == ["scraper"]
    assert [g.caller.role for g in read_file(as_toml)] == [Role.ADMIN]
    settings = _configured(api_tokens_file=as_json)
    caller = Access.from_settings(settings).identify("file-token")
    assert caller is not None
    assert caller.name == "scraper"


@pytest.mark.parametrize(
    "line",
    [
        "alice:owner:" + "0" * 64,
        "alice:reader:not-a-digest",
        "alice:reader",
        f"alice:reader:{'0' * 64},alice:admin:{'1' * 64}",
    ],
)
def test_a_bad_token_configuration_stops_the_api_from_starting(line: str) -> None:
    settings = Settings.model_validate({"api_tokens": line})
    with pytest.raises(AccessConfigError):
        create_api(settings, fed([]))


# --- which other sites' pages may call it -------------------------------------------------------


async def test_no_other_site_may_call_the_api_from_a_browser_unless_configured() -> None:
    preflight = {
        "Origin": "https://newsroom.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    async with serving(_configured()) as client:
        closed = await client.get("/v1/places", headers={"Origin": "https://newsroom.example"})
    assert closed.status_code == 200
    assert "access-control-allow-origin" not in closed.headers
    settings = _configured(api_cors_origins="https://newsroom.example, https://ngo.example")
    async with serving(settings) as client:
        allowed = await client.options("/v1/places", headers=preflight)
        other = await client.options(
            "/v1/places", headers={**preflight, "Origin": "https://elsewhere.example"}
        )
        read = await client.get("/v1/places", headers={"Origin": "https://ngo.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://newsroom.example"
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    assert read.headers["access-control-allow-origin"] == "https://ngo.example"


# --- a broker that does not answer ------------------------------------------------------------


class SilentPublisher(RecordingPublisher):
    """Takes each send and never acknowledges it: a broker gone quiet."""

    async def enqueue(
        self, raw: Any, *, headers: Mapping[str, str] | None = None
    ) -> asyncio.Future[Receipt]:
        await super().enqueue(raw, headers=headers)
        return asyncio.get_running_loop().create_future()


async def test_a_post_the_broker_does_not_acknowledge_is_answered_in_bounded_time() -> None:
    loop = asyncio.get_running_loop()
    async with serving(_configured(api_publish_timeout_s=1), publisher=SilentPublisher()) as client:
        began = loop.time()
        response = await client.post(
            "/v1/events", json=[_new_event("q-1"), _new_event("q-2")], headers=_as("alice")
        )
        took = loop.time() - began
    body = problem(response, 503)
    assert took < 5
    assert int(response.headers["Retry-After"]) > 0
    assert "acknowledged 0 of 2 events within 1 s" in body["detail"]
    assert "may or may not have been stored" in body["detail"]
    assert "sending them again with the same ids is safe" in body["detail"]


async def test_a_retraction_written_past_the_api_by_another_is_refused_in_the_views() -> None:
    model = _owned_by({"seed-000-aleppo-control-hts": "alice"})
    async with serving(_configured(), model) as client:
        before = (await client.get("/v1/places/Aleppo")).json()["view"]
    retraction = _retraction("r-mallory", "seed-000-aleppo-control-hts")
    model.apply(1, 0, orjson.dumps(retraction), [(PUBLISHER_HEADER, b"mallory")])
    async with serving(_configured(), model) as client:
        after = (await client.get("/v1/places/Aleppo")).json()["view"]
        fate = (await client.get("/v1/events/r-mallory")).json()["view"]
        target = (await client.get("/v1/events/seed-000-aleppo-control-hts")).json()["view"]
    assert after == before
    assert fate["status"] == "refused"
    assert "mallory may retract only the events it published" in fate["reason"]
    assert "alice's" in fate["reason"]
    assert target["status"] != "retracted"
