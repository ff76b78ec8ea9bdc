"""How views point back at actors and at the reports behind every fact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sitrep.contract.events import ClaimDeniedEvent, EventBase, EventRetractedEvent
from sitrep.resolution.actors import ActorRegistry


@dataclass(frozen=True)
class ActorRef:
    """An actor by its canonical id and name, with the name the report used."""

    id: str
    name: str
    as_reported: str


def actor_ref(registry: ActorRegistry, name: str) -> ActorRef:
    actor = registry.resolve(name)
    return ActorRef(actor.id, actor.name, name)


@dataclass(frozen=True)
class SourceRef:
    """One report behind a fact: who published it, who claims it, when."""

    event_id: str
    source: str
    source_url: str | None
    source_kind: str | None
    claimed_by: str | None
    occurred_at: date | datetime
    reported_at: datetime


def source_ref(event: EventBase) -> SourceRef:
    return SourceRef(
        event_id=event.id,
        source=event.source.name,
        source_url=event.source.url,
        source_kind=event.source.kind,
        claimed_by=event.claimed_by,
        occurred_at=event.occurred_at,
        reported_at=event.reported_at,
    )


def originator(registry: ActorRegistry, event: EventBase) -> str:
    """Who a report ultimately comes from: the claimant, else the source.

    Two outlets relaying the same monitor are one source, not two.
    """
    return registry.resolve_id(event.claimed_by or event.source.name)


@dataclass(frozen=True)
class DenialRef:
    """A denial of a report."""

    event_id: str
    denies: str
    denied_by: ActorRef
    text: str | None
    reported_at: datetime


def denial_ref(registry: ActorRegistry, denial: ClaimDeniedEvent) -> DenialRef:
    return DenialRef(
        event_id=denial.id,
        denies=denial.data.event_id,
        denied_by=actor_ref(registry, denial.data.denied_by),
        text=denial.data.text,
        reported_at=denial.reported_at,
    )


@dataclass(frozen=True)
class RetractionRef:
    """A report withdrawn by its publisher, and why."""

    event_id: str
    retracted_by: str
    reason: str
    reported_at: datetime


def retraction_ref(retraction: EventRetractedEvent) -> RetractionRef:
    return RetractionRef(
        event_id=retraction.data.event_id,
        retracted_by=retraction.id,
        reason=retraction.data.reason,
        reported_at=retraction.reported_at,
    )
