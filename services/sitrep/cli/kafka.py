"""`sitrep kafka ...`: run the project's own Apache Kafka (KRaft) on this machine."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sitrep.kafka import (
    ClusterStatus,
    KafkaSetupError,
    LocalCluster,
    StartResult,
    ensure_jars,
    ensure_topics,
    jars_ready,
)
from sitrep.settings import Settings
from sitrep.topics import all_topics

kafka_app = typer.Typer(
    help="Run a local Apache Kafka cluster (KRaft, 127.0.0.1 only) and create Sitrep's topics.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Where the cluster keeps its data (default: SITREP_STATE_DIR/kafka)."
    ),
]


def _settings(port: int | None = None, controller_port: int | None = None) -> Settings:
    settings = Settings()
    update: dict[str, Any] = {}
    if port is not None:
        update["kafka_port"] = port
    if controller_port is not None:
        update["kafka_controller_port"] = controller_port
    return settings.model_copy(update=update) if update else settings


def _quiet_clients() -> None:
    # aiokafka logs every refused connection while a broker boots; failures reach us as errors.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


def _say(message: str) -> None:
    out.print(message, highlight=False, soft_wrap=True)


def _fail(exc: KafkaSetupError) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(1)


def _say_fetching(settings: Settings) -> None:
    if not jars_ready(settings):
        _say(f"Fetching Apache Kafka {settings.kafka_version} with Maven (once)...")


async def start_local(
    cluster: LocalCluster, nodes: int, *, secure: bool | None = None
) -> tuple[StartResult, list[str]]:
    result = await cluster.start(nodes, secure=secure)
    replication = 3 if nodes == 3 else 1
    specs = all_topics(cluster.settings.events_partitions, replication, cluster.settings.topics())
    with cluster.as_admin(cluster.state()):
        created = await ensure_topics(result.bootstrap_servers, specs, replication)
    return result, created


@kafka_app.command()
def start(
    nodes: Annotated[
        int, typer.Option("--nodes", help="1, or 3 for replication 3 and min.insync.replicas 2.")
    ] = 1,
    data_dir: DataDir = None,
    port: Annotated[
        int | None, typer.Option("--port", help="First broker port (default: SITREP_KAFKA_PORT).")
    ] = None,
    controller_port: Annotated[
        int | None,
        typer.Option(
            "--controller-port",
            help="First KRaft controller port (default: SITREP_KAFKA_CONTROLLER_PORT).",
        ),
    ] = None,
    secure: Annotated[
        bool,
        typer.Option(
            "--secure",
            help="The first time: clients sign in (SASL/SCRAM), ACLs say what each may do; "
            "the principals' passwords are kept in the data directory's principals.json.",
        ),
    ] = False,
) -> None:
    """Start the local cluster (unless KAFKA_BOOTSTRAP_SERVERS is set) and create the topics."""
    if nodes not in (1, 3):
        raise typer.BadParameter("a local cluster has 1 or 3 nodes", param_hint="--nodes")
    settings = _settings(port, controller_port)
    _quiet_clients()
    if settings.kafka_bootstrap_servers:
        bootstrap = settings.kafka_bootstrap_servers
        _say(f"KAFKA_BOOTSTRAP_SERVERS is set: using {bootstrap}, not starting a local broker.")
        specs = all_topics(
            settings.events_partitions, settings.replication_factor, settings.topics()
        )
        try:
            created = asyncio.run(ensure_topics(bootstrap, specs, settings.replication_factor))
        except KafkaSetupError as exc:
            raise _fail(exc) from exc
    else:
        cluster = LocalCluster(settings, data_dir)
        _say_fetching(settings)
        try:
            result, created = asyncio.run(start_local(cluster, nodes, secure=secure or None))
        except KafkaSetupError as exc:
            raise _fail(exc) from exc
        bootstrap = result.bootstrap_servers
        if result.already_running:
            _say(f"Kafka is already running in {cluster.data_dir}: nothing started.")
        else:
            _say(
                f"Started Apache Kafka {result.kafka_version} "
                f"({nodes} node{'s' if nodes > 1 else ''}) in {result.seconds:.1f} s; "
                f"data in {cluster.data_dir}"
            )
    _say(f"Topics created: {', '.join(created)}" if created else "Topics: all present.")
    _say(f"Bootstrap servers: {bootstrap}")
    state = None if settings.kafka_bootstrap_servers else cluster.state()
    if state is not None and state.secure:
        _say(
            f"Clients sign in (SASL/SCRAM-SHA-512): the principals and their passwords are in "
            f"{cluster.data_dir / 'principals.json'}; give each process SITREP_KAFKA_USERNAME "
            "and SITREP_KAFKA_PASSWORD."
        )


@kafka_app.command()
def stop(data_dir: DataDir = None) -> None:
    """Stop the local cluster: SIGTERM, then SIGKILL for any node still up after 30 s."""
    cluster = LocalCluster(_settings(), data_dir)
    try:
        stopped = asyncio.run(cluster.stop())
    except KafkaSetupError as exc:
        raise _fail(exc) from exc
    if stopped:
        _say(f"Stopped node(s) {', '.join(map(str, stopped))} in {cluster.data_dir}.")
    else:
        _say(f"Kafka is not running in {cluster.data_dir}.")


@kafka_app.command()
def status(data_dir: DataDir = None) -> None:
    """Show each local node's process and whether it answers; exit 1 unless all do."""
    _quiet_clients()
    cluster = LocalCluster(_settings(), data_dir)
    try:
        report = asyncio.run(cluster.status())
    except KafkaSetupError as exc:
        raise _fail(exc) from exc
    _print_status(report)
    if not report.healthy:
        raise typer.Exit(1)


def _print_status(report: ClusterStatus) -> None:
    if report.state is None:
        _say(f"Kafka is not running: no cluster in {report.data_dir}.")
        return
    table = Table(title=f"Kafka {report.state.kafka_version} in {report.data_dir}")
    for column in ("node", "pid", "process", "broker port", "controller port", "answers"):
        table.add_column(column)
    for node in report.nodes:
        table.add_row(
            str(node.node_id),
            str(node.pid or "-"),
            "[green]alive[/green]" if node.alive else "[red]not running[/red]",
            str(node.broker_port),
            str(node.controller_port),
            "[green]yes[/green]" if node.answers else "[red]no[/red]",
        )
    out.print(table)
    if not any(node.alive for node in report.nodes):
        _say("Kafka is not running.")
    elif report.healthy:
        _say(f"Bootstrap servers: {report.state.bootstrap_servers}")


@kafka_app.command()
def fetch() -> None:
    """Only fetch the Kafka jars (SITREP_KAFKA_VERSION) with Maven into the cache."""
    settings = _settings()
    began = time.monotonic()
    _say_fetching(settings)
    try:
        libs = ensure_jars(settings)
    except KafkaSetupError as exc:
        raise _fail(exc) from exc
    jars = len(list(libs.glob("*.jar")))
    _say(
        f"Apache Kafka {settings.kafka_version}: {jars} jars in {libs} "
        f"({time.monotonic() - began:.1f} s)"
    )
