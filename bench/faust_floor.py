"""A faust app with nothing of Sitrep in it: the ceiling of one faust worker, for comparison.

Run as a subprocess by ``python -m bench.processors --faust-floor``; configured like Sitrep's
worker (the same faust settings), it reads the event log with one agent and either only decodes
each record (``FLOOR_MODE=decode``) or also sends it on to a topic and writes a table row, as
the route agent does (``FLOOR_MODE=forward``). It logs ``FLOOR DONE <epoch s>`` once it has
seen ``FLOOR_EXPECT`` records. ``FLOOR_LINGER`` (seconds, default 0 as in Sitrep's worker)
sets faust's ``producer_linger``.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from sitrep.settings import Settings
from sitrep.worker.app import faust_config

log = logging.getLogger("bench.floor")


def create_app() -> Any:
    import faust  # faust inspects sys.argv when imported: only when a worker is built

    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    source = os.environ["FLOOR_SOURCE"]
    sink = os.environ["FLOOR_SINK"]
    mode = os.environ.get("FLOOR_MODE", "decode")
    expect = int(os.environ["FLOOR_EXPECT"])
    partitions = int(os.environ.get("FLOOR_PARTITIONS", "6"))
    settings = Settings(kafka_bootstrap_servers=bootstrap, events_partitions=partitions)
    config = faust_config(settings, Path(tempfile.mkdtemp(prefix="faust-floor-")))
    # Sitrep's worker leaves linger at faust's default (0); FLOOR_LINGER (s) shows what it costs.
    config["producer_linger"] = float(os.environ.get("FLOOR_LINGER", "0"))
    app = faust.App(os.environ["FLOOR_ID"], **config)
    events = app.topic(source, key_type=bytes, value_type=bytes, internal=False)
    out = app.topic(sink, key_type=bytes, value_type=bytes, internal=False)
    rows = app.Table("rows", default=None, partitions=partitions, key_type=bytes, value_type=bytes)
    seen = 0

    async def consume(stream: Any) -> None:
        nonlocal seen
        async for event in stream.events():
            decoded = orjson.loads(event.value)
            if mode == "forward":
                await out.send(key=event.key, value=event.value)
                rows[decoded["id"].encode()] = b"1"
            seen += 1
            if seen == expect:
                log.warning("FLOOR DONE %.6f", time.time())

    app.agent(events, name="consume")(consume)
    return app


def main() -> None:
    from faust.worker import Worker

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    app = create_app()
    sys.argv = sys.argv[:1]
    Worker(app, loglevel="info", quiet=True, redirect_stdouts=False).execute_from_commandline()


if __name__ == "__main__":
    main()
