"""Helpers for tests that run Kafka themselves: free ports, settings, the session's target."""

from __future__ import annotations

import random
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sitrep.kafka import LocalCluster
from sitrep.settings import Settings

# Below Linux's ephemeral range (32768-60999), so client sockets never take a broker's port.
_PORT_RANGE = (20000, 32000)


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


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(count: int) -> int:
    """The first of `count` consecutive loopback ports that are free now."""
    low, high = _PORT_RANGE
    for _ in range(500):
        base = random.randrange(low, high - count)
        if all(_port_free(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports in {_PORT_RANGE}")


def local_settings(state_dir: Path, nodes: int) -> Settings:
    """Settings for a LocalCluster of `nodes` in `state_dir`, on broker and controller ports now free."""
    base = free_port_block(2 * nodes)
    return Settings(state_dir=state_dir, kafka_port=base, kafka_controller_port=base + nodes)
