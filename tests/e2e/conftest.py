"""The e2e tests' stack: one per test module, started as a newcomer starts it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.stack import stack


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """The API's base URL and the environment of a stack of the module's own."""
    with stack(tmp_path_factory.mktemp("up")) as started:
        yield started
