"""Every Kafka topic Sitrep owns, with its settings and the meaning of its key.

Topic names live here and nowhere else. They share a namespace (``sitrep`` unless
``SITREP_TOPIC_NAMESPACE`` says otherwise), so several Sitrep deployments — or test runs — can
share one cluster without seeing each other's events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_NAMESPACE = "sitrep"

_FOREVER = "-1"
_NINETY_DAYS_MS = str(90 * 24 * 3600 * 1000)


@dataclass(frozen=True)
class TopicNames:
    """The names of every topic in one namespace."""

    namespace: str = DEFAULT_NAMESPACE

    @property
    def events(self) -> str:
        return f"{self.namespace}.events.v1"

    @property
    def dead_letter(self) -> str:
        return f"{self.namespace}.events.dead-letter.v1"

    @property
    def filed(self) -> str:
        return f"{self.namespace}.internal.filed.v2"

    @property
    def registry(self) -> str:
        return f"{self.namespace}.internal.registry.v1"

    @property
    def view_control(self) -> str:
        return f"{self.namespace}.view.control.v1"

    @property
    def view_strikes(self) -> str:
        return f"{self.namespace}.view.strikes.v1"

    @property
    def view_casualties(self) -> str:
        return f"{self.namespace}.view.casualties.v1"

    @property
    def view_statements(self) -> str:
        return f"{self.namespace}.view.statements.v1"

    @property
    def view_actors(self) -> str:
        return f"{self.namespace}.view.actors.v1"

    def views(self) -> dict[str, str]:
        """View topic names, by the view they carry."""
        return {
            "control": self.view_control,
            "strikes": self.view_strikes,
            "casualties": self.view_casualties,
            "statements": self.view_statements,
            "actors": self.view_actors,
        }


_DEFAULT = TopicNames()
EVENTS = _DEFAULT.events
DEAD_LETTER = _DEFAULT.dead_letter

VIEW_KEYS = {
    "control": "place id",
    "strikes": "strike id: <place id>/<day>/<means>/<perpetrator id>",
    "casualties": "party, as named (folded)",
    "statements": "actor spoken for, as named (folded)",
    "actors": "actor id",
}


@dataclass(frozen=True)
class TopicSpec:
    """A topic as Sitrep creates it."""

    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)
    key: str = ""
    value: str = ""


def event_log(
    partitions: int, min_insync_replicas: int = 1, names: TopicNames = _DEFAULT
) -> TopicSpec:
    """The event log: the only source of truth, kept forever."""
    return TopicSpec(
        name=names.events,
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


def dead_letter(
    partitions: int, min_insync_replicas: int = 1, names: TopicNames = _DEFAULT
) -> TopicSpec:
    """Records that could not be processed, with the reason; kept 90 days."""
    return TopicSpec(
        name=names.dead_letter,
        partitions=partitions,
        config={
            "cleanup.policy": "delete",
            "retention.ms": _NINETY_DAYS_MS,
            "min.insync.replicas": str(min_insync_replicas),
        },
        key="the original record's key, unchanged",
        value="the original bytes; headers sitrep.reason, sitrep.source.topic/partition/offset",
    )


def filed(partitions: int, min_insync_replicas: int = 1, names: TopicNames = _DEFAULT) -> TopicSpec:
    """Reports bound for their ledgers: the processors' repartition topic."""
    return TopicSpec(
        name=names.filed,
        partitions=partitions,
        config={
            "cleanup.policy": "delete",
            "retention.ms": _FOREVER,
            "min.insync.replicas": str(min_insync_replicas),
        },
        key="the ledger key of the first report (place:<root place id>, casualties:<party>, "
        "statements:<actor>, or registry); the partition is the one every report's ledger key "
        "hashes to",
        value="a JSON list of reports, each {ledger, event, place, origin?}: the ledger key, the "
        "event as published, the canonical place it concerns, where the event is on the log",
    )


def registry(min_insync_replicas: int = 1, names: TopicNames = _DEFAULT) -> TopicSpec:
    """Every actor description, as one record: each worker resolves names from it."""
    return TopicSpec(
        name=names.registry,
        partitions=1,
        config={"cleanup.policy": "compact", "min.insync.replicas": str(min_insync_replicas)},
        key="registry",
        value="the actor.described events known, in event order (a JSON list)",
    )


def view(
    kind: str, partitions: int, min_insync_replicas: int = 1, names: TopicNames = _DEFAULT
) -> TopicSpec:
    """A compacted topic of one view's changes: the latest value per entity, None when gone."""
    return TopicSpec(
        name=names.views()[kind],
        partitions=partitions,
        config={"cleanup.policy": "compact", "min.insync.replicas": str(min_insync_replicas)},
        key=VIEW_KEYS[kind],
        value="the entity's view as of the latest report filed for it (JSON), or a tombstone",
    )


def all_topics(
    partitions: int, replication_factor: int, names: TopicNames = _DEFAULT
) -> list[TopicSpec]:
    """The topics Sitrep needs before anything publishes or consumes."""
    min_isr = 2 if replication_factor >= 3 else 1
    return [
        event_log(partitions, min_isr, names),
        dead_letter(partitions, min_isr, names),
        filed(partitions, min_isr, names),
        registry(min_isr, names),
        *(view(kind, partitions, min_isr, names) for kind in VIEW_KEYS),
    ]
