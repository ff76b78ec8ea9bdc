"""Which partition a ledger lives on, and how often the worker publishes what changed."""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka.partitioner import DefaultPartitioner

from sitrep.worker.records import Bound

_PARTITIONER = DefaultPartitioner()


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` (as the producer does)."""
    every = list(range(partitions))
    return int(_PARTITIONER(key, every, every))


def by_partition(out: Iterable[Bound], partitions: int) -> dict[int, list[Bound]]:
    """Reports bound for ledgers, grouped by the partition of the filed topic each ledger key
    hashes to: one filed record per partition."""
    grouped: dict[int, list[Bound]] = {}
    for bound in out:
        grouped.setdefault(partition_of(bound.ledger.encode(), partitions), []).append(bound)
    return grouped


class FlushPacing:
    """When the next flush may run: making views takes at most a quarter of the worker's time
    while events queue on the log, three quarters once they do not.

    Caught up, a flush is quick and runs every ``FLUSH_EVERY_S``. Behind, more reports reach
    each entity between two flushes, so each one made covers more of them; the wait after a
    flush is never longer than ``MAX_WAIT_S``. (A half let making views crowd out routing and
    filing at 1,000 events/s on a log of 70,000: `bench.processors`.) With the log read up to
    its end, what is left to do is making views: held to a quarter, a backlog of entities
    due grew at 200 events/s and views lagged by a minute (`bench.scale`, 100,000 events).
    """

    SHARE = 0.25
    IDLE_SHARE = 0.75
    MAX_WAIT_S = 0.5

    def __init__(self) -> None:
        self.next_at = 0.0

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def took(self, started: float, ended: float, *, pressed: bool = True) -> None:
        """A flush ran from ``started`` to ``ended``; ``pressed``: events queue on the log."""
        share = self.SHARE if pressed else self.IDLE_SHARE
        wait = (ended - started) * (1 - share) / share
        self.next_at = ended + min(wait, self.MAX_WAIT_S)
