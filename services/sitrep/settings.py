"""One settings object for every Sitrep service, read from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sitrep.topics import TopicNames

DEFAULT_KAFKA_VERSION = "3.9.2"


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "sitrep"


class Settings(BaseSettings):
    """Configuration shared by the CLI, the publisher and (later) the worker and API.

    Every field can be set as ``SITREP_<FIELD>``; the bootstrap servers also as the
    conventional ``KAFKA_BOOTSTRAP_SERVERS``.
    """

    model_config = SettingsConfigDict(env_prefix="SITREP_", extra="ignore", frozen=True)

    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "SITREP_KAFKA_BOOTSTRAP_SERVERS"),
        description="An existing cluster to use instead of the local broker (host:port,...).",
    )
    kafka_version: str = Field(
        default=DEFAULT_KAFKA_VERSION, description="Apache Kafka release the local broker runs."
    )
    kafka_port: int = Field(default=9092, ge=1, le=65535, description="First broker port.")
    kafka_controller_port: int = Field(
        default=9192, ge=1, le=65535, description="First KRaft controller port."
    )
    kafka_heap: str = Field(default="512m", description="Java heap per local broker.")
    state_dir: Path = Field(
        default=Path(".sitrep"), description="Where local services keep data, logs and pids."
    )
    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="Where downloaded Kafka jars and the world gazetteer's index are cached "
        "(outside the repository).",
    )
    topic_namespace: str = Field(
        default="sitrep",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$",
        description="Prefix of every topic name (see sitrep.topics).",
    )
    events_partitions: int = Field(default=6, ge=1, le=1000)
    worker_id: str = Field(
        default="sitrep-views.v4",
        # A store of another format stops the worker (sitrep.worker.engine); a new id
        # rebuilds it from the log.
        # v4: actors' designations are spelt {"by", "as"}; a rebuild sends every view again.
        description="The processors' consumer group and table prefix; a new id rebuilds from zero.",
    )
    worker_cache_mb: int = Field(
        default=64,
        ge=4,
        description="RocksDB's block cache of a worker's two stores together, in MiB: with "
        "their memtables (4 x 16 MiB), what a worker's memory grows by with the log.",
    )
    seeds_dir: Path = Field(
        default_factory=lambda: Path(__file__).resolve().parents[2] / "seeds",
        description="The project's seeds: gazetteer additions, registry, events.",
    )
    gazetteer_countries: str = Field(
        default="",
        description="Countries (ISO codes, comma-separated) the gazetteer is narrowed to; "
        "empty for the whole world.",
    )
    replication_factor: int = Field(default=1, ge=1, le=5)
    kafka_username: str | None = Field(
        default=None,
        description="The principal this process signs in to Kafka as (SASL/SCRAM); none: the "
        "cluster takes anyone (PLAINTEXT).",
    )
    kafka_password: SecretStr | None = Field(default=None, description="Its password.")
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_security_protocol: Literal["SASL_PLAINTEXT", "SASL_SSL"] = "SASL_PLAINTEXT"
    kafka_ssl_cafile: Path | None = Field(
        default=None,
        description="With SASL_SSL: the CA certificate (PEM) the brokers' certificates are "
        "checked against, e.g. a Strimzi cluster's ca.crt (default: the system's CAs).",
    )
    api_host: str = Field(default="127.0.0.1", description="Where `sitrep up` serves the API.")
    api_port: int = Field(default=8000, ge=1, le=65535, description="The API's port.")
    api_tokens: SecretStr | None = Field(
        default=None,
        description="The API's bearer tokens as `name:role:sha256hex`, comma-separated: role "
        "reader, publisher or admin; the SHA-256 of the token, never the token (`sitrep token`).",
    )
    api_tokens_file: Path | None = Field(
        default=None,
        description="A JSON or TOML file of more tokens: records with name, role and sha256.",
    )
    api_cached_reports: int = Field(
        default=100_000,
        ge=1_000,
        description="Reports the API keeps decoded in memory, the most recently asked about "
        "(a few KB each); the rest are read from its store when asked.",
    )
    api_anonymous_read: bool = Field(
        default=True,
        description="Whether reading the API needs no token (the local demo); false to require "
        "a reader or admin token. Publishing always needs a publisher or admin token.",
    )

    api_publish_timeout_s: float = Field(
        default=10.0,
        ge=1.0,
        le=120.0,
        description="How long a POST of events waits for the broker's acknowledgement before "
        "answering 503 (the events may or may not have been stored: resending them is safe).",
    )
    api_max_body_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=64 * 1024,
        description="The largest request body the API reads (a 413 past it): 1,000 events of "
        "the largest the contract allows fit.",
    )
    api_max_header_bytes: int = Field(
        default=64 * 1024,
        ge=8 * 1024,
        description="The largest request header the API reads (a 431 past it).",
    )
    api_rate_per_token: str = Field(
        default="200/second",
        description="Requests one token may make (`N/second`, `N/minute`...; empty: no limit); "
        "a 429 with Retry-After past it.",
    )
    api_rate_per_address: str = Field(
        default="100/second",
        description="Requests without a token one client address may make (empty: no limit).",
    )
    api_rate_refused_tokens: str = Field(
        default="30/minute",
        description="Requests refused for their token (401) one address may make before it is "
        "refused outright for a while (empty: no limit).",
    )
    api_max_streams: int = Field(
        default=200,
        ge=1,
        description="Clients following GET /v1/stream at once, at most (a 503 past it).",
    )
    api_stream_backlog_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=64 * 1024,
        description="Bytes of view changes one stream client may fall behind by (or 1,000 "
        "changes) before it is sent `dropped` and let go; it resumes with Last-Event-ID.",
    )
    api_cors_origins: str = Field(
        default="",
        description="Web origins (comma-separated, e.g. `https://newsroom.example`) whose pages "
        "may call the API from a browser; empty (the default) for none.",
    )

    @field_validator("api_rate_per_token", "api_rate_per_address", "api_rate_refused_tokens")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        from limits import parse

        if value.strip():
            try:
                parse(value)
            except ValueError as exc:
                raise ValueError(
                    f"must be a rate such as 100/second or 30/minute, or empty (got {value!r})"
                ) from exc
        return value.strip()

    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.api_cors_origins.split(",") if o.strip()]

    @property
    def kafka_data_dir(self) -> Path:
        return self.state_dir / "kafka"

    def topics(self) -> TopicNames:
        return TopicNames(self.topic_namespace)

    def bootstrap_servers(self) -> str:
        """The cluster to talk to: the configured one, else the local broker's first port."""
        return self.kafka_bootstrap_servers or f"127.0.0.1:{self.kafka_port}"
