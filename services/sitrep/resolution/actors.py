"""Actors: names and aliases resolve to one canonical actor.

The registry grows from ``actor.described`` events. An unknown name is a new actor, never an
error. Resolution is deterministic for a given sequence of descriptions, so a rebuild from
the log resolves every name the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from sitrep.contract.events import ActorDescribedEvent
from sitrep.resolution.names import fold


def actor_id(name: str) -> str:
    """The id of an actor first known by ``name``: its folded name, hyphenated."""
    return fold(name).replace(" ", "-") or "unnamed"


@dataclass(frozen=True)
class Designation:
    by: str
    as_: str


@dataclass(frozen=True)
class Actor:
    """One actor as the registry knows it."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    kind: str | None = None
    country: str | None = None
    designations: tuple[Designation, ...] = ()
    allies: tuple[str, ...] = ()
    described_by: tuple[str, ...] = ()
    """Ids of the ``actor.described`` events behind this entry."""

    @property
    def known(self) -> bool:
        """Whether any description names this actor (else it is only a name seen in events)."""
        return bool(self.described_by)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def _merge(old: tuple[str, ...], new: Iterable[str]) -> tuple[str, ...]:
    seen = {fold(x) for x in old}
    out = list(old)
    for item in new:
        if fold(item) not in seen:
            seen.add(fold(item))
            out.append(item)
    return tuple(out)


@dataclass(frozen=True)
class ActorRegistry:
    """Canonical actors by id, and the folded name of every alias pointing at one of them."""

    actors: dict[str, Actor] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)
    _resolved: dict[str, Actor] = field(default_factory=dict, compare=False, repr=False)
    """Names already resolved by this registry (it never changes: a description makes a new
    one), so a name is folded once, not at every projection."""

    def lookup(self, name: str) -> Actor | None:
        """The registered actor that ``name`` is a name or alias of, if any."""
        found = self.by_name.get(fold(name))
        return self.actors[found] if found is not None else None

    def resolve(self, name: str) -> Actor:
        """The canonical actor for ``name``: registered, or a new actor known only by it."""
        actor = self._resolved.get(name)
        if actor is None:
            actor = self.lookup(name) or Actor(id=actor_id(name), name=name.strip())
            self._resolved[name] = actor
        return actor

    def resolve_id(self, name: str) -> str:
        return self.resolve(name).id

    def describe(self, event: ActorDescribedEvent) -> ActorRegistry:
        """The registry with ``event`` folded in; describing twice changes nothing more."""
        data = event.data
        current = self.lookup(data.name)
        if current is not None and event.id in current.described_by:
            return self
        if current is None:
            current = Actor(id=actor_id(data.name), name=data.name)
        updated = replace(
            current,
            aliases=_merge(current.aliases, [a for a in data.aliases or () if fold(a)]),
            kind=data.kind or current.kind,
            country=data.country or current.country,
            designations=tuple(
                dict.fromkeys(
                    [
                        *current.designations,
                        *(Designation(d.by, d.as_) for d in data.designations or ()),
                    ]
                )
            ),
            allies=_merge(current.allies, data.allies or ()),
            described_by=(*current.described_by, event.id),
        )
        actors = {**self.actors, updated.id: updated}
        by_name = dict(self.by_name)
        by_name[fold(updated.name)] = updated.id
        for alias in updated.aliases:
            # An alias never takes a name from another registered actor: first come, first kept.
            by_name.setdefault(fold(alias), updated.id)
        return ActorRegistry(actors, by_name)

    def describe_all(self, events: Iterable[ActorDescribedEvent]) -> ActorRegistry:
        registry = self
        for event in events:
            registry = registry.describe(event)
        return registry
