"""A bounded memory of what was read last: decoded reports, how reports were cited."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any


class Recent(OrderedDict[Any, Any]):
    """A dict of at most ``size`` entries; the least recently used goes first."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def recall(self, k: Any) -> Any:
        found = self.get(k)
        if found is not None:
            self.move_to_end(k)
        return found

    def keep(self, k: Any, value: Any) -> None:
        self[k] = value
        self.move_to_end(k)
        if len(self) > self.size:
            self.popitem(last=False)
