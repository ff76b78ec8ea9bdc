"""A directory of its own for each process that keeps a store under a shared root.

Several processes of one kind may share a state directory (two workers of one group, API
replicas started from one checkout); each claims the first ``slot-<n>`` no other process holds,
by an exclusive lock on ``slot-<n>.lock``, released when the process ends however it ends. A
restarted process takes a free slot back, with the state and positions kept there.
"""

from __future__ import annotations

import fcntl
import itertools
import os
from pathlib import Path


def claim(root: Path) -> tuple[Path, int]:
    """The first slot under ``root`` no other process holds, and the lock (a file
    descriptor: close it to let the slot go)."""
    root.mkdir(parents=True, exist_ok=True)
    for n in itertools.count():
        lock = os.open(root / f"slot-{n}.lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock)
            continue
        return root / f"slot-{n}", lock
    raise AssertionError("unreachable")
