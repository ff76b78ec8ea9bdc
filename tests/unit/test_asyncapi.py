"""The AsyncAPI document of the topics: its structure, and that the API serves the checked-in one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import orjson

from sitrep.api.asyncapi import asyncapi_document, render
from sitrep.cli.schemas import asyncapi_is_stale
from sitrep.contract import encode_event
from sitrep.contract.events import EVENT_MODELS
from sitrep.topics import TopicNames
from tests.seeded import seed_events
from tests.unit.test_api_app import serving

CHECKED_IN = Path(__file__).resolve().parents[2] / "schemas" / "asyncapi.yaml"


def _resolve(document: dict[str, Any], ref: str) -> Any:
    found: Any = document
    for part in ref.removeprefix("#/").split("/"):
        found = found[part]
    return found


def test_every_topic_a_subscriber_consumes_is_a_channel_received_with_payloads() -> None:
    document = asyncapi_document()
    names = TopicNames()
    assert document["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in document["channels"].values()}
    assert addresses == {names.events, names.dead_letter, *names.views().values()}
    for name, channel in document["channels"].items():
        [operation] = [
            o
            for o in document["operations"].values()
            if o["channel"]["$ref"] == f"#/channels/{name}"
        ]
        assert operation["action"] == "receive"
        assert operation["messages"]
        for ref in operation["messages"]:
            message = _resolve(document, _resolve(document, ref["$ref"])["$ref"])
            assert message["payload"]
            assert message["bindings"]["kafka"]["key"]["type"] == "string"
        assert channel["bindings"]["kafka"]["topic"] == channel["address"]
    events = document["channels"]["events"]["messages"]
    assert len(events) == len(EVENT_MODELS)
    dead = document["components"]["messages"]["dead_letter"]
    assert "sitrep.reason" in dead["headers"]["properties"]


def test_every_reference_resolves() -> None:
    document = asyncapi_document()

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return own + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in refs(document):
        assert ref.startswith("#/"), ref
        _resolve(document, ref)


def test_the_seed_events_satisfy_their_message_payloads() -> None:
    document = asyncapi_document()
    schemas = document["components"]["schemas"]
    for event in seed_events():
        payload = {"$ref": f"#/components/schemas/{event.type.replace('.', '_')}"}
        instance = orjson.loads(encode_event(event))
        jsonschema.validate(instance, {**payload, "components": {"schemas": schemas}})


def test_the_checked_in_document_is_current() -> None:
    assert not asyncapi_is_stale(CHECKED_IN), "run `sitrep schemas`"


async def test_the_api_serves_the_document_for_its_namespace() -> None:
    async with serving() as client:
        response = await client.get("/asyncapi.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/yaml")
    assert response.content == render(asyncapi_document())
