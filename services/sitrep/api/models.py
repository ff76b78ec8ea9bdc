"""Response models: the shapes the API documents (OpenAPI). The views inside are the core's
dataclasses, encoded as the view topics carry them."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class FreshnessModel(BaseModel):
    position: dict[str, int]
    """The next offset folded, by partition of the event log."""
    behind: int | None
    """Records on the log not folded yet; null while the log cannot be reached (not known)."""
    log_reached_at: datetime | None = None
    """When the event log last answered this process."""


class AskedModel(BaseModel):
    at: datetime
    known_at: datetime


class One(BaseModel, Generic[T]):
    view: T
    asked: AskedModel
    freshness: FreshnessModel


class Listing(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
    asked: AskedModel
    freshness: FreshnessModel


class FieldProblemModel(BaseModel):
    field: str
    reason: str


class PublishResult(BaseModel):
    index: int
    id: str | None
    status: Literal["accepted", "duplicate", "conflict", "rejected"]
    partition: int | None = None
    offset: int | None = None
    errors: list[FieldProblemModel] = []
    """Why it was rejected, or the fields in which a conflicting event differs."""
    warnings: list[str] = []
    """An accepted event's names that nobody knows, with the closest known ones: accepted all
    the same (somebody reported them), but likely misspelt."""


class PublishAnswer(BaseModel):
    results: list[PublishResult]
    accepted: int
    duplicate: int
    conflict: int
    rejected: int


class Health(BaseModel):
    status: str
