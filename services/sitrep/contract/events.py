"""The events scrapers and analysts publish: one frozen model per type.

Every event shares the envelope (:class:`EventBase`); its ``data`` holds the type's own fields.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from sitrep.contract.values import (
    ActorName,
    Count,
    CountryCode,
    EventId,
    Frozen,
    Instant,
    Location,
    LongText,
    MediumText,
    Moment,
    Paragraph,
    PlaceName,
    ShortText,
    Source,
    contract_error,
)
from sitrep.contract.vocabulary import ActorKind, ControlMethod, EventType, Stance, StrikeMeans

CURRENT_SCHEMA_VERSION = 2
"""The contract's version (docs/CONTRACT.md lists what each changed). 2: a
``casualties.reported`` may leave out ``location`` (a toll for a whole offensive has no one
place); an event that says it follows version 1 must still give it."""
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future of the validating clock ``reported_at`` may lie."""

Actors = Annotated[list[ActorName], Field(max_length=100)]


# --- data of each type -------------------------------------------------------------------


class ControlChanged(Frozen):
    """A place changed hands, or a statement of who holds it (``method: baseline``)."""

    controller: ActorName
    previous_controller: ActorName | None = None
    method: ControlMethod = "unknown"

    @model_validator(mode="after")
    def _a_change_has_two_sides(self) -> ControlChanged:
        if self.previous_controller is not None and self.previous_controller == self.controller:
            raise contract_error("must differ from controller", field="previous_controller")
        return self


class ClashReported(Frozen):
    """Fighting at a place."""

    parties: Annotated[list[ActorName], Field(min_length=1, max_length=100)]
    killed: Count | None = None


class ForcesWithdrew(Frozen):
    """An actor pulled out of a place; names no new controller."""

    actor: ActorName
    to: PlaceName | None = None
    described_as: ShortText | None = None


class StrikeReported(Frozen):
    """An air, drone, missile, artillery or rocket strike."""

    perpetrator: ActorName | None = None
    means: StrikeMeans
    target: MediumText | None = None
    killed: Count | None = None
    wounded: Count | None = None


class CasualtiesReported(Frozen):
    """A casualty figure for one party (an actor, or "civilians") over a period."""

    party: ActorName
    killed: Count
    wounded: Count | None = None
    period_start: Moment | None = None
    period_end: Moment | None = None

    @model_validator(mode="after")
    def _period_in_order(self) -> CasualtiesReported:
        if (
            self.period_start is not None
            and self.period_end is not None
            and start_of(self.period_start) > start_of(self.period_end)
        ):
            raise contract_error("must not be before period_start", field="period_end")
        return self


class StatementIssued(Frozen):
    """Someone said something on behalf of an actor."""

    speaker: ActorName
    actor: ActorName
    text: LongText
    about: Actors | None = None
    stance: Stance | None = None
    channel: ShortText | None = None


class ClaimDenied(Frozen):
    """An actor denied what another event reports."""

    event_id: EventId
    denied_by: ActorName
    text: LongText | None = None


class EventRetracted(Frozen):
    """A publisher withdrew one of its events, and says why."""

    event_id: EventId
    reason: Paragraph


class Designation(Frozen):
    """Who designates an actor as what ("United States" designates HTS "terrorist group")."""

    by: ActorName
    as_: Annotated[str, Field(alias="as", min_length=1, max_length=200)]


class ActorDescribed(Frozen):
    """What is known about an actor: aliases, kind, designations, allies."""

    name: ActorName
    aliases: Actors | None = None
    kind: ActorKind | None = None
    country: CountryCode | None = None
    designations: Annotated[list[Designation], Field(max_length=100)] | None = None
    allies: Actors | None = None


# --- the envelope ---------------------------------------------------------------------------


def _before_day_of(reported_at: datetime, occurred_at: date | datetime) -> bool:
    """Whether a report precedes the day its event occurred: that day on the event's own
    calendar when it has a time, else on the report's (its UTC offset)."""
    if isinstance(occurred_at, datetime):
        return reported_at < occurred_at.replace(hour=0, minute=0, second=0, microsecond=0)
    return reported_at.date() < occurred_at


def start_of(moment: date | datetime) -> datetime:
    """The first instant of a moment: itself, or midnight UTC of a plain date."""
    if isinstance(moment, datetime):
        return moment
    return datetime.combine(moment, time.min, tzinfo=UTC)


