"""`sitrep api`: the HTTP API on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from sitrep.cli.worker import SeedsOnly
from sitrep.settings import Settings


def api(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    log_level: Annotated[str, typer.Option(help="critical, error, warning, info or debug.")] = (
        "info"
    ),
    seeds_only: SeedsOnly = False,
) -> None:
    """Serve the situation over HTTP, following the event log from where this API's store
    stopped (from its start, the first time)."""
    import uvicorn

    from sitrep.api.app import create_api
    from sitrep.api.limits import header_limited
    from sitrep.api.readmodel import open_read_model
    from sitrep.cli.worker import load_gazetteer

    settings = Settings()
    gazetteer = load_gazetteer(settings, seeds_only=seeds_only)
    # The publisher is made in the app's lifespan: aiokafka needs the running event loop.
    root = (settings.state_dir / "api" / settings.topic_namespace).resolve()
    model = open_read_model(root, gazetteer, settings.api_cached_reports)
    app = create_api(settings, model, freeze_folded=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        http=header_limited(settings.api_max_header_bytes),
    )
