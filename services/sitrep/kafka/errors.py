"""The one error the local Kafka tooling raises."""

from __future__ import annotations


class KafkaSetupError(RuntimeError):
    """Kafka could not be fetched, started, reached or given its topics; the message says why."""
