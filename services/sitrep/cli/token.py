"""`sitrep token`: make a bearer token for the API, and the line that grants it."""

from __future__ import annotations

from typing import Annotated

import typer

from sitrep.api.access import AccessConfigError, Role, digest_of, grant, new_token


def token(
    name: Annotated[str, typer.Argument(help="Who holds the token (a publisher's name).")],
    role: Annotated[Role, typer.Option(help="What the token may do.")] = Role.READER,
) -> None:
    """Print a new random API token, and the configuration that grants it (its SHA-256 only)."""
    plaintext = new_token()
    try:
        granted = grant(name, role.value, digest_of(plaintext).hex())
    except AccessConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    digest = granted.digest.hex()
    typer.echo(f"token (give it to {name}; it is not stored anywhere): {plaintext}")
    typer.echo(f"SITREP_API_TOKENS entry: {granted.line()}")
    typer.echo("SITREP_API_TOKENS_FILE (TOML) entry:")
    typer.echo(f'[[tokens]]\nname = "{name}"\nrole = "{role.value}"\nsha256 = "{digest}"')
