"""How often one client may ask: a 429 with Retry-After past the rate of its token, of its
address without a token, or of tokens refused from its address; health probes never."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sitrep.settings import Settings
from tests.unit.test_api_access import _as, _configured, serving
from tests.unit.test_api_app import problem


async def test_anonymous_reads_are_limited_per_address_and_tokens_apart() -> None:
    settings = _configured(api_rate_per_address="5/minute", api_rate_per_token="8/minute")
    async with serving(settings) as client:
        anonymous = [await client.get("/v1/actors") for _ in range(6)]
        with_token = [await client.get("/v1/actors", headers=_as("rita")) for _ in range(9)]
        health = [await client.get("/healthz") for _ in range(10)]
    assert [r.status_code for r in anonymous] == [200] * 5 + [429]
    body = problem(anonymous[-1], 429)
    assert "more than 5 requests from one address within 60 s" in body["detail"]
    assert 1 <= int(anonymous[-1].headers["Retry-After"]) <= 60
    assert [r.status_code for r in with_token] == [200] * 8 + [429]
    assert {r.status_code for r in health} == {200}


async def test_an_address_that_keeps_sending_refused_tokens_is_refused_for_a_while() -> None:
    wrong = {"Authorization": "Bearer guess"}
    async with serving(_configured(api_rate_refused_tokens="3/minute")) as client:
        guesses = [
            await client.get("/v1/places", headers={"Authorization": f"Bearer guess-{i}"})
            for i in range(3)
        ]
        then = await client.get("/v1/places", headers=wrong)
        even_right = await client.get("/v1/places", headers=_as("rita"))
    assert [r.status_code for r in guesses] == [401] * 3
    assert "refused tokens" in problem(then, 429)["detail"]
    assert even_right.status_code == 429


def test_a_rate_that_is_no_rate_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValidationError, match="api_rate_per_address") as caught:
        Settings.model_validate({"api_rate_per_address": "lots"})
    assert "100/second or 30/minute" in str(caught.value)
