"""A retraction undoes an event in every view only when it comes from the event's publisher
or an admin: the engine keeps that rule, whoever wrote the records onto the log and in
whatever order they come."""

from __future__ import annotations

import pytest

from sitrep.contract import Event, parse_event
from sitrep.engine.engine import Engine
from sitrep.engine.keyvalue import MemoryKeyValue
from sitrep.engine.ownership import UNSIGNED, Signed, headers_of, signed_by
from sitrep.topics import TopicNames
from tests.examples import retraction
from tests.seeded import seed_events, seeded

NAMES = TopicNames()
ALICE, MALLORY, ADA = Signed("alice"), Signed("mallory"), Signed("ada", admin=True)
TARGET = "seed-000-aleppo-control-hts"


def _retraction(event_id: str) -> Event:
    return parse_event(retraction(event_id, TARGET))


def _views(
    owner: Signed, retracting: Signed | None, *, retraction_first: bool = False
) -> tuple[dict[object, bytes | None], Engine]:
    """The views of the seeds, ``TARGET`` written by ``owner`` and retracted by
    ``retracting`` (None: not retracted), the retraction before or after its event."""
    engine = Engine(MemoryKeyValue(), seeded().gazetteer, NAMES)
    events = [(e, owner if e.id == TARGET else UNSIGNED) for e in seed_events()]
    if retracting is not None:
        answer = (_retraction("r-1"), retracting)
        events = [answer, *events] if retraction_first else [*events, answer]
    for event, signed in events:
        engine.fold(event, signed)
    engine.take_changes()
    return dict(engine.folder.published()), engine


@pytest.mark.parametrize("retraction_first", [False, True], ids=["after", "before"])
@pytest.mark.parametrize(
    ("owner", "retracting", "applies"),
    [
        (ALICE, ALICE, True),
        (ALICE, MALLORY, False),
        (ALICE, ADA, True),
        (ALICE, UNSIGNED, False),  # written straight onto the log, past the API
        (UNSIGNED, UNSIGNED, True),  # the log's own writers, among themselves
        (UNSIGNED, MALLORY, False),
    ],
    ids=["own", "another", "admin", "unsigned-of-signed", "unsigned-of-unsigned", "of-unsigned"],
)
def test_a_retraction_applies_only_from_the_events_publisher_or_an_admin(
    owner: Signed, retracting: Signed, applies: bool, retraction_first: bool
) -> None:
    untouched, _ = _views(owner, None)
    views, engine = _views(owner, retracting, retraction_first=retraction_first)
    assert (views != untouched) is applies
    refused = engine.router.refused("r-1")
    if applies:
        assert refused is None
    else:
        assert refused is not None
        assert "may retract only the events it published" in refused
        assert owner.publisher is None or owner.publisher in refused


def test_only_the_first_record_of_an_id_says_who_owns_it() -> None:
    engine = Engine(MemoryKeyValue(), seeded().gazetteer, NAMES)
    target = next(e for e in seed_events() if e.id == TARGET)
    engine.fold(target, ALICE)
    engine.fold(target, MALLORY)  # a copy sent again by another: a duplicate, owned by none
    assert engine.router.owner_of(TARGET) == ALICE
    engine.fold(_retraction("r-1"), MALLORY)
    assert engine.router.refused("r-1") is not None


def test_who_wrote_a_record_is_read_from_its_headers_and_written_into_them() -> None:
    for signed in (ALICE, ADA, UNSIGNED):
        headers = [(k, v.encode()) for k, v in headers_of(signed).items()]
        assert signed_by(headers) == signed
        assert Signed.decode(signed.encode()) == signed
    assert signed_by(None) == UNSIGNED
