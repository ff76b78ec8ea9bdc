"""Sitrep's own processes (worker, API) run in the background, one pid file each.

Layout under ``state_dir``: ``run/<name>.pid`` while a process runs, ``logs/<name>.log`` its
output. Stopping sends SIGTERM (a clean shutdown: faust commits, uvicorn drains) and SIGKILL
only to a process still alive after the grace period.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

RESTART_FIRST_S = 1.0
RESTART_MOST_S = 30.0
RAN_WELL_S = 60.0


@dataclass(frozen=True)
class ProcessStatus:
    name: str
    pid: int | None
    alive: bool
    log: Path


_exited: dict[int, int] = {}
"""The exit status of each child process reaped here, by pid."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by us) is not alive.
    with contextlib.suppress(ChildProcessError):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            _exited[pid] = os.waitstatus_to_exitcode(status)
            return False
    return True


class Background:
    """One named background process and its pid file and log."""

    def __init__(self, state_dir: Path, name: str) -> None:
        self.name = name
        self.pid_file = state_dir / "run" / f"{name}.pid"
        self.log = state_dir / "logs" / f"{name}.log"

    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def status(self) -> ProcessStatus:
        pid = self.pid()
        return ProcessStatus(self.name, pid, pid is not None and _alive(pid), self.log)

    def start(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
        """Start ``argv`` detached from this terminal; returns the pid (the running one if
        already started)."""
        current = self.status()
        if current.alive and current.pid is not None:
            return current.pid
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            proc = subprocess.Popen(
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
                start_new_session=True,  # Ctrl-C in the terminal reaches `sitrep up`, not it
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        return proc.pid

    def exited_early(self) -> bool:
        """Whether the process was started and is no longer running."""
        status = self.status()
        return status.pid is not None and not status.alive

    def exit_status(self) -> int | None:
        """How the process exited, if this process started it and it has (negative: the
        signal that ended it); None while it runs or when that is not known."""
        pid = self.pid()
        if pid is None or _alive(pid):
            return None
        return _exited.get(pid)

    def stop(self, grace: float = 30.0) -> bool:
        """Stop the process; False when it was not running."""
        pid = self.pid()
        if pid is None or not _alive(pid):
            self.pid_file.unlink(missing_ok=True)
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


@dataclass
class Restarts:
    """How long to wait before starting a process again: ``RESTART_FIRST_S``, doubled at
    each restart of a process that ran less than ``RAN_WELL_S``, up to ``RESTART_MOST_S``
    (a fault that lasts is not hammered on)."""

    started: float = -math.inf
    wait: float = 0.0

    def next_wait(self, now: float) -> float:
        """The wait before the restart due ``now`` (a monotonic clock)."""
        ran_well = now - self.started >= RAN_WELL_S
        self.wait = RESTART_FIRST_S if ran_well else min(RESTART_MOST_S, self.wait * 2)
        self.started = now + self.wait
        return self.wait
