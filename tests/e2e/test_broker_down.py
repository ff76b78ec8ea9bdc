"""With the broker stopped, publishing answers 503 with Retry-After within the publish timeout
and never a success, and reads say that how far behind they are is not known; once the broker
is back, the same request is accepted, and the API's read model, which lost the broker
meanwhile, folds it."""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.error
import urllib.request
from email.message import Message
from typing import Any

import pytest

from tests.e2e.stack import EVENT, PUBLISHER_TOKEN, sitrep

pytestmark = pytest.mark.e2e


def _post(url: str, body: Any) -> tuple[int, Message, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {PUBLISHER_TOKEN}",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.headers, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


class StreamReader(threading.Thread):
    """Reads ``GET /v1/stream`` into a queue of (event, data) pairs, in the background."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.connected = threading.Event()
        self.changes: queue.Queue[tuple[str, str]] = queue.Queue()

    def run(self) -> None:
        with urllib.request.urlopen(self.url, timeout=300) as answer:
            self.connected.set()
            event = ""
            for raw in answer:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    self.changes.put((event, line.removeprefix("data: ")))

    def wait_for(self, text: str, within: float) -> list[tuple[str, str]]:
        """The changes seen until one whose data holds ``text`` (or the time is up)."""
        seen: list[tuple[str, str]] = []
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                seen.append(self.changes.get(timeout=0.5))
            except queue.Empty:
                continue
            if text in seen[-1][1]:
                break
        return seen


def test_publishing_while_the_broker_is_down_is_refused_then_accepted_once_it_is_back(
    running: tuple[str, dict[str, str]],
) -> None:
    url, env = running
    # A client following Idlib's changes, connected before the broker goes away.
    stream = StreamReader(f"{url}/v1/stream?place=Idlib")
    stream.start()
    assert stream.connected.wait(60), "the stream did not answer"
    stopped = sitrep(env, "kafka", "stop", timeout=120)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr

    began = time.monotonic()
    status, headers, problem = _post(f"{url}/v1/events", EVENT)
    assert time.monotonic() - began < 20  # bounded: the publish timeout is 10 s
    assert status == 503, problem
    assert int(headers["Retry-After"]) > 0
    assert headers["Content-Type"].startswith("application/problem+json")
    assert problem["status"] == 503
    assert "sending them again with the same ids is safe" in problem["detail"]

    # Reads go on from what the API has, and say that how far behind it is is not known.
    deadline = time.monotonic() + 60
    freshness: dict[str, Any] = {}
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/v1/places/Idlib", timeout=30) as got:
            freshness = json.loads(got.read())["freshness"]
        if freshness["behind"] is None:
            break
        time.sleep(1)
    assert freshness["behind"] is None, freshness
    assert freshness["log_reached_at"] is not None  # before the broker went away

    started = sitrep(env, "kafka", "start", timeout=120)
    assert started.returncode == 0, started.stdout + started.stderr
    deadline = time.monotonic() + 90
    while True:
        status, headers, answer = _post(f"{url}/v1/events", EVENT)
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(int(headers.get("Retry-After", "1")))
    assert status == 200, answer
    assert answer["results"][0]["status"] in ("accepted", "duplicate")

    # The API's read model follows the log again: the event is folded (it corroborates the
    # seeds' HTS control of Idlib).
    deadline = time.monotonic() + 60
    fate: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/v1/events/{EVENT['id']}", timeout=30) as got:
                fate = json.loads(got.read())
        except urllib.error.HTTPError as error:  # 404 until the read model has folded it
            fate = {"status": error.code}
        if "view" in fate:
            break
        time.sleep(0.5)
    assert fate.get("view", {}).get("status") in ("applied", "corroborating"), fate

    # The worker folded it too, and the client that stayed connected through it all is told.
    seen = stream.wait_for(str(EVENT["id"]), within=90)
    assert seen, "no change reached the stream"
    assert str(EVENT["id"]) in seen[-1][1], seen
    assert seen[-1][0] == "control", seen
