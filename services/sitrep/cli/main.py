"""The composition root of the `sitrep` command."""

from __future__ import annotations

import typer

from sitrep.cli.api import api
from sitrep.cli.gazetteer import gazetteer
from sitrep.cli.kafka import kafka_app
from sitrep.cli.publish import publish
from sitrep.cli.schemas import schemas
from sitrep.cli.stack import down, seed, up
from sitrep.cli.token import token
from sitrep.cli.worker import worker

app = typer.Typer(
    name="sitrep",
    help="Sitrep: situation reports for conflicts and crises, from an immutable event log.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(api)
app.command()(publish)
app.command()(schemas)
app.command()(worker)
app.command()(token)
app.command()(gazetteer)
app.command()(up)
app.command()(down)
app.command()(seed)
app.add_typer(kafka_app, name="kafka", help="Run a local Apache Kafka broker (KRaft).")

if __name__ == "__main__":
    app()
