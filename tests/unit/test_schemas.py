"""The checked-in JSON Schemas are the models' own, and describe what the contract accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from sitrep.cli.schemas import stale_schemas
from sitrep.contract import EVENT_TYPES
from sitrep.contract.schemas import contract_schemas
from tests.examples import BY_TYPE, with_data

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas" / "events"


def load(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = orjson.loads((SCHEMA_DIR / name).read_bytes())
    return schema


def test_checked_in_schemas_match_the_models() -> None:
    assert stale_schemas(SCHEMA_DIR) == [], "run `sitrep schemas` and commit the result"


def test_there_is_one_schema_per_type_plus_envelope_and_union() -> None:
    names = set(contract_schemas())
    assert names == {f"{t}.schema.json" for t in EVENT_TYPES} | {
        "envelope.schema.json",
        "event.schema.json",
    }


@pytest.mark.parametrize("name", sorted(contract_schemas()))
def test_schemas_are_valid_2020_12(name: str) -> None:
    schema = load(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_valid_examples_satisfy_their_schemas(event_type: str) -> None:
    for name in (f"{event_type}.schema.json", "event.schema.json", "envelope.schema.json"):
        validator = Draft202012Validator(load(name), format_checker=FormatChecker())
        assert list(validator.iter_errors(BY_TYPE[event_type])) == [], name


def test_a_casualty_figure_needs_a_place_in_version_1_only() -> None:
    unplaced = {k: v for k, v in BY_TYPE["casualties.reported"].items() if k != "location"}
    for name in ("casualties.reported.schema.json", "event.schema.json"):
        validator = Draft202012Validator(load(name))
        assert validator.is_valid(unplaced), name
        assert validator.is_valid({**unplaced, "schema_version": 2}), name
        assert not validator.is_valid({**unplaced, "schema_version": 1}), name
        assert validator.is_valid({**BY_TYPE["casualties.reported"], "schema_version": 1}), name


def test_schemas_refuse_unknown_fields_and_bad_vocabulary() -> None:
    validator = Draft202012Validator(load("strike.reported.schema.json"))
    assert not validator.is_valid(with_data("strike.reported", means="laser"))
    assert not validator.is_valid(with_data("strike.reported", extra=1))
    assert not validator.is_valid({**BY_TYPE["strike.reported"], "extra": 1})
