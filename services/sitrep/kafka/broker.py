"""A local Apache Kafka cluster in KRaft mode, run with `java` from the jars Maven fetched.

Layout of the data directory (``settings.kafka_data_dir`` unless given)::

    cluster.json               cluster id, node count, ports, Kafka version (written before formatting)
    node-<id>/server.properties  rendered from deploy/kafka/server.properties.template at every start
    node-<id>/data/            log.dirs; meta.properties marks a formatted node
    node-<id>/logs/server.log  the broker's own log (log4j, INFO)
    node-<id>/stdout.log       the JVM's stdout and stderr
    node-<id>/kafka.pid        present while the node runs

Node ``i`` (0-based) has id ``i + 1`` and listens on ``kafka_port + i`` (clients) and
``kafka_controller_port + i`` (KRaft), on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from string import Template

from sitrep.kafka.admin import describe_node, wait_until_ready
from sitrep.kafka.clients import signed_in_as
from sitrep.kafka.errors import KafkaSetupError
from sitrep.kafka.jars import deploy_dir, ensure_jars, jars_dir, logging_backend, require_java
from sitrep.kafka.security import (
    admin_of,
    broker_security,
    ensure_principals,
    grant,
    scram_arguments,
)
from sitrep.settings import Settings

SUPPORTED_NODE_COUNTS = (1, 3)
STATE_FILE = "cluster.json"
# Used for three nodes unless SITREP_KAFKA_HEAP was set: three JVMs share a small machine.
THREE_NODE_HEAP = "384m"
_LOG_TAIL_LINES = 30
_FORMAT_TIMEOUT_S = 120.0


def new_cluster_id() -> str:
    """A cluster id as ``kafka-storage random-uuid`` makes one: 16 random bytes, base64url, no padding.

    Like Kafka's ``Uuid.randomUuid``, never one starting with "-": the storage tool would read it
    as an option.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode("ascii")
        if not cluster_id.startswith("-"):
            return cluster_id


@dataclass(frozen=True)
class ClusterState:
    """What the data directory remembers between starts (``cluster.json``)."""

    cluster_id: str
    nodes: int
    kafka_port: int
    controller_port: int
    kafka_version: str
    secure: bool = False
    """Whether clients sign in (SASL/SCRAM) and ACLs say what each may do."""

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"127.0.0.1:{self.kafka_port + i}" for i in range(self.nodes))


@dataclass(frozen=True)
class Node:
    """One broker+controller process of the local cluster and its files."""

    node_id: int
    broker_port: int
    controller_port: int
    home: Path

    @property
    def properties(self) -> Path:
        return self.home / "server.properties"

    @property
    def log_dir(self) -> Path:
        return self.home / "data"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def stdout(self) -> Path:
        return self.home / "stdout.log"

    @property
    def pid_file(self) -> Path:
        return self.home / "kafka.pid"

    @property
    def formatted(self) -> bool:
        return (self.log_dir / "meta.properties").is_file()


@dataclass(frozen=True)
class NodeStatus:
    """One node as `LocalCluster.status` found it."""

    node_id: int
    pid: int | None
    alive: bool
    broker_port: int
    controller_port: int
    answers: bool


@dataclass(frozen=True)
class ClusterStatus:
    """The local cluster as `LocalCluster.status` found it; no nodes if it was never started."""

    data_dir: Path
    state: ClusterState | None
    nodes: tuple[NodeStatus, ...]

    @property
    def running(self) -> bool:
        """Every node's process is alive."""
        return bool(self.nodes) and all(node.alive for node in self.nodes)

    @property
    def healthy(self) -> bool:
        """Every node is alive and answers Kafka requests."""
        return self.running and all(node.answers for node in self.nodes)


@dataclass(frozen=True)
class StartResult:
    """What `LocalCluster.start` did, and where clients connect."""

    bootstrap_servers: str
    cluster_id: str
    kafka_version: str
    nodes: int
    started: tuple[int, ...]
    """Ids of the nodes this call started; empty when the cluster was already running."""
    seconds: float

    @property
    def already_running(self) -> bool:
        return not self.started


