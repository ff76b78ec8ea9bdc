"""`sitrep worker`: run the stream processors that fold the event log into the views."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from sitrep.resolution.catalogue import seed_places
from sitrep.resolution.places import Gazetteer
from sitrep.settings import Settings


def load_gazetteer(settings: Settings) -> Gazetteer:
    """GeoNames for the configured countries, plus the project's own places."""
    from sitrep.resolution.geonames import build_gazetteer

    countries = [c.strip().upper() for c in settings.gazetteer_countries.split(",") if c.strip()]
    return build_gazetteer(settings.seeds_dir, countries or None)


def worker(
    loglevel: Annotated[str, typer.Option(help="crit, error, warn, info or debug.")] = "warn",
    seeds_only: Annotated[
        bool, typer.Option("--seeds-only", help="Gazetteer from seeds/places.json only (fast).")
    ] = False,
) -> None:
    """Run a processor worker; start several to share the partitions."""
    import orjson
    from faust.worker import Worker

    from sitrep.worker.app import create_app

    settings = Settings()
    if seeds_only:
        gazetteer = Gazetteer(
            seed_places(orjson.loads((settings.seeds_dir / "places.json").read_bytes()))
        )
    else:
        gazetteer = load_gazetteer(settings)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    app = create_app(settings, gazetteer)
    Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False).execute_from_commandline()
