"""`sitrep up` as a newcomer runs it: broker, worker, API and seeds, then `sitrep down`.

Runs in a state directory and on ports of its own, so it never touches a `make up` stack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from sitrep.kafka.ports import free_port_block

pytestmark = pytest.mark.e2e


def _sitrep(
    env: dict[str, str], *args: str, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sitrep.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    base = free_port_block(3)
    env = {
        **os.environ,
        "SITREP_STATE_DIR": str(tmp_path_factory.mktemp("up")),
        "SITREP_KAFKA_PORT": str(base),
        "SITREP_KAFKA_CONTROLLER_PORT": str(base + 1),
        "SITREP_API_PORT": str(base + 2),
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)  # its own broker, as on a newcomer's machine
    started = _sitrep(env, "up", "--detach")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield f"http://127.0.0.1:{base + 2}", env
    finally:
        stopped = _sitrep(env, "down", timeout=120)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr


def test_up_serves_the_seeded_situation(running: tuple[str, dict[str, str]]) -> None:
    url, _ = running
    aleppo = _get(f"{url}/v1/places/Aleppo?at=2024-12-01")["view"]
    assert aleppo["controller"]["name"] == "Hayat Tahrir al-Sham"
    assert aleppo["status"] == "partial"
    before = _get(f"{url}/v1/places/Aleppo?at=2024-11-26")["view"]
    assert before["controller"]["id"] == "syrian-government"


def test_seeding_again_changes_nothing(running: tuple[str, dict[str, str]]) -> None:
    url, env = running
    before = _get(f"{url}/v1/places?at=2024-12-01")["items"]
    again = _sitrep(env, "seed")
    assert again.returncode == 0, again.stdout + again.stderr
    assert _get(f"{url}/v1/places?at=2024-12-01")["items"] == before


def test_up_again_finds_everything_running(running: tuple[str, dict[str, str]]) -> None:
    _, env = running
    again = _sitrep(env, "up", "--detach")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already running" in again.stdout
