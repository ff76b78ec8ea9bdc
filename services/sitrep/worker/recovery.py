"""A fix to faust's recovery: no record reaches an agent before its partition is repositioned.

When a worker is given partitions, faust restores its tables and then, in
``Recovery.on_recovery_completed``, resumes the stream partitions and only then seeks them to
their committed offsets. The flow of records is already running by then (it was started to
read the changelogs), so records fetched between the two steps reach the agents and are
delivered again after the seek. faust's offset bookkeeping does not survive that: records are
dropped as already read, offsets are committed past records no agent processed, or stop
advancing, so the messages attached to them are never sent. A worker killed and replaced
lost events this way in ``tests/integration/test_worker.py``, about one run in three.

The fix stops the flow before faust's own steps; faust resumes it once the seek is done.
"""

from __future__ import annotations

from typing import Any

from faust.tables.manager import TableManager
from faust.tables.recovery import Recovery


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
