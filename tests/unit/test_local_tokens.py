"""`sitrep up`'s tokens for a local demo: made once, kept, and only their hashes given to the API."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from sitrep.api.access import Access, Role, read_file
from sitrep.running.tokens import local_tokens


def test_a_reader_and_a_publisher_are_made_and_the_api_knows_them_by_hash(tmp_path: Path) -> None:
    tokens, grants_file = local_tokens(tmp_path)
    access = Access(read_file(grants_file))
    reader = access.identify(tokens["local-reader"])
    publisher = access.identify(tokens["local-publisher"])
    assert reader is not None
    assert reader.role is Role.READER
    assert publisher is not None
    assert publisher.role is Role.PUBLISHER
    assert access.identify("sitrep_not-a-token") is None
    text = grants_file.read_text()
    assert all(token not in text for token in tokens.values())


def test_the_tokens_are_kept_between_runs_and_only_their_owner_reads_them(tmp_path: Path) -> None:
    first, _ = local_tokens(tmp_path)
    again, _ = local_tokens(tmp_path)
    assert again == first
    kept = tmp_path / "local-tokens.json"
    assert json.loads(kept.read_text()) == first
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_a_damaged_token_file_is_replaced_by_new_tokens(tmp_path: Path) -> None:
    (tmp_path / "local-tokens.json").write_text('{"local-reader": "x"}')
    tokens, grants_file = local_tokens(tmp_path)
    assert set(tokens) == {"local-reader", "local-publisher"}
    assert tokens["local-reader"] != "x"
    assert Access(read_file(grants_file)).identify(tokens["local-reader"]) is not None
