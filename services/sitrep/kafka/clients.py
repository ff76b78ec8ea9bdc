"""Every Kafka client Sitrep makes is made here: with the cluster's address and, when the
cluster asks for it, how to sign in.

A cluster with authentication (SASL/SCRAM on a SASL_PLAINTEXT or SASL_SSL listener) names a
principal for each process: ``SITREP_KAFKA_USERNAME`` and ``SITREP_KAFKA_PASSWORD`` (and
``SITREP_KAFKA_SASL_MECHANISM``, ``SITREP_KAFKA_SECURITY_PROTOCOL``). The brokers' ACLs then
say what that principal may do (docs/OPERATIONS.md lists what the worker, the API and a
scraper need). Without a username, clients connect as before, over PLAINTEXT.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any

from aiokafka import AIOKafkaClient, AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.conn import AIOKafkaConnection, create_conn

from sitrep.settings import Settings


@dataclass(frozen=True)
class Principal:
    """Who a client signs in as."""

    username: str
    password: str
    mechanism: str = "SCRAM-SHA-512"
    protocol: str = "SASL_PLAINTEXT"
    cafile: str | None = None
    """The certificate authority the brokers' certificates are checked against (SASL_SSL;
    None: the system's), e.g. a Strimzi cluster's own CA."""

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "security_protocol": self.protocol,
            "sasl_mechanism": self.mechanism,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
        }
        if self.protocol == "SASL_SSL":
            options["ssl_context"] = ssl.create_default_context(cafile=self.cafile)
        return options


_acting_as: ContextVar[Principal | None] = ContextVar("sitrep_kafka_principal", default=None)


@contextmanager
def signed_in_as(principal: Principal | None) -> Iterator[None]:
    """Clients made within (in this context, and the tasks started from it) sign in as
    ``principal``, whatever the environment says: the tool that starts a secured local
    cluster acts as its admin."""
    token = _acting_as.set(principal)
    try:
        yield
    finally:
        _acting_as.reset(token)


def _principal() -> Principal | None:
    """Who clients sign in as: the principal acted as, else the one the environment names."""
    acting = _acting_as.get()
    return acting if acting is not None else _configured()


def security() -> dict[str, Any]:
    """The options every aiokafka client takes to sign in (none: PLAINTEXT)."""
    principal = _principal()
    return principal.options() if principal is not None else {}


@cache
def _configured() -> Principal | None:
    """The principal the environment names (read once)."""
    settings = Settings()
    if not settings.kafka_username:
        return None
    password = settings.kafka_password.get_secret_value() if settings.kafka_password else ""
    return Principal(
        settings.kafka_username,
        password,
        settings.kafka_sasl_mechanism,
        settings.kafka_security_protocol,
        str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None,
    )


def consumer(bootstrap: str, *topics: str, **options: Any) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, **security(), **options)


def producer(bootstrap: str, **options: Any) -> AIOKafkaProducer:
    return AIOKafkaProducer(bootstrap_servers=bootstrap, **security(), **options)


def admin(bootstrap: str, **options: Any) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(bootstrap_servers=bootstrap, **security(), **options)


def client(bootstrap: str, **options: Any) -> AIOKafkaClient:
    return AIOKafkaClient(bootstrap_servers=bootstrap, **security(), **options)


async def connection(host: str, port: int, **options: Any) -> AIOKafkaConnection:
    """One connection to one broker (a probe of whether it answers)."""
    return await create_conn(host, port, **security(), **options)


def faust_credentials() -> Any:
    """What faust's ``broker_credentials`` takes for the same principal (None: none)."""
    principal = _principal()
    if principal is None:
        return None
    from faust.auth import SASLCredentials

    return SASLCredentials(
        username=principal.username,
        password=principal.password,
        mechanism=principal.mechanism,
        ssl_context=principal.options().get("ssl_context"),
    )
