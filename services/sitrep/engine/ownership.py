"""Who may retract an event: part of what the log means, not only of the API's gate.

Every record the API writes carries its publisher (the token's name) and, for an admin, its
role, as Kafka headers. A retraction undoes an event in every view, so the engine applies it
only when it comes from the event's own publisher or from an admin; any other is kept as
refused, with the reason, and shows so in the event's fate. Records written straight onto the
topic carry no publisher: they are the log's own writers' (the brokers' ACLs say who those
are), and may retract each other's events, not an API publisher's. Anyone may deny anything:
a denial is a report of what somebody denied, and is shown as such.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PUBLISHER_HEADER = "sitrep.publisher"
ROLE_HEADER = "sitrep.role"
ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Signed:
    """Who wrote a record, as its headers say: the publisher's name (None: written straight
    onto the topic), and whether it wrote as an admin."""

    publisher: str | None = None
    admin: bool = False

    def encode(self) -> bytes:
        return (self.publisher or "").encode() + (b"\x00" + ADMIN.encode() if self.admin else b"")

    @classmethod
    def decode(cls, raw: bytes) -> Signed:
        name, _, role = raw.partition(b"\x00")
        return cls(name.decode() or None, role == ADMIN.encode())


UNSIGNED = Signed()


def signed_by(headers: Iterable[tuple[str, bytes]] | None) -> Signed:
    """Who wrote a record with ``headers`` (as aiokafka gives them)."""
    found = dict(headers or ())
    publisher = found.get(PUBLISHER_HEADER)
    return Signed(
        publisher.decode(errors="replace") if publisher else None,
        found.get(ROLE_HEADER) == ADMIN.encode(),
    )


def headers_of(signed: Signed) -> dict[str, str]:
    """The headers a record written for ``signed`` carries."""
    out = {PUBLISHER_HEADER: signed.publisher} if signed.publisher else {}
    if signed.admin:
        out[ROLE_HEADER] = ADMIN
    return out


def refusal(retracting: Signed, owner: str | None) -> str | None:
    """Why a retraction written by ``retracting`` may not undo an event published by
    ``owner`` (None: through no publisher); None when it may."""
    if retracting.admin or retracting.publisher == owner:
        return None
    by = retracting.publisher or "a writer of the log"
    whose = f"{owner}'s" if owner is not None else "written straight onto the log"
    return f"{by} may retract only the events it published, and this one is {whose}"
