"""Adapters that keep the engine's state: RocksDB on disk."""
