"""JSON Schemas (2020-12) of the contract, generated from the models.

The checked-in files under ``schemas/events`` are this module's output; a test fails when
they drift from the models.
"""

from __future__ import annotations

from typing import Any, cast

import orjson
from pydantic import TypeAdapter

from sitrep.contract.events import EVENT_MODELS, Envelope, Event

DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE_ID = "https://sitrep.dev/schemas/events/"


def _schema(adapter: TypeAdapter[Any], name: str, title: str, description: str) -> dict[str, Any]:
    body = adapter.json_schema(by_alias=True, mode="validation")
    body.pop("title", None)
    body.pop("description", None)
    return {
        "$schema": DIALECT,
        "$id": BASE_ID + name,
        "title": title,
        "description": description,
        **body,
    }


def _doc(annotation: object) -> str:
    return (getattr(annotation, "__doc__", None) or "").strip()


def contract_schemas() -> dict[str, dict[str, Any]]:
    """Every schema of the contract, by file name."""
    out: dict[str, dict[str, Any]] = {
        "envelope.schema.json": _schema(
            TypeAdapter(Envelope),
            "envelope.schema.json",
            "Sitrep event envelope",
            "The fields every event shares; `data` holds the fields of its `type`.",
        ),
        "event.schema.json": _schema(
            TypeAdapter(cast("type[Event]", Event)),  # see codec: PEP 747
            "event.schema.json",
            "Sitrep event",
            "Any event of the contract, told apart by `type`.",
        ),
    }
    for event_type, model in EVENT_MODELS.items():
        name = f"{event_type}.schema.json"
        out[name] = _schema(
            TypeAdapter(model),
            name,
            f"Sitrep event: {event_type}",
            _doc(model.model_fields["data"].annotation) or event_type,
        )
    return out


def render(schema: dict[str, Any]) -> bytes:
    """A schema as it is written to disk: indented, keys in model order, newline-terminated."""
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2) + b"\n"
