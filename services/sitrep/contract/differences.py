"""Which fields two events published under one id differ in.

An id names one report for good: the log keeps the first event published under it, and a
later one with other content is a conflict, never an update. A publisher told which fields
differ can tell a resend with a changed clock from two reports given one id by mistake.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sitrep.contract.codec import event_to_dict
from sitrep.contract.events import EventBase


def differing_fields(first: EventBase, then: EventBase) -> list[str]:
    """The fields, named as the contract's errors name them (``data.killed.low``,
    ``sources[1].url``), whose values differ between ``first`` and ``then``; none for the
    same event sent again."""
    out: list[str] = []
    _compare(event_to_dict(first), event_to_dict(then), "", out)
    return out


def _compare(a: Any, b: Any, path: str, out: list[str]) -> None:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for name in sorted(a.keys() | b.keys()):
            inner = f"{path}.{name}" if path else str(name)
            if name not in a or name not in b:
                out.append(inner)
            else:
                _compare(a[name], b[name], inner, out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _compare(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(path or "(the event)")
