"""Who may do what: bearer tokens with a role, kept only as SHA-256 digests.

A token is configured as ``name:role:sha256hex`` (``SITREP_API_TOKENS``, comma-separated) or
as a record ``{name, role, sha256}`` in a JSON or TOML file (``SITREP_API_TOKENS_FILE``).
The plaintext never reaches the configuration: ``sitrep token`` makes a token and prints the
digest to configure. Pure but for reading that file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from sitrep.settings import Settings

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class Role(StrEnum):
    """What a token may do: a reader reads, a publisher posts events, an admin does both
    and may retract any event."""

    READER = "reader"
    PUBLISHER = "publisher"
    ADMIN = "admin"


class AccessConfigError(ValueError):
    """The configured tokens cannot be used (a bad role, digest or name, or a name twice)."""


@dataclass(frozen=True)
class Caller:
    """Who made a request, as its token names it."""

    name: str
    role: Role

    @property
    def may_read(self) -> bool:
        return self.role in (Role.READER, Role.ADMIN)

    @property
    def may_publish(self) -> bool:
        return self.role in (Role.PUBLISHER, Role.ADMIN)


@dataclass(frozen=True)
class Grant:
    """One configured token: its holder, role, and the SHA-256 digest of the token."""

    caller: Caller
    digest: bytes

    def line(self) -> str:
        """The grant as ``SITREP_API_TOKENS`` takes it."""
        return f"{self.caller.name}:{self.caller.role}:{self.digest.hex()}"


def digest_of(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_token() -> str:
    """A fresh random bearer token (256 bits)."""
    return "sitrep_" + secrets.token_urlsafe(32)


def grant(name: str, role: str, sha256: str) -> Grant:
    """A grant from its three parts, checked; raises ``AccessConfigError``."""
    if not _NAME.match(name):
        raise AccessConfigError(f"token name {name!r}: letters, digits and ._@- (at most 64)")
    try:
        checked = Role(role)
    except ValueError as exc:
        roles = ", ".join(r.value for r in Role)
        raise AccessConfigError(f"token {name!r}: role {role!r} is not one of {roles}") from exc
    if not _DIGEST.match(sha256.lower()):
        raise AccessConfigError(f"token {name!r}: the hash must be 64 hex digits (SHA-256)")
    return Grant(Caller(name, checked), bytes.fromhex(sha256))


def parse_lines(text: str) -> list[Grant]:
    """Grants written ``name:role:sha256hex``, separated by commas or newlines."""
    grants = []
    for item in re.split(r"[,\n]", text):
        item = item.strip()
        if not item or item.startswith("#"):
            continue
        parts = item.split(":")
        if len(parts) != 3:
            raise AccessConfigError(f"{item[:20]!r}...: expected name:role:sha256hex")
        grants.append(grant(*(p.strip() for p in parts)))
    return grants


def _records(raw: Any, source: Path) -> list[Grant]:
    if isinstance(raw, Mapping):
        raw = raw.get("tokens", raw.get("token"))
    if not isinstance(raw, list):
        raise AccessConfigError(f"{source}: expected a list of tokens (or a `tokens` table)")
    grants = []
    for record in raw:
        if not isinstance(record, Mapping) or not all(
            isinstance(record.get(k), str) for k in ("name", "role", "sha256")
        ):
            raise AccessConfigError(f"{source}: each token needs name, role and sha256 strings")
        grants.append(grant(record["name"], record["role"], record["sha256"]))
    return grants


def read_file(path: Path) -> list[Grant]:
    """Grants from a JSON file (a list of ``{name, role, sha256}``, or ``{"tokens": [...]}``)
    or a TOML file (``[[tokens]]`` tables)."""
    try:
        text = path.read_text()
        raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise AccessConfigError(f"cannot read the tokens in {path}: {exc}") from exc
    return _records(raw, path)


class Access:
    """The configured grants, and whether reading needs a token at all."""

    def __init__(self, grants: Iterable[Grant], *, anonymous_read: bool = True) -> None:
        self._grants = tuple(grants)
        names = [g.caller.name for g in self._grants]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise AccessConfigError(f"token names must be unique: {', '.join(twice)}")
        self.anonymous_read = anonymous_read

    @classmethod
    def from_settings(cls, settings: Settings) -> Access:
        grants = parse_lines(settings.api_tokens.get_secret_value()) if settings.api_tokens else []
        if settings.api_tokens_file is not None:
            grants += read_file(settings.api_tokens_file)
        return cls(grants, anonymous_read=settings.api_anonymous_read)

    def identify(self, token: str) -> Caller | None:
        """Whose token this is, or None. Every digest is compared, in constant time each."""
        presented = digest_of(token)
        found = None
        for each in self._grants:
            if hmac.compare_digest(presented, each.digest):
                found = each.caller
        return found
