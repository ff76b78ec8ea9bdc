"""The stack as a newcomer runs it (`sitrep up --detach` ... `sitrep down`), on ports and in a
state directory of its own, so it never touches a `make up` stack."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sitrep.kafka.ports import free_port_block

PUBLISHER_TOKEN = "e2e-publisher-token"
"""The stack accepts this token for publishing (only its digest is configured)."""
EVENT = {
    "id": "e2e-broker-down-1",
    "type": "control.changed",
    "occurred_at": "2024-12-02",
    "reported_at": "2024-12-02T09:00:00Z",
    "source": {"name": "Reuters", "kind": "news_agency"},
    "location": {"name": "Idlib", "country": "SY"},
    "data": {"controller": "Hayat Tahrir al-Sham", "method": "unknown"},
}
"""An event the e2e tests publish: HTS holds Idlib (it corroborates the seeds)."""


def publish(url: str, event: dict[str, object]) -> str:
    """POST ``event`` to the API at ``url`` with the publisher's token; its status there."""
    request = urllib.request.Request(
        f"{url}/v1/events",
        data=json.dumps(event).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {PUBLISHER_TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        status: str = json.loads(answer.read())["results"][0]["status"]
    return status


def sitrep(
    env: dict[str, str], *args: str, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """Runs the `sitrep` command with ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "sitrep.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def stack(state_dir: Path, *up_options: str) -> Iterator[tuple[str, dict[str, str]]]:
    """A running stack (``sitrep up`` with ``up_options``): the API's base URL and the
    environment that runs `sitrep` against it."""
    # Room for three brokers, their controllers, and the API (or a proxy and replicas after it).
    base = free_port_block(12)
    digest = hashlib.sha256(PUBLISHER_TOKEN.encode()).hexdigest()
    env = {
        **os.environ,
        "SITREP_STATE_DIR": str(state_dir),
        "SITREP_KAFKA_PORT": str(base),
        "SITREP_KAFKA_CONTROLLER_PORT": str(base + 3),
        "SITREP_API_PORT": str(base + 6),
        "SITREP_API_TOKENS": f"e2e:publisher:{digest}",
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)  # its own broker, as on a newcomer's machine
    started = sitrep(env, "up", "--detach", *up_options)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield f"http://127.0.0.1:{base + 6}", env
    finally:
        stopped = sitrep(env, "down", timeout=120)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
