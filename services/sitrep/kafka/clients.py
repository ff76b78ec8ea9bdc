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
from functools import cache
from typing import Any

from aiokafka import AIOKafkaClient, AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from sitrep.settings import Settings


@cache
def security() -> dict[str, Any]:
    """The options every aiokafka client of this process takes to sign in (none: PLAINTEXT),
    as the environment configures them (read once)."""
    settings = Settings()
    if not settings.kafka_username:
        return {}
    password = settings.kafka_password.get_secret_value() if settings.kafka_password else ""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {
        "security_protocol": protocol,
        "sasl_mechanism": settings.kafka_sasl_mechanism,
        "sasl_plain_username": settings.kafka_username,
        "sasl_plain_password": password,
    }
    if protocol == "SASL_SSL":
        options["ssl_context"] = ssl.create_default_context()
    return options


def consumer(bootstrap: str, *topics: str, **options: Any) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, **security(), **options)


def producer(bootstrap: str, **options: Any) -> AIOKafkaProducer:
    return AIOKafkaProducer(bootstrap_servers=bootstrap, **security(), **options)


def admin(bootstrap: str, **options: Any) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(bootstrap_servers=bootstrap, **security(), **options)


def client(bootstrap: str, **options: Any) -> AIOKafkaClient:
    return AIOKafkaClient(bootstrap_servers=bootstrap, **security(), **options)


def faust_credentials() -> Any:
    """What faust's ``broker_credentials`` takes for the same principal (None: none)."""
    found = security()
    if not found:
        return None
    from faust.auth import SASLCredentials

    return SASLCredentials(
        username=found["sasl_plain_username"],
        password=found["sasl_plain_password"],
        mechanism=found["sasl_mechanism"],
        ssl_context=found.get("ssl_context"),
    )
