"""`sitrep up`, `sitrep down`, `sitrep seed`: the whole service on one machine.

``up`` starts the broker (unless ``KAFKA_BOOTSTRAP_SERVERS`` names one), the worker and the API
in the background, publishes the seeds, waits until the views have caught up, and says where
everything is. In the foreground (the default) Ctrl-C stops it all, and a worker stopped by a
fault (:mod:`sitrep.faults`), the worker or the API, is started again; with ``--detach`` it returns and
``sitrep down`` stops it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sitrep.cli.kafka import start_local
from sitrep.faults import EXIT_FAULT
from sitrep.kafka import KafkaSetupError, LocalCluster, ensure_topics
from sitrep.kafka.clients import signed_in_as
from sitrep.kafka.security import API, SCRAPER, WORKER, admin_of, principal
from sitrep.running import Background, load_seeds, wait_until_caught_up
from sitrep.running.processes import Restarts
from sitrep.running.proxy import NoProxy, nginx, nginx_config
from sitrep.running.tokens import local_tokens
from sitrep.settings import Settings
from sitrep.topics import all_topics

out = Console()
err = Console(stderr=True)


def _say(message: str) -> None:
    out.print(message, highlight=False, soft_wrap=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(1)


PROXY = "proxy"


def _named(first: str, count: int) -> list[str]:
    """``first``, then ``first-2``, ``first-3``...: the names of ``count`` such processes."""
    return [first, *(f"{first}-{n}" for n in range(2, count + 1))]


def _label(name: str) -> str:
    first, _, number = name.partition("-")
    label = {"worker": "Worker", "api": "API", PROXY: "Proxy (nginx)"}[first]
    return f"{label} {number}" if number else label


def _running(settings: Settings) -> list[Background]:
    """Every process `sitrep up` may have started, by its pid file: the proxy, the APIs, then
    the workers (the order they are stopped in)."""
    run = settings.state_dir / "run"
    names = {p.stem for p in run.glob("*.pid")} if run.is_dir() else set()
    order = sorted(names, key=lambda n: (not n.startswith(PROXY), not n.startswith("api"), n))
    return [
        Background(settings.state_dir, name)
        for name in order
        if name.split("-")[0] in (PROXY, "api", "worker")
    ]


def _broker(settings: Settings, secure: bool, nodes: int) -> tuple[str, Path | None]:
    """The cluster's bootstrap servers, and the data directory of a secured local one."""
    if settings.kafka_bootstrap_servers:
        bootstrap = settings.kafka_bootstrap_servers
        specs = all_topics(
            settings.events_partitions, settings.replication_factor, settings.topics()
        )
        asyncio.run(ensure_topics(bootstrap, specs, settings.replication_factor))
        _say(f"Kafka: {bootstrap} (KAFKA_BOOTSTRAP_SERVERS)")
        return bootstrap, None
    cluster = LocalCluster(settings)
    result, _ = asyncio.run(start_local(cluster, nodes, secure=secure or None))
    started = "already running" if result.already_running else f"started in {result.seconds:.1f} s"
    state = cluster.state()
    signing = ", clients sign in" if state is not None and state.secure else ""
    _say(f"Kafka {result.kafka_version}: {result.bootstrap_servers} ({started}{signing})")
    return result.bootstrap_servers, cluster.data_dir if signing else None


def _signing_in(data_dir: Path | None, name: str) -> dict[str, str]:
    """The environment that makes a process sign in as ``name`` to a secured local cluster."""
    if data_dir is None:
        return {}
    who = principal(data_dir, name)
    return {"SITREP_KAFKA_USERNAME": who.username, "SITREP_KAFKA_PASSWORD": who.password}


