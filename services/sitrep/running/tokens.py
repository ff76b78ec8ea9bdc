"""Tokens for a local demo: `sitrep up` makes a reader and a publisher token once, and keeps
them in the state directory.

``local-tokens.json`` (mode 600) holds the tokens themselves, for the person running the demo;
``api-tokens.json`` holds only their SHA-256 digests, and is the file the API is given.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sitrep.api.access import digest_of, new_token

LOCAL_TOKENS = {"local-reader": "reader", "local-publisher": "publisher"}
"""Name and role of each local token."""


def local_tokens(state_dir: Path) -> tuple[dict[str, str], Path]:
    """The local tokens by name (made on first use), and the grants file for the API."""
    secrets_file = state_dir / "local-tokens.json"
    grants_file = state_dir / "api-tokens.json"
    tokens: dict[str, str] = {}
    if secrets_file.exists():
        tokens = {
            k: v for k, v in json.loads(secrets_file.read_text()).items() if isinstance(v, str)
        }
    if set(tokens) != set(LOCAL_TOKENS):
        tokens = {name: new_token() for name in LOCAL_TOKENS}
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(secrets_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(tokens, out, indent=2)
    grants = [
        {"name": name, "role": role, "sha256": digest_of(tokens[name]).hex()}
        for name, role in LOCAL_TOKENS.items()
    ]
    grants_file.write_text(json.dumps({"tokens": grants}, indent=2) + "\n")
    return tokens, grants_file
