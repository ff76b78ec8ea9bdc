"""`sitrep up --secure`: the same stack on a broker that makes every client sign in and checks
ACLs, the worker and the API each as its own principal, the seeds published as a scraper."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import EVENT, publish, stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    with stack(tmp_path_factory.mktemp("up-secure"), "--secure") as started:
        yield started


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def test_the_secured_stack_serves_and_takes_events_as_its_principals(
    secured: tuple[str, dict[str, str]],
) -> None:
    url, env = secured
    principals = json.loads(
        (Path(env["SITREP_STATE_DIR"]) / "kafka" / "principals.json").read_text()
    )
    assert set(principals) == {"admin", "sitrep-worker", "sitrep-api", "scraper"}
    aleppo = _get(f"{url}/v1/places/Aleppo?at=2024-12-01")["view"]  # the worker's views
    assert aleppo["controller"]["name"] == "Hayat Tahrir al-Sham"
    event = {**EVENT, "id": "e2e-secure-1"}
    assert publish(url, event) == "accepted"
