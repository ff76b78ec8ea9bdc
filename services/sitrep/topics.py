"""Every Kafka topic Sitrep owns, with its settings and the meaning of its key.

Topic names live here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EVENTS = "sitrep.events.v1"
DEAD_LETTER = "sitrep.events.dead-letter.v1"

_FOREVER = "-1"
_NINETY_DAYS_MS = str(90 * 24 * 3600 * 1000)


@dataclass(frozen=True)
class TopicSpec:
    """A topic as Sitrep creates it."""

    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)
    key: str = ""
    value: str = ""


def event_log(partitions: int, min_insync_replicas: int = 1) -> TopicSpec:
    """The event log: the only source of truth, kept forever."""
    return TopicSpec(
        name=EVENTS,
        partitions=partitions,
        config={
            "cleanup.policy": "delete",
            "retention.ms": _FOREVER,
            "retention.bytes": _FOREVER,
            "min.insync.replicas": str(min_insync_replicas),
            "message.timestamp.type": "CreateTime",
        },
        key="the event's subject id: data.event_id for claim.denied and event.retracted, "
        "else the event's own id (UTF-8)",
        value="one event as JSON (schemas/events/event.schema.json)",
    )


def dead_letter(partitions: int, min_insync_replicas: int = 1) -> TopicSpec:
    """Records that could not be processed, with the reason; kept 90 days."""
    return TopicSpec(
        name=DEAD_LETTER,
        partitions=partitions,
        config={
            "cleanup.policy": "delete",
            "retention.ms": _NINETY_DAYS_MS,
            "min.insync.replicas": str(min_insync_replicas),
        },
        key="the original record's key, unchanged",
        value="the original bytes; headers sitrep.reason, sitrep.source.topic/partition/offset",
    )


def all_topics(partitions: int, replication_factor: int) -> list[TopicSpec]:
    """The topics Sitrep needs before anything publishes or consumes."""
    min_isr = 2 if replication_factor >= 3 else 1
    return [event_log(partitions, min_isr), dead_letter(partitions, min_isr)]
