"""The actors' views with the places each holds: read from the index of the present
(:class:`~sitrep.api.now.NowIndex`) when it holds for the moment asked, else made from every
place's control as asked. Either way a list is paged by actor id."""

from __future__ import annotations

import orjson

from sitrep.api.answers import Answers
from sitrep.api.now import EVERYWHERE, NowIndex
from sitrep.api.paging import Page, after_key, key_cursor
from sitrep.views.actors import ActorView, HeldPlace, actor_view


def held_now(now: NowIndex, actor: str) -> list[HeldPlace]:
    """The places ``actor`` holds, as the index of the present says."""
    return [HeldPlace(**orjson.loads(value)["held"]) for value in now.held(EVERYWHERE, actor)]


def actors_page(
    answers: Answers, limit: int, cursor: str | None, now: NowIndex | None
) -> Page[ActorView]:
    """The actors after the cursor, by id: from ``now`` if given (only the page's actors'
    places are read), else from every place's control."""
    after = after_key(cursor, 1)[0] if cursor else None
    items: list[ActorView]
    if now is None:
        listed = [a for a in answers.actors if after is None or a.id > after]
        items, more = listed[:limit], len(listed) > limit
    else:
        registry = answers.registry
        ids = sorted(
            i
            for i in set(registry.actors) | set(now.holder_ids(EVERYWHERE))
            if after is None or i > after
        )
        items = [actor_view(registry, i, held_now(now, i)) for i in ids[:limit]]
        more = len(ids) > limit
    return Page(items, key_cursor((items[-1].id,)) if more else None)


def actor_named(answers: Answers, name: str, now: NowIndex | None) -> ActorView | None:
    """One actor by its id or any of its names and aliases (None: neither described nor
    holding a place)."""
    if now is None:
        return answers.actor(name)
    wanted = answers.actor_id(name)
    held = held_now(now, wanted)
    if wanted not in answers.registry.actors and not held:
        return None
    return actor_view(answers.registry, wanted, held)
