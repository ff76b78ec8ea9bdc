"""`sitrep gazetteer`: build the world gazetteer's index ahead of the first process needing it."""

from __future__ import annotations

import time

import typer

from sitrep.settings import Settings


def gazetteer() -> None:
    """Build the world index into the cache directory, unless it is there already."""
    from sitrep.resolution.world import ensure_index, index_path

    settings = Settings()
    if index_path(settings.cache_dir).is_file():
        typer.echo(f"The world gazetteer is ready: {index_path(settings.cache_dir)}")
        return
    typer.echo("Building the world gazetteer (once per machine, about two minutes)...")
    started = time.perf_counter()
    path = ensure_index(settings.cache_dir)
    typer.echo(f"Built {path} in {time.perf_counter() - started:.0f} s.")
