"""What a publisher outside the API knows of the actors: the registry as the workers last
wrote it, to warn of a name that is likely a misspelling of a known one."""

from __future__ import annotations

import asyncio

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from sitrep.engine.folding import registry_from
from sitrep.kafka import clients
from sitrep.resolution.actors import ActorRegistry

WITHIN_S = 10.0


class RegistryUnreadable(RuntimeError):
    """The broker did not give the registry's last record in time."""


async def latest_registry(bootstrap: str, topic: str, within: float = WITHIN_S) -> ActorRegistry:
    """The registry the last record of ``topic`` holds (it is compacted, and every record holds
    every description); empty when there is no such topic or record yet.

    Raises :class:`RegistryUnreadable` when the broker cannot be read within ``within`` s.
    """
    consumer = clients.consumer(bootstrap, enable_auto_commit=False)
    try:
        async with asyncio.timeout(within):
            await consumer.start()
            # Asking for the topic's offsets would create it on a broker that creates topics
            # on first use: look it up among those that exist first.
            if topic not in await consumer.topics():
                return ActorRegistry()
            part = TopicPartition(topic, 0)
            consumer.assign([part])
            end = (await consumer.end_offsets([part]))[part]
            if end == 0:
                return ActorRegistry()
            consumer.seek(part, end - 1)
            record = await consumer.getone(part)
    except (KafkaError, TimeoutError) as exc:
        raise RegistryUnreadable(f"cannot read the actor registry on {topic}: {exc!r}") from exc
    finally:
        await consumer.stop()
    if record.value is None:  # the registry emptied: a tombstone
        return ActorRegistry()
    return registry_from(bytes(record.value))
