"""Every Kafka client is made in one place, signing in when the environment names a
principal, and connecting as before when it does not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sitrep.kafka import clients


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    clients._configured.cache_clear()
    yield
    clients._configured.cache_clear()


def test_without_a_principal_clients_connect_as_anyone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SITREP_KAFKA_USERNAME", raising=False)
    assert clients.security() == {}
    assert clients.faust_credentials() is None


async def test_a_principal_named_in_the_environment_signs_every_client_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SITREP_KAFKA_USERNAME", "sitrep-api")
    monkeypatch.setenv("SITREP_KAFKA_PASSWORD", "s3cret")
    assert clients.security() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "sitrep-api",
        "sasl_plain_password": "s3cret",
    }
    consumer = clients.consumer("127.0.0.1:9", "t")
    try:
        assert consumer._client._security_protocol == "SASL_PLAINTEXT"
        assert consumer._client._sasl_plain_username == "sitrep-api"
    finally:
        await consumer.stop()
    credentials = clients.faust_credentials()
    assert credentials.username == "sitrep-api"
    assert credentials.mechanism.value == "SCRAM-SHA-512"


def test_a_principal_acted_as_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITREP_KAFKA_USERNAME", "sitrep-api")
    admin = clients.Principal("admin", "pw")
    with clients.signed_in_as(admin):
        assert clients.security()["sasl_plain_username"] == "admin"
    assert clients.security()["sasl_plain_username"] == "sitrep-api"
