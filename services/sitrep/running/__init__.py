"""Running Sitrep on one machine: background processes, the seed data, waiting for the views."""

from sitrep.running.catchup import wait_until_caught_up
from sitrep.running.offsets import LogPositions
from sitrep.running.processes import Background, ProcessStatus
from sitrep.running.seeding import SEED_ORDER, load_seeds, seed_files

__all__ = [
    "SEED_ORDER",
    "Background",
    "LogPositions",
    "ProcessStatus",
    "load_seeds",
    "seed_files",
    "wait_until_caught_up",
]