class LocalCluster:
    """Start, stop and inspect a 1- or 3-node KRaft cluster whose files live in one directory."""

    def __init__(self, settings: Settings, data_dir: Path | None = None) -> None:
        self.settings = settings
        self.data_dir = (data_dir or settings.kafka_data_dir).expanduser().resolve()
        # Processes started by this object: polling them reaps them, so they never linger as zombies.
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    # -- state -------------------------------------------------------------------------------

    @property
    def state_file(self) -> Path:
        return self.data_dir / STATE_FILE

    def state(self) -> ClusterState | None:
        """The remembered cluster, or None if this directory was never formatted."""
        try:
            raw = json.loads(self.state_file.read_text(encoding="utf-8"))
            return ClusterState(**raw)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            raise KafkaSetupError(f"{self.state_file} is unreadable ({exc}); remove it") from exc

    def _write_state(self, state: ClusterState) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(state), indent=2) + "\n", encoding="utf-8")
        tmp.replace(self.state_file)

    def nodes(self, state: ClusterState) -> list[Node]:
        """The nodes of `state`, with their ports and directories."""
        return [
            Node(
                node_id=i + 1,
                broker_port=state.kafka_port + i,
                controller_port=state.controller_port + i,
                home=self.data_dir / f"node-{i + 1}",
            )
            for i in range(state.nodes)
        ]

    # -- start -------------------------------------------------------------------------------

    async def start(
        self, nodes: int = 1, ready_within: float = 60.0, *, secure: bool | None = None
    ) -> StartResult:
        """Start the cluster (formatting it on first use) and wait until every broker answers.

        Nodes that already run are left alone; if all do, this only waits for them to answer.
        ``secure`` (the first time; None: as formatted, else not) makes clients sign in and
        the brokers check ACLs (:mod:`sitrep.kafka.security`).
        """
        began = time.monotonic()
        if nodes not in SUPPORTED_NODE_COUNTS:
            raise KafkaSetupError(f"a local cluster has 1 or 3 nodes, not {nodes}")
        state = self._state_for(nodes, secure)
        with self.as_admin(state):
            return await self._start(state, nodes, ready_within, began)

    def as_admin(self, state: ClusterState | None) -> AbstractContextManager[None]:
        """Clients made within sign in as the cluster's admin, if it makes clients sign in."""
        secured = state is not None and state.secure
        return signed_in_as(admin_of(self.data_dir) if secured else None)

    async def _start(
        self, state: ClusterState, nodes: int, ready_within: float, began: float
    ) -> StartResult:
        members = self.nodes(state)
        to_start = [node for node in members if self._pid_of(node) is None]
        if to_start:
            # Nodes that still run pin the version: the missing ones must run the same jars.
            run_settings = self.settings.model_copy(update={"kafka_version": state.kafka_version})
            libs = await asyncio.to_thread(ensure_jars, run_settings)
            java = require_java()
            self._write_state(state)
            for node in to_start:
                self._check_ports_free(node)
                self._render(node, state)
            await asyncio.gather(
                *(
                    asyncio.to_thread(self._format, java, libs, node, state)
                    for node in to_start
                    if not node.formatted
                )
            )
            heap = self._heap(nodes)
            for node in to_start:
                self._launch(java, libs, node, heap, state.kafka_version)
        try:
            await wait_until_ready(
                state.bootstrap_servers,
                brokers=nodes,
                cluster_id=state.cluster_id,
                within=ready_within,
                check=lambda: self._check_alive(to_start),
            )
        except KafkaSetupError:
            if to_start:
                await self._terminate(to_start, grace=10.0)
            raise
        if state.secure and to_start:
            await asyncio.to_thread(
                grant,
                require_java(),
                self._libs(state),
                self.data_dir,
                state.bootstrap_servers,
                self.settings,
            )
        return StartResult(
            bootstrap_servers=state.bootstrap_servers,
            cluster_id=state.cluster_id,
            kafka_version=state.kafka_version,
            nodes=nodes,
            started=tuple(node.node_id for node in to_start),
            seconds=time.monotonic() - began,
        )

    def _state_for(self, nodes: int, secure: bool | None) -> ClusterState:
        """The remembered state, with this start's ports unless some node still runs on the old."""
        s = self.settings
        state = self.state()
        if state is not None and secure is not None and state.secure != secure:
            was = "with" if state.secure else "without"
            raise KafkaSetupError(
                f"{self.data_dir} was formatted {was} authentication: start it as it was, or "
                "remove the directory to start afresh"
            )
        if state is None:
            if any(self.data_dir.glob("node-*/data/meta.properties")):
                raise KafkaSetupError(
                    f"{self.data_dir} holds formatted nodes but no {STATE_FILE}: remove the directory"
                )
            if secure:
                ensure_principals(self.data_dir)
            return ClusterState(
                cluster_id=new_cluster_id(),
                nodes=nodes,
                kafka_port=s.kafka_port,
                controller_port=s.kafka_controller_port,
                kafka_version=s.kafka_version,
                secure=bool(secure),
            )
        if state.nodes != nodes:
            raise KafkaSetupError(
                f"{self.data_dir} was formatted for a {state.nodes}-node cluster, not {nodes}: "
                f"start it with {state.nodes} node(s), or remove the directory to start afresh"
            )
        if any(self._pid_of(node) is not None for node in self.nodes(state)):
            return state
        return ClusterState(
            cluster_id=state.cluster_id,
            nodes=nodes,
            kafka_port=s.kafka_port,
            controller_port=s.kafka_controller_port,
            kafka_version=s.kafka_version,
            secure=state.secure,
        )

    def _libs(self, state: ClusterState) -> Path:
        return jars_dir(self.settings.model_copy(update={"kafka_version": state.kafka_version}))

    def _heap(self, nodes: int) -> str:
        if nodes > 1 and "kafka_heap" not in self.settings.model_fields_set:
            return THREE_NODE_HEAP
        return self.settings.kafka_heap

    def _check_ports_free(self, node: Node) -> None:
        for port in (node.broker_port, node.controller_port):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                # As the JVM does: connections of an earlier broker in TIME_WAIT do not count.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError as exc:
                    raise KafkaSetupError(
                        f"node {node.node_id} cannot listen on 127.0.0.1:{port}: {exc.strerror}; "
                        "choose other ports (--port / --controller-port)"
                    ) from exc

    def _render(self, node: Node, state: ClusterState) -> None:
        template = Template((deploy_dir() / "server.properties.template").read_text("utf-8"))
        members = self.nodes(state)
        replication = 3 if state.nodes >= 3 else 1
        text = template.substitute(
            node_id=node.node_id,
            quorum_voters=",".join(f"{m.node_id}@127.0.0.1:{m.controller_port}" for m in members),
            broker_port=node.broker_port,
            controller_port=node.controller_port,
            log_dir=node.log_dir,
            num_partitions=self.settings.events_partitions,
            replication_factor=replication,
            min_insync_replicas=2 if replication >= 3 else 1,
            controlled_shutdown="true" if state.nodes == 1 else "false",
            listener="SASL_PLAINTEXT" if state.secure else "PLAINTEXT",
            controller_protocol="SASL_PLAINTEXT" if state.secure else "PLAINTEXT",
            security=broker_security(self.data_dir) if state.secure else "",
        )
        node.logs.mkdir(parents=True, exist_ok=True)
        node.properties.write_text(text, encoding="utf-8")
        node.properties.chmod(0o600)  # a secure cluster's holds its admin's password

    def _jvm(self, java: str, libs: Path, node: Node, heap: str, version: str) -> list[str]:
        if logging_backend(version) == "log4j2":
            log_config = f"-Dlog4j2.configurationFile={deploy_dir() / 'log4j2.properties'}"
        else:
            log_config = f"-Dlog4j.configuration={(deploy_dir() / 'log4j.properties').as_uri()}"
        return [
            java,
            f"-Xmx{heap}",
            f"-Xms{heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={node.logs}",
            log_config,
            "-cp",
            f"{libs}/*",
        ]

    def _format(self, java: str, libs: Path, node: Node, state: ClusterState) -> None:
        cmd = [
            *self._jvm(java, libs, node, "256m", state.kafka_version),
            "kafka.tools.StorageTool",
            "format",
            "-t",
            state.cluster_id,
            "-c",
            str(node.properties),
            *(scram_arguments(self.data_dir) if state.secure else []),
        ]
        try:
            done = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=_FORMAT_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise KafkaSetupError(f"formatting node {node.node_id} timed out") from exc
        if done.returncode != 0:
            tail = _tail_lines((done.stdout + done.stderr).splitlines())
            raise KafkaSetupError(f"formatting node {node.node_id} failed:\n{tail}")

    def _launch(self, java: str, libs: Path, node: Node, heap: str, version: str) -> None:
        cmd = [*self._jvm(java, libs, node, heap, version), "kafka.Kafka", str(node.properties)]
        with node.stdout.open("ab") as out:
            # A new session: the broker outlives the command that started it and its Ctrl-C.
            child = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=node.home,
                start_new_session=True,
            )
        self._children[node.node_id] = child
        node.pid_file.write_text(f"{child.pid}\n", encoding="utf-8")

    def _check_alive(self, nodes: Sequence[Node]) -> None:
        for node in nodes:
            if self._pid_of(node) is None:
                raise KafkaSetupError(
                    f"Kafka node {node.node_id} exited while starting. "
                    f"Last lines of {node.logs / 'server.log'} and {node.stdout}:\n"
                    + self.log_tail(node)
                )

    # -- stop --------------------------------------------------------------------------------

    async def stop(self, grace: float = 30.0) -> list[int]:
        """Stop every running node (SIGTERM, then SIGKILL after `grace` s); returns their ids.

        Pid files go as their processes do (`_pid_of` drops the file of a dead process).
        """
        state = self.state()
        if state is None:
            return []
        running = [node for node in self.nodes(state) if self._pid_of(node) is not None]
        await self._terminate(running, grace=grace)
        return [node.node_id for node in running]

    async def _terminate(self, nodes: Sequence[Node], grace: float) -> None:
        def all_gone() -> bool:
            return all(self._pid_of(node) is None for node in nodes)

        for node in nodes:
            if (pid := self._pid_of(node)) is not None:
                _signal(pid, signal.SIGTERM)
        if not await _poll_until(all_gone, within=grace, interval=0.2):
            for node in nodes:
                if (pid := self._pid_of(node)) is not None:
                    _signal(pid, signal.SIGKILL)
            await _poll_until(all_gone, within=10.0, interval=0.1)
        survivors = [node.node_id for node in nodes if self._pid_of(node) is not None]
        if survivors:
            raise KafkaSetupError(f"Kafka node(s) {survivors} still run after SIGKILL")
        for node in nodes:
            self._children.pop(node.node_id, None)

    # -- status ------------------------------------------------------------------------------

    async def status(self, probe_within: float = 3.0) -> ClusterStatus:
        """Each node's pid, whether its process lives, and whether it answers a metadata request."""
        state = self.state()
        if state is None:
            return ClusterStatus(self.data_dir, None, ())
        members = self.nodes(state)
        pids = [self._pid_of(node) for node in members]
        with self.as_admin(state):
            answers = await asyncio.gather(
                *(
                    self._answers(node, state.cluster_id, probe_within)
                    if pid is not None
                    else _false()
                    for node, pid in zip(members, pids, strict=True)
                )
            )
        return ClusterStatus(
            self.data_dir,
            state,
            tuple(
                NodeStatus(
                    node_id=node.node_id,
                    pid=pid,
                    alive=pid is not None,
                    broker_port=node.broker_port,
                    controller_port=node.controller_port,
                    answers=ok,
                )
                for node, pid, ok in zip(members, pids, answers, strict=True)
            ),
        )

    async def _answers(self, node: Node, cluster_id: str, within: float) -> bool:
        try:
            info = await describe_node(f"127.0.0.1:{node.broker_port}", within=within)
        except KafkaSetupError:
            return False
        return info.cluster_id in (None, cluster_id)

    def log_tail(self, node: Node, lines: int = _LOG_TAIL_LINES) -> str:
        """The last lines of a node's broker log and JVM output, for error messages."""
        parts: list[str] = []
        for path in (node.logs / "server.log", node.stdout):
            if path.is_file():
                text = path.read_text(encoding="utf-8", errors="replace").splitlines()
                parts.append(f"--- {path}\n{_tail_lines(text, lines)}")
        return "\n".join(parts) or "(no log written)"

    # -- processes ---------------------------------------------------------------------------

    def _pid_of(self, node: Node) -> int | None:
        """The pid of the node's live broker process; removes a stale pid file."""
        try:
            pid = int(node.pid_file.read_text(encoding="utf-8").strip())
        except FileNotFoundError:
            return None
        except ValueError:
            node.pid_file.unlink(missing_ok=True)
            return None
        child = self._children.get(node.node_id)
        if child is not None and child.pid == pid:
            alive = child.poll() is None
        else:
            alive = _is_broker_process(pid, str(node.properties))
        if not alive:
            node.pid_file.unlink(missing_ok=True)
            return None
        return pid


def _is_broker_process(pid: int, properties: str) -> bool:
    """Whether `pid` lives and runs this node's properties file (guards against reused pids)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process: not a broker we started
    proc = Path(f"/proc/{pid}")
    if not proc.is_dir():
        return True  # no procfs to ask: trust the signal
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = (proc / "cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    if state in ("Z", "X"):
        _reap(pid)
        return False
    return properties.encode() in cmdline


def _reap(pid: int) -> None:
    """Collect the exit status of a dead child of this process (started by another LocalCluster)."""
    # ChildProcessError: not our child, so its own parent or init reaps it.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _signal(pid: int, sig: signal.Signals) -> None:
    # ProcessLookupError: it exited between the check and the signal, which is what we wanted.
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


async def _false() -> bool:
    return False


async def _poll_until(done: Callable[[], bool], *, within: float, interval: float) -> bool:
    """Poll `done` (process state has no event to await) until it holds or `within` s pass."""
    deadline = time.monotonic() + within
    while not done():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)
    return True


def _tail_lines(lines: Sequence[str], count: int = _LOG_TAIL_LINES) -> str:
    return "\n".join(lines[-count:])
