"""Actors: canonical name, aliases, kind, designations, allies, and the places each holds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from typing_extensions import TypedDict

from sitrep.contract.events import ActorDescribedEvent
from sitrep.resolution.actors import Actor, ActorRegistry
from sitrep.views.control import ControlView
from sitrep.views.ledger import Ledger, visible
from sitrep.views.moments import Asked, order_key
from sitrep.views.refs import ActorRef, actor_ref


def registry_of(ledger: Ledger | None, asked: Asked | None = None) -> ActorRegistry:
    """The registry from the descriptions in ``ledger`` (those known at ``asked``, if given).

    Descriptions are applied in event order, never log order, so every worker and every
    rebuild resolves names alike.
    """
    return ActorRegistry().describe_all(descriptions(ledger, asked))


def descriptions(ledger: Ledger | None, asked: Asked | None = None) -> list[ActorDescribedEvent]:
    """The descriptions in ``ledger`` (those known at ``asked``, if given), in event order."""
    if ledger is None:
        return []
    items = visible(ledger, asked).reports if asked is not None else tuple(ledger)
    return sorted(
        (f.event for f in items if isinstance(f.event, ActorDescribedEvent)), key=order_key
    )


@dataclass(frozen=True)
class HeldPlace:
    """A place an actor holds, as its control view says."""

    place_id: str
    name: str
    since: str | None
    """ISO date or date-time the actor took it."""
    status: str


Holdings = Mapping[str, Sequence[HeldPlace]]
"""Places held, by actor id."""


def holdings_of(control: Iterable[ControlView]) -> dict[str, list[HeldPlace]]:
    """Who holds what, from control views."""
    held: dict[str, list[HeldPlace]] = {}
    for view in control:
        if view.controller is not None:
            since = view.since.isoformat() if view.since is not None else None
            held.setdefault(view.controller.id, []).append(
                HeldPlace(view.place.id, view.place.name, since, view.status)
            )
    return held


Designation = TypedDict("Designation", {"by": str, "as": str})
"""Who designates an actor as what, spelt as the contract spells it: ``{"by", "as"}``."""


@dataclass(frozen=True)
class ActorView:
    id: str
    name: str
    aliases: tuple[str, ...]
    kind: str | None
    country: str | None
    designations: tuple[Designation, ...]
    allies: tuple[ActorRef, ...]
    controls: tuple[HeldPlace, ...]
    described_by: tuple[str, ...]


def actor_views(registry: ActorRegistry, holdings: Holdings) -> list[ActorView]:
    """Every registered actor, and every actor holding a place, with the places it holds."""
    return [
        actor_view(registry, actor_id, holdings.get(actor_id, ()))
        for actor_id in sorted(set(registry.actors) | set(holdings))
    ]


def actor_view(registry: ActorRegistry, actor_id: str, holds: Iterable[HeldPlace]) -> ActorView:
    """One actor (registered or not) with the places it holds."""
    actor = registry.actors.get(actor_id) or Actor(id=actor_id, name=actor_id)
    return ActorView(
        id=actor.id,
        name=actor.name,
        aliases=actor.aliases,
        kind=actor.kind,
        country=actor.country,
        designations=tuple(Designation({"by": d.by, "as": d.as_}) for d in actor.designations),
        allies=tuple(actor_ref(registry, a) for a in actor.allies),
        controls=tuple(sorted(holds, key=lambda h: (h.name, h.place_id))),
        described_by=actor.described_by,
    )
