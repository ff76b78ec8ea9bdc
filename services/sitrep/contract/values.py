"""Value types shared by every event: names, texts, moments, counts, sources, locations."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from sitrep.contract.vocabulary import COUNTRY_CODES, PlaceKind, SourceKind

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
_ID_RE = re.compile(ID_PATTERN)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


def contract_error(message: str, *, field: str | None = None) -> PydanticCustomError:
    """An error whose message is shown to the publisher as it stands.

    ``field`` names the offending field when a whole-model rule raises it, so the publisher
    sees ``location.lon`` rather than ``location``.
    """
    if field is None:
        return PydanticCustomError("sitrep", message)
    return PydanticCustomError("sitrep", message, {"field": field})


class Frozen(BaseModel):
    """Base of every contract model: immutable, strict, no unknown fields."""

    model_config = ConfigDict(
        frozen=True,
        strict=True,
        extra="forbid",
        str_strip_whitespace=True,
        populate_by_name=True,
    )


def _check_id(value: Any) -> Any:
    if isinstance(value, str) and not _ID_RE.match(value):
        raise contract_error(
            "must be 1-128 characters of letters, digits and . _ : -, starting with a letter "
            "or digit"
        )
    return value


EventId = Annotated[
    str,
    BeforeValidator(_check_id),
    WithJsonSchema({"type": "string", "pattern": ID_PATTERN, "maxLength": 128}),
]


# Non-empty strings (after trimming) of bounded length.
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
MediumText = Annotated[str, Field(min_length=1, max_length=500)]
Paragraph = Annotated[str, Field(min_length=1, max_length=2_000)]
LongText = Annotated[str, Field(min_length=1, max_length=10_000)]


ActorName = Annotated[str, Field(min_length=1, max_length=200)]
PlaceName = Annotated[str, Field(min_length=1, max_length=200)]


EARLIEST = date(1800, 1, 1)
LATEST = date(2199, 12, 31)
"""The days Sitrep reads moments on: two centuries of history and the next one. Outside, a
moment is an error: views count windows of days from them, and Python's dates end at the
years 1 and 9999."""
SUPPORTED = f"must lie between {EARLIEST.isoformat()} and {LATEST.isoformat()}"


def within_range(value: date) -> bool:
    """Whether ``value`` (a date, or a date-time's day) lies in the supported range."""
    day = value.date() if isinstance(value, datetime) else value
    return EARLIEST <= day <= LATEST


def _supported(value: date) -> date:
    if not within_range(value):
        raise contract_error(f"{SUPPORTED} (got {value.isoformat()})")
    return value


def _parse_datetime(value: str) -> datetime:
    if not _DATETIME_RE.match(value):
        raise contract_error(
            "must be an RFC 3339 date-time with a UTC offset, e.g. 2024-11-30T14:05:00Z or "
            "2024-11-30T17:05:00+03:00"
        )
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise contract_error(f"is not a real date-time ({exc})") from exc
    _supported(parsed)
    return parsed


def _to_moment(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise contract_error("must include a UTC offset, e.g. 2024-11-30T14:05:00Z")
        return _supported(value)
    if isinstance(value, date):
        return _supported(value)
    if not isinstance(value, str):
        raise contract_error(
            "must be a string: an RFC 3339 date-time (2024-11-30T14:05:00Z) or a date (2024-11-30)"
        )
    if _DATE_RE.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise contract_error(f"is not a real date ({exc})") from exc
        return _supported(day)
    return _parse_datetime(value)


def _to_instant(value: Any) -> Any:
    if isinstance(value, datetime):
        return _to_moment(value)
    if isinstance(value, str):
        return _parse_datetime(value)
    raise contract_error("must be an RFC 3339 date-time string, e.g. 2024-11-30T14:05:00Z")


Moment = Annotated[
    datetime | date,
    BeforeValidator(_to_moment),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "string", "format": "date"},
            ],
            "description": (
                "RFC 3339 date-time with offset, or a plain date meaning that day; "
                f"between {EARLIEST.isoformat()} and {LATEST.isoformat()}."
            ),
        }
    ),
]
"""When something happened: an exact instant, or a whole day."""

Instant = Annotated[
    datetime,
    BeforeValidator(_to_instant),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": f"Between {EARLIEST.isoformat()} and {LATEST.isoformat()}.",
        }
    ),
]


class CountRange(Frozen):
    """A figure known only as a range: "more than 300" is ``{"low": 300}``."""

    low: Annotated[int, Field(ge=0)]
    high: Annotated[int, Field(ge=0)] | None = None
    best: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> CountRange:
        if self.high is not None and self.high < self.low:
            raise contract_error(f"must not be below low ({self.low})", field="high")
        if self.best is not None and self.best < self.low:
            raise contract_error(f"must not be below low ({self.low})", field="best")
        if self.best is not None and self.high is not None and self.best > self.high:
            raise contract_error(f"must not be above high ({self.high})", field="best")
        return self


def _count_shape(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return "count:exact"
    if isinstance(value, dict | CountRange):
        return "count:range"
    return None


Count = Annotated[
    Annotated[Annotated[int, Field(ge=0)], Tag("count:exact")]
    | Annotated[CountRange, Tag("count:range")],
    Discriminator(
        _count_shape,
        custom_error_type="sitrep",
        custom_error_message=(
            "must be a non-negative whole number or an object {low, high?, best?}"
        ),
    ),
]
"""A number of people: exact, or a range."""


def _upper_country(value: Any) -> Any:
    if isinstance(value, str):
        code = value.strip().upper()
        if code not in COUNTRY_CODES:
            raise contract_error(
                f"must be an ISO 3166-1 alpha-2 country code such as SY or TR (got {value!r})"
            )
        return code
    return value


CountryCode = Annotated[
    str,
    BeforeValidator(_upper_country),
    WithJsonSchema({"type": "string", "pattern": "^[A-Za-z]{2}$"}),
]


def _check_url(value: Any) -> Any:
    if isinstance(value, str) and not re.match(r"^https?://[^\s/]+\S*$", value.strip()):
        raise contract_error("must be an http:// or https:// address")
    return value


Url = Annotated[
    str,
    BeforeValidator(_check_url),
    Field(max_length=2048),
    WithJsonSchema({"type": "string", "format": "uri", "maxLength": 2048}),
]


class Source(Frozen):
    """Who published the report."""

    name: ShortText
    url: Url | None = None
    kind: SourceKind | None = None


class Location(Frozen):
    """Where it happened, as the source names it; resolved to a canonical place later."""

    name: PlaceName
    country: CountryCode | None = None
    admin1: ShortText | None = None
    parent: PlaceName | None = None
    kind: PlaceKind | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None

    @model_validator(mode="after")
    def _both_coordinates(self) -> Location:
        if (self.lat is None) != (self.lon is None):
            missing = "lon" if self.lon is None else "lat"
            raise contract_error("lat and lon must be given together, or neither", field=missing)
        return self
