"""`sitrep up` as a newcomer runs it: broker, worker, API and seeds, then `sitrep down`.

Runs in a state directory and on ports of its own, so it never touches a `make up` stack.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from tests.e2e.stack import sitrep as _sitrep

pytestmark = pytest.mark.e2e


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def test_up_serves_the_seeded_situation(running: tuple[str, dict[str, str]]) -> None:
    url, _ = running
    aleppo = _get(f"{url}/v1/places/Aleppo?at=2024-12-01")["view"]
    assert aleppo["controller"]["name"] == "Hayat Tahrir al-Sham"
    assert aleppo["status"] == "partial"
    before = _get(f"{url}/v1/places/Aleppo?at=2024-11-26")["view"]
    assert before["controller"]["id"] == "syrian-government"


def _places(url: str) -> list[Any]:
    """Every place listed on 1 December, page after page (a page may end early)."""
    items: list[Any] = []
    cursor = ""
    while True:
        page = _get(f"{url}/v1/places?at=2024-12-01{cursor}")
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        cursor = f"&cursor={page['next_cursor']}"


def test_seeding_again_changes_nothing(running: tuple[str, dict[str, str]]) -> None:
    url, env = running
    before = _places(url)
    assert len(before) > 5
    again = _sitrep(env, "seed")
    assert again.returncode == 0, again.stdout + again.stderr
    assert _places(url) == before


def test_up_again_finds_everything_running(running: tuple[str, dict[str, str]]) -> None:
    _, env = running
    again = _sitrep(env, "up", "--detach")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already running" in again.stdout
