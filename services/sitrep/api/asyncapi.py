"""The AsyncAPI 3.0 document of every topic a subscriber may consume, generated from
:mod:`sitrep.topics`, the contract's JSON Schemas and the views' types.

The checked-in ``schemas/asyncapi.yaml`` is this module's output (``sitrep schemas`` writes it,
``--check`` fails when it drifts); the API serves it at ``GET /asyncapi.yaml``.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import TypeAdapter

from sitrep import __version__
from sitrep.contract.events import EVENT_MODELS
from sitrep.contract.schemas import contract_schemas
from sitrep.topics import VIEW_KEYS, TopicNames, TopicSpec, dead_letter, event_log, view
from sitrep.views.actors import ActorView
from sitrep.views.casualties import Casualties
from sitrep.views.control import ControlView
from sitrep.views.statements import Statement
from sitrep.views.strikes import Strike

FILE_NAME = "asyncapi.yaml"
_COMPONENTS = "#/components/schemas/"
_VIEW_PREFIX = "View"
_VIEW_TYPES: dict[str, Any] = {
    "control": ControlView,
    "strikes": Strike,
    "casualties": Casualties,
    "statements": list[Statement],
    "actors": ActorView,
}
_KAFKA_BINDING = "0.5.0"


def _hoisted(schema: Any, prefix: str = "") -> Any:
    """``schema`` with its local ``#/$defs/X`` references pointing at the components."""
    if isinstance(schema, dict):
        out = {k: _hoisted(v, prefix) for k, v in schema.items() if k not in ("$schema", "$id")}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            out["$ref"] = _COMPONENTS + prefix + ref.removeprefix("#/$defs/")
        return out
    if isinstance(schema, list):
        return [_hoisted(item, prefix) for item in schema]
    return schema


def _add_schema(schemas: dict[str, Any], body: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Move ``body``'s definitions into ``schemas``; what is left of ``body``."""
    for name, definition in body.pop("$defs", {}).items():
        hoisted = _hoisted(definition, prefix)
        if schemas.setdefault(prefix + name, hoisted) != hoisted:
            raise ValueError(f"two different schemas are called {prefix + name}")
    result: dict[str, Any] = _hoisted(body, prefix)
    return result


def _channel(spec: TopicSpec, messages: dict[str, str], description: str) -> dict[str, Any]:
    policy = spec.config.get("cleanup.policy", "delete")
    topic_config: dict[str, Any] = {"cleanup.policy": [policy]}
    if "retention.ms" in spec.config:
        topic_config["retention.ms"] = int(spec.config["retention.ms"])
    return {
        "address": spec.name,
        "title": spec.name,
        "description": f"{description}\n\nKey: {spec.key}. Value: {spec.value}.",
        "messages": {
            name: {"$ref": "#/components/messages/" + ref} for name, ref in messages.items()
        },
        "bindings": {
            "kafka": {
                "topic": spec.name,
                "partitions": spec.partitions,
                "topicConfiguration": topic_config,
                "bindingVersion": _KAFKA_BINDING,
            }
        },
    }


def _message(
    name: str, title: str, payload: dict[str, Any], key: str, content_type: str = "application/json"
) -> dict[str, Any]:
    return {
        "name": name,
        "title": title,
        "contentType": content_type,
        "payload": payload,
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": key},
                "bindingVersion": _KAFKA_BINDING,
            }
        },
    }


def asyncapi_document(names: TopicNames | None = None, partitions: int = 6) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the event log, the dead-letter topic and the view topics."""
    names = names or TopicNames()
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}

    contract = contract_schemas()
    log = event_log(partitions, names=names)
    event_messages = {}
    for event_type in EVENT_MODELS:
        body = dict(contract[f"{event_type}.schema.json"])
        message = event_type.replace(".", "_")
        schemas[message] = _add_schema(schemas, body)
        messages[message] = _message(
            event_type,
            body.get("title", event_type),
            {"$ref": _COMPONENTS + message},
            log.key,
        )
        event_messages[message] = message
    channels["events"] = _channel(log, event_messages, "The event log: every event, forever.")

    dead = dead_letter(partitions, names=names)
    messages["dead_letter"] = {
        **_message(
            "dead letter",
            "A record a processor could not process",
            {"type": "string", "format": "binary", "description": "the original bytes"},
            dead.key,
            "application/octet-stream",
        ),
        "headers": {
            "type": "object",
            "properties": {
                "sitrep.reason": {"type": "string", "description": "why it was set aside"},
                "sitrep.source.topic": {"type": "string"},
                "sitrep.source.partition": {"type": "string", "description": "decimal"},
                "sitrep.source.offset": {"type": "string", "description": "decimal"},
            },
            "required": ["sitrep.reason", "sitrep.source.topic"],
        },
    }
    channels["dead_letter"] = _channel(
        dead, {"dead_letter": "dead_letter"}, "Records set aside, with the reason; 90 days."
    )

    schemas["AsOf"] = {
        "type": "object",
        "description": "The moment the view is for: the end of the day of the entity's latest "
        "event, from every report filed for it.",
        "properties": {
            "at": {"type": "string", "format": "date-time"},
            "known_at": {"type": "string", "format": "date-time"},
        },
        "required": ["at", "known_at"],
    }
    for kind in VIEW_KEYS:
        spec = view(kind, partitions, names=names)
        body = TypeAdapter(_VIEW_TYPES[kind]).json_schema(
            mode="serialization", ref_template=_COMPONENTS + _VIEW_PREFIX + "{model}"
        )
        view_schema = _add_schema(schemas, dict(body), _VIEW_PREFIX)
        message = f"view_{kind}"
        messages[message] = _message(
            f"{kind} view",
            f"The {kind} view of one entity, or a tombstone when it is gone",
            {
                "anyOf": [
                    {
                        "type": "object",
                        "properties": {
                            "as_of": {"$ref": _COMPONENTS + "AsOf"},
                            "view": view_schema,
                        },
                        "required": ["as_of", "view"],
                    },
                    {"type": "null", "description": "a tombstone: the entity is gone"},
                ]
            },
            spec.key,
        )
        channels[message] = _channel(
            spec, {message: message}, f"The {kind} view: the latest value per entity."
        )

    for channel, body in channels.items():
        operations[f"receive_{channel}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"Consume {body['address']}.",
            "messages": [{"$ref": f"#/channels/{channel}/messages/{m}"} for m in body["messages"]],
        }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Sitrep topics",
            "version": __version__,
            "description": "Every Kafka topic a subscriber may consume. Topic names carry the "
            f"namespace (`{names.namespace}` here; `SITREP_TOPIC_NAMESPACE`).",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The broker `sitrep kafka start` runs.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(schemas.items()))},
    }


def render(document: dict[str, Any]) -> bytes:
    """The document as it is written to disk and served: YAML, in document order."""
    text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return text.encode()
