"""Two fixes to faust's recovery: no record reaches an agent before its partition is
repositioned, and no record fetched while the flow is stopped is skipped.

When a worker is given partitions, faust restores its tables and then, in
``Recovery.on_recovery_completed``, resumes the stream partitions and only then seeks them to
their committed offsets. The flow of records is already running by then (it was started to
read the changelogs), so records fetched between the two steps reach the agents and are
delivered again after the seek. faust's offset bookkeeping does not survive that: records are
dropped as already read, offsets are committed past records no agent processed, or stop
advancing, so the messages attached to them are never sent. A worker killed and replaced
lost events this way in ``tests/integration/test_worker.py``, about one run in three.
:class:`SeekFirstRecovery` stops the flow before faust's own steps; faust resumes it once the
seek is done.

Records fetched while the flow is stopped are dropped by faust, which then seeks back to the
committed offsets to read them again. The fetch in flight when the stream partitions are
resumed returns such records: it shares faust's set of active partitions, which resuming
grows. But aiokafka seeks only the partitions with a committed offset above 0. A partition
nobody has committed yet (a new log, or one whose events all waited for an answer) stayed
past the dropped records: a worker that replaced a killed one never folded them, and would
have committed past them with the next event on that partition (one run in six of the same
test). :class:`RewindingConsumer` rewinds such a partition to where a new consumer would
start reading it (the reset policy: the worker's is ``earliest``).

The worker's own stores say where it must read its inputs from (the positions their last
commit reflects: :mod:`sitrep.worker.engine`), whatever the group committed: those partitions
are sought there, and faust is told that is where they were committed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from faust.tables.manager import TableManager
from faust.tables.recovery import Recovery

from sitrep.worker.engine import EXIT_INCOMPATIBLE
from sitrep.worker.fetching import PromptConsumer, PromptConsumerThread

log = logging.getLogger("sitrep.worker.recovery")


class SeekFirstRecovery(Recovery):  # type: ignore[misc]  # faust is untyped here
    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        self.app.consumer.stop_flow()
        await super().on_recovery_completed(generation_id)


class SitrepTableManager(TableManager):  # type: ignore[misc]  # faust is untyped here
    """faust's table manager, with :class:`SeekFirstRecovery` as its recovery service."""

    _recovery: Any = None

    @property
    def recovery(self) -> Any:
        if self._recovery is None:
            self._recovery = SeekFirstRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery


class StoreAheadOfLog(RuntimeError):
    """The worker's store has read further than the log holds: the log was recreated (a new
    cluster, the topic deleted) under a state directory that outlived it. Reading on would
    drop every event as one already routed."""

    def __init__(self, tp: TopicPartition, position: int, end: int) -> None:
        super().__init__(
            f"the worker's store has read {tp.topic}/{tp.partition} up to offset {position}, "
            f"but the log ends at {end}: it was recreated. Start the worker with a new "
            "SITREP_WORKER_ID (or delete its state directory), which rebuilds the views from "
            "the log"
        )


Stored = Callable[[TopicPartition], int | None]
"""Where the worker's stores say to read a partition from (None: no store reflects it)."""


async def seek_to_committed_or_reset(
    consumer: AIOKafkaConsumer,
    reset: str,
    is_changelog: Callable[[TopicPartition], bool],
    stored: Stored | None = None,
) -> dict[TopicPartition, int | None]:
    """Seek every assigned partition to its committed offset, as aiokafka's
    ``seek_to_committed`` does, and those with none (or 0) to where ``reset`` (the consumer's
    ``auto_offset_reset``: ``earliest`` or ``latest``) starts, changelogs apart (faust positions
    them itself). A partition ``stored`` has a position for is sought there instead. Returns
    the offsets each partition is read on from, as if committed."""
    committed: dict[TopicPartition, int | None] = await consumer.seek_to_committed()
    positions = {tp: stored(tp) for tp in committed} if stored is not None else {}
    ahead = [tp for tp, position in positions.items() if position]
    ends = await consumer.end_offsets(ahead) if ahead else {}
    further: dict[TopicPartition, int] = {}
    for tp, position in positions.items():
        if position is None:
            continue
        if position > ends.get(tp, position):
            raise StoreAheadOfLog(tp, position, ends[tp])
        if position and position > (committed.get(tp) or 0):
            further[tp] = position
        committed[tp] = position or None
        if position:
            consumer.seek(tp, position)
    if further:
        # Where the store has read further than the group committed (its last commit before
        # a crash), the group is told: else it says the worker lags until a new record comes
        # to each such partition, and whoever waits for it to catch up waits for nothing.
        try:
            await consumer.commit(further)
        except KafkaError as exc:
            log.warning("could not commit the stores' positions to the group: %s", exc)
    unread = [tp for tp, offset in committed.items() if not offset and not is_changelog(tp)]
    if unread and reset == "earliest":
        await consumer.seek_to_beginning(*unread)
    elif unread and reset == "latest":
        await consumer.seek_to_end(*unread)
    return committed


class RewindingConsumerThread(PromptConsumerThread):
    """Where faust's consumer talks to aiokafka: :class:`PromptConsumerThread`, whose seek to
    the committed offsets also rewinds the partitions with none (see the module's notes)."""

    async def seek_to_committed(self) -> Mapping[Any, int | None]:
        consumer = self._ensure_consumer()
        app = self.consumer.app
        reset = app.conf.consumer_auto_offset_reset
        stored = getattr(app, "stored_position", None)
        try:
            return await self.call_thread(  # type: ignore[no-any-return]
                seek_to_committed_or_reset, consumer, reset, self.consumer._is_changelog_tp, stored
            )
        except StoreAheadOfLog as exc:
            # faust would note the error and keep the process up doing nothing.
            log.critical("%s", exc)
            os._exit(EXIT_INCOMPATIBLE)


class RewindingConsumer(PromptConsumer):
    """The worker's consumer: :class:`PromptConsumer`, with :class:`RewindingConsumerThread`."""

    def _new_consumer_thread(self) -> Any:
        return RewindingConsumerThread(self, loop=self.loop, beacon=self.beacon)


def recover_safely(app: Any, stored: Stored | None = None) -> None:
    """Make ``app`` (a faust app whose consumer is not made yet) use :class:`RewindingConsumer`,
    seeking the partitions ``stored`` knows to where it says; its table manager is named in
    its settings (``SitrepTableManager``)."""
    app.transport.Consumer = RewindingConsumer
    app.stored_position = stored
