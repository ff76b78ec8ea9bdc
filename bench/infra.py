"""Plumbing for the benchmarks: a broker of their own, offsets and timestamps, a worker process."""

from __future__ import annotations

import argparse
import asyncio
import os
import pstats
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from aiokafka import TopicPartition

from sitrep.kafka import LocalCluster, clients
from sitrep.kafka.ports import free_port_block
from sitrep.running.offsets import LogPositions
from sitrep.settings import Settings
from sitrep.topics import TopicNames

R = TypeVar("R")


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def open_broker(workdir: Path) -> tuple[str, str, LocalCluster | None]:
    """(bootstrap servers, how to describe them, the cluster started here if any): the cluster
    named by KAFKA_BOOTSTRAP_SERVERS, else a one-node broker of the benchmark's own."""
    external = Settings().kafka_bootstrap_servers
    if external:
        return external, f"KAFKA_BOOTSTRAP_SERVERS={external}", None
    cluster = private_cluster(workdir / "state")
    say("starting a one-node broker of the benchmark's own")
    started = await cluster.start(1)
    bootstrap = started.bootstrap_servers
    return bootstrap, f"LocalCluster, 1 node, Kafka {started.kafka_version}, {bootstrap}", cluster


def print_profile(path: Path, limit: int, what: str) -> None:
    """cProfile's stats in ``path``, by own time then by cumulative time."""
    if not path.exists():
        say(f"no profile written to {path}")
        return
    stats = pstats.Stats(str(path), stream=sys.stdout)
    stats.strip_dirs()
    print(f"\n== {what} profile ({path}), by own time ==")
    stats.sort_stats("tottime").print_stats(limit)
    print("\n== by cumulative time ==")
    stats.sort_stats("cumulative").print_stats(limit)


def cancel_on_sigterm() -> None:
    """SIGTERM acts as Ctrl-C: the running task is cancelled, so every ``finally`` stops its part."""
    this = asyncio.current_task()
    if this is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, this.cancel)


def run_to_end(
    run: Callable[[argparse.Namespace, Path, list[WorkerProcess]], Coroutine[Any, Any, R]],
    args: argparse.Namespace,
    prefix: str,
    what: str,
) -> R | None:
    """``run`` in a temporary directory; None when interrupted. Every process it started is
    stopped, whatever happens."""
    processes: list[WorkerProcess] = []
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        try:
            return asyncio.run(run(args, Path(tmp), processes))
        except (KeyboardInterrupt, asyncio.CancelledError):
            say(f"interrupted: {what} were stopped")
            return None
        finally:
            for process in processes:
                process.stop()


async def clean_up(
    processes: list[WorkerProcess],
    offsets: Offsets,
    names: TopicNames,
    cluster: LocalCluster | None,
) -> None:
    """Stop what a run started: its processes, its topics on someone else's cluster (best
    effort), its connections, and its own broker."""
    for running in processes:
        await asyncio.to_thread(running.stop)
    if cluster is None:
        try:
            await offsets.delete_prefixed((f"{names.namespace}.", f"{names.namespace}-"))
        except Exception as exc:  # clean-up is best effort: report, do not mask
            say(f"could not delete this run's topics: {exc}")
    await offsets.stop()
    if cluster is not None:
        say("stopping the broker")
        await cluster.stop()


def private_cluster(state_dir: Path) -> LocalCluster:
    """A one-node LocalCluster in ``state_dir`` on ports free now (not the `make up` broker)."""
    base = free_port_block(2)
    settings = Settings(state_dir=state_dir, kafka_port=base, kafka_controller_port=base + 1)
    return LocalCluster(settings)


def cpu_of_pid(pid: int | None) -> float | None:
    """User + system CPU seconds the process has used so far."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    after = stat.rsplit(")", 1)[1].split()
    return (int(after[11]) + int(after[12])) / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of every CPU since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def own_cpu_s() -> float:
    """User + system CPU seconds this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds used over one phase, per process, and how busy the machine was."""

    seconds: float
    worker_s: float | None
    broker_s: float | None
    bench_s: float
    machine_busy_cores: float

    def describe(self, events: int) -> str:
        parts = []
        if self.worker_s is not None:
            parts.append(f"worker {self.worker_s:.1f} s ({self.worker_s / events * 1e3:.2f} ms/ev)")
        if self.broker_s is not None:
            parts.append(f"broker {self.broker_s:.1f} s")
        parts.append(f"bench {self.bench_s:.1f} s")
        return ", ".join(parts) + f"; {self.machine_busy_cores:.2f} cores busy"


class CpuMeter:
    """What a worker, a broker (either may be None), this process and the machine use from
    the meter's making on."""

    def __init__(self, worker_pid: int | None, broker_pid: int | None) -> None:
        self.pids = (worker_pid, broker_pid)
        self.started = time.perf_counter()
        self.ticks = machine_ticks()
        self.cpu = (cpu_of_pid(worker_pid), cpu_of_pid(broker_pid), own_cpu_s())

    def read(self) -> CpuUse:
        worker0, broker0, bench0 = self.cpu
        worker1, broker1 = (cpu_of_pid(pid) for pid in self.pids)
        busy1, total1 = machine_ticks()
        busy0, total0 = self.ticks
        return CpuUse(
            time.perf_counter() - self.started,
            worker1 - worker0 if worker0 is not None and worker1 is not None else None,
            broker1 - broker0 if broker0 is not None and broker1 is not None else None,
            own_cpu_s() - bench0,
            (os.cpu_count() or 1) * (busy1 - busy0) / max(1, total1 - total0),
        )