def _wait_for_api(url: str, api: Background, within: float = 90.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if api.exited_early():
            raise _fail(f"the API stopped; the end of {api.log}:\n{api.tail()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise _fail(f"the API did not answer at {url} within {within:.0f} s; see {api.log}")


def _stop_all(settings: Settings) -> None:
    for process in _running(settings):
        if process.stop():
            _say(f"Stopped the {process.name}.")
    # The local broker, if one runs in the state directory: even with KAFKA_BOOTSTRAP_SERVERS
    # set since (CI points the tests at the broker `up` started), it is ours to stop.
    stopped = asyncio.run(LocalCluster(settings).stop())
    if stopped:
        _say("Stopped Kafka.")


def up(
    detach: Annotated[
        bool, typer.Option("--detach", help="Return once everything runs; `sitrep down` stops.")
    ] = False,
    secure: Annotated[
        bool,
        typer.Option(
            "--secure",
            help="A local broker that makes clients sign in and checks ACLs (the first time); "
            "the worker and the API run as their own principals.",
        ),
    ] = False,
    brokers: Annotated[
        int,
        typer.Option(
            help="Local Kafka nodes: 1, or 3 (replication 3, 2 in sync) to lose one safely.",
            min=1,
            max=3,
        ),
    ] = 1,
    workers: Annotated[
        int, typer.Option(help="Workers sharing the event log's partitions.", min=1, max=64)
    ] = 1,
    apis: Annotated[
        int,
        typer.Option(
            help="API replicas; more than one are served behind a local nginx on the API's "
            "port, each replica on the ports after it.",
            min=1,
            max=16,
        ),
    ] = 1,
) -> None:
    """Start the broker, the worker and the API, load the seeds, wait for the views."""
    if brokers == 2:
        raise _fail("--brokers: 1 or 3 (two nodes cannot lose one without refusing writes)")
    settings = Settings()
    proxy_binary = None
    if apis > 1:
        try:
            proxy_binary = nginx()
        except NoProxy as exc:
            raise _fail(str(exc)) from exc
    began = time.monotonic()
    # aiokafka logs every retry while a new broker elects leaders; failures reach us as errors.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        bootstrap, secured = _broker(settings, secure, brokers)
    except KafkaSetupError as exc:
        raise _fail(str(exc)) from exc
    admin = admin_of(secured) if secured is not None else None
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    if brokers == 3:
        env["SITREP_REPLICATION_FACTOR"] = "3"  # faust's own topics, as Sitrep's
    tokens: dict[str, str] = {}
    if settings.api_tokens is None and settings.api_tokens_file is None:
        # Nobody configured tokens: a reader and a publisher for the local demo.
        tokens, grants_file = local_tokens(settings.state_dir)
        env["SITREP_API_TOKENS_FILE"] = str(grants_file.resolve())
    me = [sys.executable, "-m", "sitrep.cli.main"]
    host, port = settings.api_host, settings.api_port
    api_ports = [port] if apis == 1 else [port + n for n in range(1, apis + 1)]
    commands: dict[str, list[str]] = {}
    envs: dict[str, dict[str, str]] = {}
    for name in _named("worker", workers):
        commands[name] = [*me, "worker", "--loglevel", "info"]
        envs[name] = {**env, **_signing_in(secured, WORKER)}
    for name, api_port in zip(_named("api", apis), api_ports, strict=True):
        commands[name] = [*me, "api", "--host", host, "--port", str(api_port)]
        envs[name] = {**env, **_signing_in(secured, API)}
    if proxy_binary is not None:
        home = (settings.state_dir / PROXY).resolve()
        config = nginx_config(
            home, f"{host}:{port}", [f"{host}:{p}" for p in api_ports], settings.api_max_body_bytes
        )
        commands[PROXY] = [
            proxy_binary,
            "-p",
            str(home),
            "-c",
            str(config),
            "-e",
            str(home / "error.log"),
        ]
        envs[PROXY] = dict(os.environ)
    processes = [Background(settings.state_dir, name) for name in commands]
    for process in processes:
        process.start(commands[process.name], envs[process.name])
        _say(f"{_label(process.name)}: pid {process.pid()}, log {process.log}")
    worker = processes[0]
    names = settings.topics()
    with signed_in_as(principal(secured, SCRAPER) if secured is not None else None):
        loaded = asyncio.run(load_seeds(bootstrap, names.events, settings.seeds_dir))
    _say(f"Seeds: {sum(f.events for f in loaded)} events from {len(loaded)} files published.")
    try:
        with signed_in_as(admin):
            asyncio.run(
                wait_until_caught_up(bootstrap, settings.worker_id, [names.events, names.filed])
            )
    except TimeoutError as exc:
        tail = worker.tail() if worker.exited_early() else ""
        raise _fail(f"{exc}; see {worker.log}\n{tail}") from exc
    for process, api_port in zip(
        [p for p in processes if p.name.startswith("api")], api_ports, strict=True
    ):
        _wait_for_api(f"http://{host}:{api_port}", process)
    url = f"http://{host}:{port}"
    if proxy_binary is not None:
        _wait_for_api(url, processes[-1])
        _say(
            f"{apis} API replicas behind nginx at {url} (each at ports {api_ports[0]}-{api_ports[-1]})"
        )
    _say(f"\nSitrep is up in {time.monotonic() - began:.1f} s.")
    _say(f"  The map:                {url}/map")
    _say(f"  API and its documents:  {url}/docs")
    for name, token in tokens.items():
        _say(f"  {name} token:  {token}")
    if tokens:
        where = settings.state_dir / "local-tokens.json"
        _say(f"  (kept in {where}; only their hashes reach the API)")
    _say("  Try:")
    _say(f"    curl '{url}/v1/places/Aleppo?at=2024-12-01'")
    _say(f"    curl '{url}/v1/situation?country=SY'")
    _say(f"    curl -N '{url}/v1/stream?kind=control'")
    if "local-publisher" in tokens:
        _say(
            f"    curl -X POST -H 'Authorization: Bearer {tokens['local-publisher']}' "
            f"-H 'content-type: application/json' --data @event.json '{url}/v1/events'"
        )
    if detach:
        _say("Stop it with `make down` (or `sitrep down`).")
        return
    _say("Ctrl-C stops everything.")
    stop = False

    def _on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    restarts = {process.name: Restarts() for process in processes}
    while not stop:
        for process in processes:
            if process.exited_early() and process.exit_status() == EXIT_FAULT:
                # A fault (the broker, the disk) stopped it before it took the record in
                # hand: started again, it reads on from its store's last commit.
                wait = restarts[process.name].next_wait(time.monotonic())
                _say(
                    f"The {process.name} stopped on a fault (see {process.log}); "
                    f"starting it in {wait:.0f} s."
                )
                time.sleep(wait)
                process.start(commands[process.name], envs[process.name])
            elif process.exited_early():
                _say(f"The {process.name} stopped; the end of {process.log}:\n{process.tail()}")
                stop = True
        time.sleep(0.5)
    _stop_all(settings)


def down() -> None:
    """Stop what `sitrep up` started: the API, the worker, then the local broker."""
    try:
        _stop_all(Settings())
    except KafkaSetupError as exc:
        raise _fail(str(exc)) from exc


def seed() -> None:
    """Publish the seeds (registry, baseline, article); publishing them again changes nothing."""
    settings = Settings()
    loaded = asyncio.run(
        load_seeds(settings.bootstrap_servers(), settings.topics().events, settings.seeds_dir)
    )
    for item in loaded:
        _say(f"{item.path}: {item.events} events")
