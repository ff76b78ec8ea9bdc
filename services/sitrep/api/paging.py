"""Cursor paging: the cursor is the sort key of the last item a page looked at (``k:``), so
a list is read in order a page at a time and never works out the items before it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Query

from sitrep.api.problems import invalid_parameter

T = TypeVar("T")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page.")]


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


def key_cursor(sort_key: Sequence[str]) -> str:
    """The cursor of a page that ends at the item of ``sort_key``."""
    text = "k:" + "\x00".join(sort_key)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def after_key(cursor: str, parts: int) -> tuple[str, ...]:
    """The sort key a :func:`key_cursor` holds (``parts`` strings), or a 422 naming it."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, rest = text.partition(":")
        found = tuple(rest.split("\x00"))
        if kind != "k" or len(found) != parts:
            raise ValueError(text)
        return found
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid_parameter(
            "cursor", "is not a cursor this API gave for this list (take next_cursor from a page)"
        ) from exc
