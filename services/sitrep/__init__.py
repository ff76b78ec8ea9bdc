"""Sitrep: situation reports folded from an immutable Kafka event log."""

__version__ = "0.1.0"