class EventBase(Frozen):
    """The envelope every event shares."""

    id: EventId
    schema_version: Annotated[int, Field(ge=1)] = CURRENT_SCHEMA_VERSION
    occurred_at: Moment
    reported_at: Instant
    source: Source
    claimed_by: ActorName | None = None
    location: Location | None = None
    notes: Paragraph | None = None

    @cached_property
    def starts_at(self) -> datetime:
        """:func:`start_of` ``occurred_at``, worked out once: the views ask it of every report
        each time they are made."""
        return start_of(self.occurred_at)

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value > CURRENT_SCHEMA_VERSION:
            raise contract_error(
                f"version {value} is newer than this service understands "
                f"(at most {CURRENT_SCHEMA_VERSION})"
            )
        return value

    @field_validator("reported_at")
    @classmethod
    def _reported_at_plausible(cls, value: datetime, info: ValidationInfo) -> datetime:
        # A field rule, not a whole-model one, so it is reported with every other problem.
        occurred_at = info.data.get("occurred_at")  # absent if it was invalid itself
        if occurred_at is not None and _before_day_of(value, occurred_at):
            raise contract_error(
                f"precedes the day the event occurred ({occurred_at.isoformat()}): "
                "a report cannot come before its event"
            )
        now = info.context.get("now") if isinstance(info.context, dict) else None
        if isinstance(now, datetime) and value > now + CLOCK_SKEW:
            raise contract_error(
                f"lies in the future ({value.isoformat()} is after now, "
                f"{now.isoformat(timespec='seconds')}, plus {int(CLOCK_SKEW.total_seconds() // 60)}"
                " minutes of clock skew)"
            )
        return value

    @property
    def occurred_precision(self) -> Literal["day", "instant"]:
        return "instant" if isinstance(self.occurred_at, datetime) else "day"

    @property
    def subject_id(self) -> str:
        """The id of the event this one is about (itself, unless it denies or retracts one)."""
        return self.id


# --- one model per type -----------------------------------------------------------------------


class ControlChangedEvent(EventBase):
    type: Literal["control.changed"]
    location: Location
    data: ControlChanged


class ClashReportedEvent(EventBase):
    type: Literal["clash.reported"]
    location: Location
    data: ClashReported


class ForcesWithdrewEvent(EventBase):
    type: Literal["forces.withdrew"]
    location: Location
    data: ForcesWithdrew


class StrikeReportedEvent(EventBase):
    type: Literal["strike.reported"]
    location: Location
    data: StrikeReported


LOCATION_OPTIONAL_FROM = 2
"""The version from which a casualty figure may name no place."""


class CasualtiesReportedEvent(EventBase):
    # JSON Schema says what the validator below does: version 1 requires a location.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {
                "properties": {"schema_version": {"maximum": LOCATION_OPTIONAL_FROM - 1}},
                "required": ["schema_version"],
            },
            "then": {"required": ["location"]},
        }
    )

    type: Literal["casualties.reported"]
    location: Location | None = None
    """The place the figure is for; none for a toll over a whole offensive or country."""
    data: CasualtiesReported

    @model_validator(mode="after")
    def _located_before_version_2(self) -> CasualtiesReportedEvent:
        if self.location is None and self.schema_version < LOCATION_OPTIONAL_FROM:
            raise contract_error(
                f"is required by schema_version {self.schema_version}; a casualty figure may "
                f"leave it out from schema_version {LOCATION_OPTIONAL_FROM}",
                field="location",
            )
        return self


class StatementIssuedEvent(EventBase):
    type: Literal["statement.issued"]
    data: StatementIssued


class _AboutAnotherEvent(EventBase):
    """A denial or a retraction: it concerns another event (``data.event_id``), never itself."""

    _verb: ClassVar[str]

    @field_validator("data", check_fields=False)
    @classmethod
    def _not_itself(cls, value: Any, info: ValidationInfo) -> Any:
        if value.event_id == info.data.get("id"):
            raise contract_error(f"an event cannot {cls._verb} itself", field="event_id")
        return value


class ClaimDeniedEvent(_AboutAnotherEvent):
    type: Literal["claim.denied"]
    data: ClaimDenied
    _verb = "deny"

    @property
    def subject_id(self) -> str:
        return self.data.event_id


class EventRetractedEvent(_AboutAnotherEvent):
    type: Literal["event.retracted"]
    data: EventRetracted
    _verb = "retract"

    @property
    def subject_id(self) -> str:
        return self.data.event_id


class ActorDescribedEvent(EventBase):
    type: Literal["actor.described"]
    data: ActorDescribed


Event = Annotated[
    ControlChangedEvent
    | ClashReportedEvent
    | ForcesWithdrewEvent
    | StrikeReportedEvent
    | CasualtiesReportedEvent
    | StatementIssuedEvent
    | ClaimDeniedEvent
    | EventRetractedEvent
    | ActorDescribedEvent,
    Field(discriminator="type"),
]
"""Any event of the contract, told apart by its ``type``."""

EVENT_MODELS: dict[str, type[EventBase]] = {
    "control.changed": ControlChangedEvent,
    "clash.reported": ClashReportedEvent,
    "forces.withdrew": ForcesWithdrewEvent,
    "strike.reported": StrikeReportedEvent,
    "casualties.reported": CasualtiesReportedEvent,
    "statement.issued": StatementIssuedEvent,
    "claim.denied": ClaimDeniedEvent,
    "event.retracted": EventRetractedEvent,
    "actor.described": ActorDescribedEvent,
}


class Envelope(EventBase):
    """Any event read only as far as its envelope: ``data`` is left as an object.

    Lets a consumer route an event by type, or describe one it cannot fully validate.
    """

    type: EventType
    data: dict[str, Any]