class Offsets(LogPositions):
    """End offsets and a group's committed offsets (see LogPositions), and record timestamps."""

    async def timestamps(self, wanted: dict[TopicPartition, int]) -> dict[TopicPartition, float]:
        """The timestamp (s since the epoch) of the record at each offset in ``wanted``."""
        consumer = clients.consumer(self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        out: dict[TopicPartition, float] = {}
        try:
            for tp, offset in wanted.items():
                consumer.assign([tp])
                consumer.seek(tp, offset)
                async with asyncio.timeout(10):
                    while tp not in out:
                        batch = await consumer.getmany(tp, timeout_ms=1000, max_records=1)
                        for record in batch.get(tp, []):
                            out[tp] = record.timestamp / 1000
        finally:
            await consumer.stop()
        return out

    async def edges(self, topics: Iterable[str]) -> tuple[float | None, float | None]:
        """When the first and the last record on ``topics`` were written (s since the epoch)."""
        ends = {tp: end for tp, end in (await self.ends(topics)).items() if end > 0}
        if not ends:
            return None, None
        firsts = await self.timestamps({tp: 0 for tp in ends})
        lasts = await self.timestamps({tp: end - 1 for tp, end in ends.items()})
        return min(firsts.values()), max(lasts.values())

    async def delete_prefixed(self, prefixes: tuple[str, ...]) -> None:
        """Delete the topics whose names start with one of ``prefixes`` (this run's own)."""
        names = [t for t in await self.admin.list_topics() if t.startswith(prefixes)]
        if names:
            await self.admin.delete_topics(names)


@dataclass
class WorkerProcess:
    """One ``sitrep worker --seeds-only`` subprocess, logging to a file."""

    proc: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]
    spawned: float = field(default_factory=time.time)

    @classmethod
    def start(
        cls,
        bootstrap: str,
        names: TopicNames,
        worker_id: str,
        partitions: int,
        workdir: Path,
        *,
        profile: Path | None = None,
        profiler: str = "cprofile",
    ) -> WorkerProcess:
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "SITREP_TOPIC_NAMESPACE": names.namespace,
            "SITREP_WORKER_ID": worker_id,
            "SITREP_EVENTS_PARTITIONS": str(partitions),
        }
        runner: list[str] = []
        if profile is not None and profiler == "pyinstrument":
            # A statistical profiler (not a dependency: on PYTHONPATH, or installed by hand).
            runner = ["-m", "pyinstrument", "-r", "session", "-o", str(profile)]
        elif profile is not None:
            runner = ["-m", "cProfile", "-o", str(profile)]
        command = ["-m", "sitrep.cli.main", "worker", "--seeds-only", "--loglevel", "info"]
        return cls.spawn([*runner, *command], env, workdir)

    @classmethod
    def spawn(cls, args: list[str], env: dict[str, str], workdir: Path) -> WorkerProcess:
        """``python <args>`` with ``env`` added to this process's, in ``workdir``."""
        workdir.mkdir(parents=True, exist_ok=True)
        log_path = workdir / "worker.log"
        log = log_path.open("wb")
        proc = subprocess.Popen(
            [sys.executable, *args],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,  # faust keeps its <app id>-data directory there
        )
        return cls(proc, log_path, log)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    async def wait_ready(self, within: float = 120.0) -> float:
        """When (s since the epoch) the worker logged that it is ready."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if "[^Worker]: Ready" in self.log_text():
                return time.time()
            if self.proc.poll() is not None:
                raise RuntimeError(f"the worker exited ({self.proc.returncode}):\n{self.tail()}")
            await asyncio.sleep(0.01)
        raise RuntimeError(f"the worker was not ready within {within}s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def peak_rss_mib(self) -> float | None:
        """The process's peak resident set size (VmHWM), in MiB."""
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text(encoding="ascii")
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return None

    def cpu_seconds(self) -> float | None:
        """User + system CPU seconds the process has used so far."""
        return cpu_of_pid(self.proc.pid)

    def stop(self, grace: float = 30.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
