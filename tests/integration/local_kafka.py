"""Helpers for tests that run Kafka themselves: free ports, settings, the session's target."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sitrep.kafka import LocalCluster
from sitrep.kafka.ports import free_port_block
from sitrep.settings import Settings


@dataclass(frozen=True)
class KafkaTarget:
    """The cluster the session tests against."""

    kind: str  # "env" | "docker" | "local"
    bootstrap: str
    replication_factor: int
    cluster: LocalCluster | None = None


class TopicFactory(Protocol):
    """The `topic_factory` fixture: creates a fresh topic, returns its name."""

    def __call__(self, partitions: int = 1, *, config: Mapping[str, str] | None = None) -> str: ...


def local_settings(state_dir: Path, nodes: int) -> Settings:
    """Settings for a LocalCluster of `nodes` in `state_dir`, on broker and controller ports now free."""
    base = free_port_block(2 * nodes)
    return Settings(state_dir=state_dir, kafka_port=base, kafka_controller_port=base + nodes)
