"""What the worker's agents keep in faust tables: rows of the partitions this worker holds,
read back lazily (at first use after a start or a rebalance), in a format they check."""

from __future__ import annotations


class IncompatibleState(RuntimeError):
    """The worker's table holds rows in a format this version does not read."""


def written_by_older_sitrep(what: str, row_key: bytes) -> IncompatibleState:
    """The error for a row whose key is of no format this version knows."""
    return IncompatibleState(
        f"the {what} row {row_key[:60].decode(errors='replace')!r} was written by an older "
        "Sitrep: start the worker with a new SITREP_WORKER_ID, which rebuilds the views from "
        "the log"
    )


class HeldRows:
    """State rebuilt from a table's rows of the partitions held: :meth:`_index` reads them
    (once :meth:`_ready` is called after :meth:`forget`), :meth:`_clear` drops what it built."""

    def __init__(self) -> None:
        self.owned: set[int] = set()
        """Partitions of the table's topic this worker holds now."""
        self.indexed = False

    def forget(self, owned: set[int] | None = None) -> None:
        """After a rebalance the partitions held may differ: read the table again lazily."""
        if owned is not None:
            self.owned = owned
        self._clear()
        self.indexed = False

    def _ready(self) -> None:
        if not self.indexed:
            self.indexed = True
            self._index()

    def _clear(self) -> None:
        raise NotImplementedError

    def _index(self) -> None:
        raise NotImplementedError
