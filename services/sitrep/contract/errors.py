"""Validation errors in words a scraper author understands: a field path and a reason."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from sitrep.contract.vocabulary import EVENT_TYPES


@dataclass(frozen=True)
class FieldError:
    """One thing wrong with an event: where (dotted path, ``[i]`` for list items) and why."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field or '(event)'}: {self.reason}"


class InvalidEvent(ValueError):
    """An event that breaks the contract; ``errors`` says every field that is wrong and why."""

    def __init__(self, errors: Sequence[FieldError], event_id: str | None = None) -> None:
        self.errors = tuple(errors)
        self.event_id = event_id
        super().__init__("; ".join(str(e) for e in self.errors))


def _path(loc: Iterable[int | str]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item.isidentifier() or item == "as":
            parts.append(f".{item}" if parts else item)
        # Anything else is a union tag pydantic put in the location ("control.changed",
        # "count:range"): not a field the publisher wrote.
    return "".join(parts)


def _got(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def reason_of(err: ErrorDetails) -> str:
    """Why pydantic refused a value, in words a scraper author (or an API user) understands."""
    kind = err["type"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    value = err.get("input")
    match kind:
        case "missing":
            return "is required"
        case "extra_forbidden":
            return "is not a field of this event (unknown fields are not allowed)"
        case "string_type":
            return f"must be a string (got {_got(value)})"
        case "int_type" | "int_from_float" | "int_parsing":
            return f"must be a whole number (got {_got(value)})"
        case "float_type" | "float_parsing":
            return f"must be a number (got {_got(value)})"
        case "bool_type" | "bool_parsing":
            return f"must be true or false (got {_got(value)})"
        case "string_too_short":
            return "must not be empty"
        case "string_too_long":
            return f"is too long: at most {ctx['max_length']} characters (got {len(value)})"
        case "too_short":
            return f"must have at least {ctx['min_length']} item(s)"
        case "too_long":
            return f"must have at most {ctx['max_length']} items (got {ctx.get('actual_length')})"
        case "greater_than_equal":
            return f"must be at least {ctx['ge']} (got {_got(value)})"
        case "less_than_equal":
            return f"must be at most {ctx['le']} (got {_got(value)})"
        case "literal_error":
            return f"must be one of {ctx['expected']} (got {_got(value)})"
        case "list_type":
            return f"must be a list (got {_got(value)})"
        case "model_type" | "dict_type" | "model_attributes_type":
            return f"must be an object (got {_got(value)})"
        case "union_tag_invalid":
            return f"unknown event type {ctx.get('tag')!r}; expected one of: " + ", ".join(
                EVENT_TYPES
            )
        case "union_tag_not_found":
            return "is required"
        case "frozen_instance" | "frozen_field":
            return "cannot be changed: events are immutable"
        case _:
            return err["msg"]


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Turn pydantic's errors into the contract's, deduplicated, in the order found."""
    found: list[FieldError] = []
    for err in exc.errors(include_url=False):
        loc: list[int | str] = list(err["loc"])
        ctx = err.get("ctx") or {}
        if "field" in ctx:
            loc.extend(str(ctx["field"]).split("."))
        if err["type"] in ("union_tag_not_found", "union_tag_invalid") and not _path(loc):
            loc.append("type")
        if err["type"] == "model_attributes_type" and not _path(loc):
            found.append(FieldError("", "an event must be a JSON object"))
            continue
        error = FieldError(_path(loc), reason_of(err))
        if error not in found:
            found.append(error)
    return found
