"""Actors: every name and alias of an actor resolves to one canonical actor.

The registry is the project's starting one, ``seeds/actors.jsonl``, grown by further
``actor.described`` events.
"""

from __future__ import annotations

from typing import Any

import pytest

from sitrep.contract import parse_event
from sitrep.contract.events import ActorDescribedEvent
from sitrep.resolution.actors import ActorRegistry, Designation, actor_id
from tests.seeded import SEEDS

HTS = "hayat-tahrir-al-sham"


def described(event_id: str, **data: Any) -> ActorDescribedEvent:
    event = parse_event(
        {
            "id": event_id,
            "type": "actor.described",
            "occurred_at": "2024-12-02",
            "reported_at": "2024-12-02T12:00:00Z",
            "source": {"name": "Test desk", "kind": "other"},
            "data": data,
        }
    )
    assert isinstance(event, ActorDescribedEvent)
    return event


def seed_descriptions() -> list[ActorDescribedEvent]:
    events = []
    for line in (SEEDS / "actors.jsonl").read_bytes().splitlines():
        if line.strip():
            event = parse_event(line)
            assert isinstance(event, ActorDescribedEvent)
            events.append(event)
    return events


@pytest.fixture(scope="module")
def registry() -> ActorRegistry:
    return ActorRegistry().describe_all(seed_descriptions())


@pytest.mark.parametrize(
    "name",
    [
        "HTS",
        "Hayat Tahrir al-Sham",
        "Nusra Front",
        "Jabhat al-Nusra",
        "Hay'at Tahrir al-Sham",
        "Hay’at Tahrir al-Sham",
        "Jabhat Fatah al-Sham",
    ],
)
def test_names_and_aliases_of_hts_resolve_to_one_actor(registry: ActorRegistry, name: str) -> None:
    actor = registry.resolve(name)
    assert actor.id == HTS
    assert actor.name == "Hayat Tahrir al-Sham"
    assert actor.known
    assert actor.kind == "rebel_group"


@pytest.mark.parametrize(
    "name",
    ["hts", "HAYAT TAHRIR AL-SHAM", "Hayʼat Taḥrīr al-Shām", "  nusra   FRONT ", "al-Nusra front"],
)
def test_lookup_ignores_case_diacritics_and_punctuation(registry: ActorRegistry, name: str) -> None:
    assert registry.resolve_id(name) == HTS


def test_kurdish_forces_are_the_syrian_democratic_forces(registry: ActorRegistry) -> None:
    actor = registry.resolve("Kurdish forces")
    assert actor.name == "Syrian Democratic Forces"
    assert registry.resolve_id("SDF") == actor.id


def test_every_seed_description_is_one_known_actor(registry: ActorRegistry) -> None:
    events = seed_descriptions()
    assert len(registry.actors) == len(events)
    for event in events:
        actor = registry.resolve(event.data.name)
        assert actor.described_by == (event.id,)
        for alias in event.data.aliases or ():
            owner = registry.resolve(alias)
            assert owner.known, alias


def test_seed_designations_and_allies_are_kept(registry: ActorRegistry) -> None:
    hts = registry.resolve("HTS")
    assert {d.by for d in hts.designations} == {"United States", "Russia", "Turkey"}
    assert registry.resolve("Syrian government").allies == ("Russia", "Iran")


def test_an_unknown_name_is_a_new_actor_not_an_error(registry: ActorRegistry) -> None:
    actor = registry.resolve("Liwa al-Quds")
    assert actor.id == actor_id("Liwa al-Quds") == "liwa-al-quds"
    assert actor.name == "Liwa al-Quds"
    assert not actor.known
    assert registry.resolve("LIWA AL-QUDS").id == actor.id
    assert registry.lookup("Liwa al-Quds") is None


def test_an_unknown_name_in_another_script_gets_its_own_id(registry: ActorRegistry) -> None:
    one = registry.resolve("لواء القدس")
    other = registry.resolve("جيش الإسلام")
    assert not one.known
    assert one.id != other.id


def test_describing_twice_changes_nothing(registry: ActorRegistry) -> None:
    event = described("test-hts-1", name="HTS", aliases=["Tahrir al-Sham Committee"])
    once = registry.describe(event)
    twice = once.describe(event)
    assert twice == once
    assert twice.resolve("HTS").described_by.count("test-hts-1") == 1


def test_replaying_the_seed_descriptions_changes_nothing(registry: ActorRegistry) -> None:
    assert registry.describe_all(seed_descriptions()) == registry


def test_a_later_description_adds_aliases_designations_and_allies(
    registry: ActorRegistry,
) -> None:
    before = registry.resolve("HTS")
    after = registry.describe(
        described(
            "test-hts-2",
            name="Nusra Front",
            aliases=["Tahrir al-Sham Committee", "HTS"],
            designations=[{"by": "Canada", "as": "terrorist entity"}],
            allies=["Ansar al-Tawhid"],
        )
    ).resolve("Tahrir al-Sham Committee")
    assert after.id == HTS
    assert after.name == before.name
    assert after.aliases == (*before.aliases, "Tahrir al-Sham Committee")
    assert after.designations == (*before.designations, Designation("Canada", "terrorist entity"))
    assert after.allies == ("Ansar al-Tawhid",)
    assert after.described_by == (*before.described_by, "test-hts-2")
    assert after.kind == "rebel_group"  # not given again, so kept


def test_a_new_description_registers_a_new_actor(registry: ActorRegistry) -> None:
    grown = registry.describe(
        described("test-jaysh", name="Jaysh al-Izza", aliases=["Army of Glory"], kind="rebel_group")
    )
    actor = grown.resolve("army of glory")
    assert (actor.id, actor.name, actor.known) == ("jaysh-al-izza", "Jaysh al-Izza", True)
    assert registry.lookup("Jaysh al-Izza") is None  # the registry it grew from is unchanged


def test_an_alias_never_steals_the_name_of_another_registered_actor(
    registry: ActorRegistry,
) -> None:
    grown = registry.describe(
        described(
            "test-fsa",
            name="Free Syrian Army",
            aliases=["FSA", "HTS", "Syrian Arab Army", "SDF"],
        )
    )
    assert grown.resolve_id("HTS") == HTS
    assert grown.resolve("Syrian Arab Army").name == "Syrian Arab Army"
    assert grown.resolve("SDF").name == "Syrian Democratic Forces"
    assert grown.resolve("FSA").name == "Free Syrian Army"


def test_resolution_does_not_depend_on_what_was_described_after(registry: ActorRegistry) -> None:
    """Describing an actor whose alias is already taken leaves earlier names where they were."""
    first = registry.describe(described("test-a", name="Army of Conquest", aliases=["Jaysh"]))
    second = first.describe(described("test-b", name="Jaysh al-Islam", aliases=["Jaysh"]))
    assert second.resolve("Jaysh").name == "Army of Conquest"
    assert second.resolve("Jaysh al-Islam").name == "Jaysh al-Islam"
