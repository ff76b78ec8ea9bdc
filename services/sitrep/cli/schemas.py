"""`sitrep schemas`: write the contract's JSON Schemas and the topics' AsyncAPI document, or
check the checked-in ones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sitrep.api import asyncapi
from sitrep.contract.schemas import contract_schemas, render

DEFAULT_DIR = Path("schemas/events")
DEFAULT_ASYNCAPI = Path("schemas") / asyncapi.FILE_NAME


def stale_schemas(directory: Path) -> list[str]:
    """Files under ``directory`` that differ from what the models generate, or are missing."""
    stale = [
        name
        for name, schema in contract_schemas().items()
        if not (directory / name).is_file() or (directory / name).read_bytes() != render(schema)
    ]
    known = set(contract_schemas())
    stale += sorted(p.name for p in directory.glob("*.schema.json") if p.name not in known)
    return stale


def asyncapi_is_stale(path: Path) -> bool:
    """Whether the AsyncAPI document at ``path`` differs from what the code generates."""
    wanted = asyncapi.render(asyncapi.asyncapi_document())
    return not path.is_file() or path.read_bytes() != wanted


def schemas(
    directory: Annotated[Path, typer.Option("--dir", help="Where the schemas live.")] = DEFAULT_DIR,
    check: Annotated[
        bool, typer.Option("--check", help="Only check; exit 1 if any file is out of date.")
    ] = False,
    asyncapi_file: Annotated[
        Path, typer.Option("--asyncapi", help="Where the topics' AsyncAPI document lives.")
    ] = DEFAULT_ASYNCAPI,
) -> None:
    """Generate the JSON Schemas (2020-12) of the event contract from the models, and the
    AsyncAPI 3.0 document of the topics."""
    if check:
        stale = stale_schemas(directory)
        if asyncapi_is_stale(asyncapi_file):
            stale.append(str(asyncapi_file))
        if stale:
            typer.echo("out of date: " + ", ".join(stale) + " (run `sitrep schemas`)", err=True)
            raise typer.Exit(1)
        typer.echo("schemas are up to date")
        return
    directory.mkdir(parents=True, exist_ok=True)
    known = contract_schemas()
    for name, schema in known.items():
        (directory / name).write_bytes(render(schema))
    for old in directory.glob("*.schema.json"):
        if old.name not in known:
            old.unlink()
    typer.echo(f"wrote {len(known)} schemas to {directory}")
    asyncapi_file.parent.mkdir(parents=True, exist_ok=True)
    asyncapi_file.write_bytes(asyncapi.render(asyncapi.asyncapi_document()))
    typer.echo(f"wrote {asyncapi_file}")
