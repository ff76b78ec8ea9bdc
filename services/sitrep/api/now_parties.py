"""Each party's casualties now, for :class:`~sitrep.api.now.NowIndex`: made from the ledgers
of every name that resolves to the party, and indexed by what is killed (lists are largest
first) and by when its periods end (the situation's last day).

- ``nowcasname/<ledger>/<party as named>`` → ``b""``: the names each casualties ledger holds
  (a ledger is a name's slug: names that resolve to one party may sit in several);
- ``nowcas/<10^18 - killed.low>/<party id>`` → the party's casualties (JSON);
- ``nowcasend/<day>/<party id>`` → ``b""``: the day a period the party's casualties show ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import orjson

from sitrep.engine.keyvalue import SEP, KeyValue, key
from sitrep.resolution.actors import ActorRegistry
from sitrep.views.casualties import Casualties, casualties
from sitrep.views.ledger import Filed, Ledger
from sitrep.views.moments import Asked

NAMES, RANKED, ENDS = "nowcasname", "nowcas", "nowcasend"
CASUALTIES = "casualties:"
KILLED_BASE = 10**18


def rank_of(party: Casualties) -> tuple[str, str]:
    """The place of a party in lists: most killed (at least) first, then by id."""
    return f"{KILLED_BASE - party.killed.low:019d}", party.party.id


def rank_of_json(party: dict[str, Any]) -> tuple[str, str]:
    """:func:`rank_of` a party's casualties as JSON."""
    return f"{KILLED_BASE - party['killed']['low']:019d}", party["party"]["id"]


class PartyIndex:
    """The casualties ledgers' names, and each party's casualties once made."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv
        self._parties: tuple[ActorRegistry, dict[str, list[str]]] | None = None

    def named(self, ledger: str, name: str) -> None:
        """A report in ``ledger`` names its party ``name``."""
        entry = key(NAMES, ledger, name)
        if self.kv.get(entry) is None:
            self.kv.put(entry, b"")
            self._parties = None

    def ledgers(self) -> list[str]:
        """Every casualties ledger."""
        return sorted({found.split(SEP)[1].decode() for found, _ in self.kv.scan(key(NAMES, ""))})

    def _by_party(self, registry: ActorRegistry) -> dict[str, list[str]]:
        if self._parties is None or self._parties[0] is not registry:
            by_party: dict[str, set[str]] = {}
            for found, _ in self.kv.scan(key(NAMES, "")):
                _, ledger, name = found.decode().split("\x00")
                by_party.setdefault(registry.resolve_id(name), set()).add(ledger)
            self._parties = (registry, {p: sorted(ls) for p, ls in by_party.items()})
        return self._parties[1]

    def of(self, ledger: str, registry: ActorRegistry) -> set[str]:
        """The parties ``ledger``'s reports count."""
        return {
            registry.resolve_id(found.decode().split("\x00")[2])
            for found, _ in self.kv.scan(key(NAMES, ledger, ""))
        }

    def ledgers_of(self, party: str, registry: ActorRegistry) -> list[str]:
        """The ledgers holding reports of ``party``."""
        return self._by_party(registry).get(party, [])

    def made(self) -> Iterator[str]:
        """Every party whose casualties are made."""
        for found, _ in self.kv.scan(key(RANKED, "")):
            yield found.split(SEP)[2].decode()

    def make(
        self, party: str, ledgers: list[Ledger], registry: ActorRegistry, asked: Asked
    ) -> tuple[list[Filed], dict[bytes, bytes]]:
        """The reports ``party``'s casualties are made from, and their index entries."""
        made = [c for c in casualties(ledgers, registry, asked) if c.party.id == party]
        reports = [f for ledger in ledgers for f in ledger]
        if not made:
            return reports, {}
        view = made[0]
        out = {key(RANKED, *rank_of(view)): orjson.dumps(view)}
        for period in view.periods:
            out[key(ENDS, period.end.isoformat(), party)] = b""
        return reports, out

    def ranked(
        self, after: tuple[str, ...] | None = None
    ) -> Iterator[tuple[tuple[str, ...], bytes]]:
        """Every party's casualties (JSON) with its :func:`rank_of`, in that order, from
        just after ``after``."""
        start = key(RANKED, *after) + b"\x00" if after is not None else None
        for found, value in self.kv.scan(key(RANKED, ""), start=start):
            _, low, party = found.decode().split("\x00")
            yield (low, party), value

    def ending_from(self, day: date) -> set[str]:
        """The parties with a period shown that ends on ``day`` or later."""
        return {
            found.split(SEP)[2].decode()
            for found, _ in self.kv.scan(key(ENDS, ""), start=key(ENDS, day.isoformat()))
        }
