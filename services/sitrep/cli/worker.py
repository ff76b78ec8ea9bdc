"""`sitrep worker`: run the stream processors that fold the event log into the views."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from sitrep.resolution.catalogue import seed_places
from sitrep.resolution.places import Gazetteer
from sitrep.settings import Settings

SeedsOnly = Annotated[
    bool, typer.Option("--seeds-only", help="Gazetteer from seeds/places.json only (fast).")
]
"""The option of the commands that load the gazetteer (see :func:`load_gazetteer`)."""


def load_gazetteer(settings: Settings, *, seeds_only: bool = False) -> Gazetteer:
    """The world index (the configured countries only, if any) plus the project's own places;
    with ``seeds_only``, the project's own places alone (for tests and benchmarks)."""
    if seeds_only:
        import orjson

        places = orjson.loads((settings.seeds_dir / "places.json").read_bytes())
        return Gazetteer(seed_places(places))
    from sitrep.resolution.geonames import build_gazetteer

    countries = [c.strip().upper() for c in settings.gazetteer_countries.split(",") if c.strip()]
    return build_gazetteer(settings.seeds_dir, countries or None, cache_dir=settings.cache_dir)


def worker(
    loglevel: Annotated[str, typer.Option(help="crit, error, warn, info or debug.")] = "warn",
    seeds_only: SeedsOnly = False,
) -> None:
    """Run a processor worker; start several to share the partitions."""
    from faust.worker import Worker

    from sitrep.worker.app import create_app, worker_engine
    from sitrep.worker.engine import EXIT_INCOMPATIBLE, IncompatibleState

    settings = Settings()
    gazetteer = load_gazetteer(settings, seeds_only=seeds_only)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    engine = worker_engine(settings, gazetteer)
    try:
        engine.open()
    except IncompatibleState as exc:
        typer.echo(f"sitrep worker: {exc}", err=True)
        raise typer.Exit(EXIT_INCOMPATIBLE) from exc
    app = create_app(settings, gazetteer, engine)
    Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False).execute_from_commandline()
