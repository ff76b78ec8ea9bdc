"""Statements: who said what, for whom, about whom, in what tone, through which channel."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

from sitrep.contract.events import ClaimDeniedEvent, StatementIssuedEvent, start_of
from sitrep.resolution.actors import ActorRegistry
from sitrep.views.ledger import Ledger, Memo, recalled, visible
from sitrep.views.moments import Asked
from sitrep.views.refs import ActorRef, DenialRef, SourceRef, actor_ref, denial_ref, source_ref


@dataclass(frozen=True)
class Statement:
    event_id: str
    actor: ActorRef
    speaker: ActorRef
    text: str
    about: tuple[ActorRef, ...]
    stance: str | None
    channel: str | None
    occurred_at: date | datetime
    source: SourceRef
    denials: tuple[DenialRef, ...]


def statements(
    ledgers: Iterable[Ledger],
    registry: ActorRegistry,
    asked: Asked,
    memo: Memo | None = None,
) -> list[Statement]:
    """Every statement as asked, newest first (``memo``: see :data:`~sitrep.views.ledger.Memo`)."""
    out = []
    for ledger in ledgers:
        view = visible(ledger, asked)
        for item in view.reports:
            event = item.event
            if isinstance(event, StatementIssuedEvent):
                denied = view.denied(event.id)
                make = partial(statement_of, event, denied, registry)
                out.append(recalled(memo, event.id, (event, registry, denied), make))
    out.sort(
        key=lambda s: (start_of(s.occurred_at), s.source.reported_at, s.event_id), reverse=True
    )
    return out


def statement_of(
    event: StatementIssuedEvent, denied: tuple[ClaimDeniedEvent, ...], registry: ActorRegistry
) -> Statement:
    return Statement(
        event_id=event.id,
        actor=actor_ref(registry, event.data.actor),
        speaker=actor_ref(registry, event.data.speaker),
        text=event.data.text,
        about=tuple(actor_ref(registry, a) for a in event.data.about or ()),
        stance=event.data.stance,
        channel=event.data.channel,
        occurred_at=event.occurred_at,
        source=source_ref(event),
        denials=tuple(denial_ref(registry, d) for d in denied),
    )
