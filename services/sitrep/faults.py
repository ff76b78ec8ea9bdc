"""Poison or fault: what a process does when handling a record fails.

A record that fails the same way every time it is read (it does not parse, it cannot be
filed, the code trips over what it says) is poison: the worker sends it to the dead-letter
topic with the reason, an API notes it as rejected, and both go on. A failure of what the
process stands on (the broker, the store on disk, the gazetteer's index, memory) says
nothing about the record: treating it as poison would drop good data, and every record read
during the fault with it. On a fault the process stops at once instead, with ``EXIT_FAULT``;
nothing it wrote since its store's last commit counts, so restarted it reads the record
again, neither losing it nor counting anything twice (an event or report read again is
dropped by its id).
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from aiokafka.errors import KafkaError

EXIT_FAULT = 75
"""A process's exit status after a fault (EX_TEMPFAIL): start it again."""

log = logging.getLogger("sitrep.faults")


def is_fault(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure of what the process stands on, not of the record."""
    from faust.exceptions import DecodeError, FaustError

    if isinstance(exc, FaustError):
        # Faust's own errors are about the broker and the app's state (a topic's metadata
        # not there yet, a send refused), but for decoding a record's bytes.
        return not isinstance(exc, DecodeError | ValueError)
    # OSError covers the store's faults (StoreFault), timeouts and lost connections.
    return isinstance(exc, KafkaError | OSError | MemoryError | sqlite3.OperationalError)


def stop_on_fault(exc: BaseException, what: str) -> None:
    """Exit with ``EXIT_FAULT`` if ``exc`` is a fault (:func:`is_fault`); else return, and
    the record is the caller's to dead-letter."""
    if is_fault(exc):
        stop(f"a fault while handling {what}: {type(exc).__name__}: {exc}", exc)


@contextmanager
def stopping_on_fault(what: str) -> Iterator[None]:
    """:func:`stop_on_fault` for what the block raises (anything else goes on up)."""
    try:
        yield
    except Exception as exc:
        stop_on_fault(exc, what)
        raise


def stop(reason: str, exc: BaseException | None = None) -> NoReturn:
    """Exit at once with ``EXIT_FAULT``: the stores keep their last commit, and the process,
    started again, reads on from there."""
    log.critical("%s; exiting to read it again after a restart", reason, exc_info=exc)
    logging.shutdown()
    os._exit(EXIT_FAULT)
