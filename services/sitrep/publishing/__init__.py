"""Publishing events onto the log: the async client scrapers use, and publishing a file."""

from sitrep.publishing.batch import (
    DETAILS,
    WINDOW,
    BatchReport,
    Failed,
    Listed,
    Notice,
    Warned,
    publish_lines,
)
from sitrep.publishing.first_seen import FirstSeen
from sitrep.publishing.lines import Conflict, Duplicate, Line, Rejected, check_line, read_lines
from sitrep.publishing.publisher import Publisher, PublishFailed, Receipt, event_producer

__all__ = [
    "DETAILS",
    "WINDOW",
    "BatchReport",
    "Conflict",
    "Duplicate",
    "Failed",
    "FirstSeen",
    "Line",
    "Listed",
    "Notice",
    "PublishFailed",
    "Publisher",
    "Receipt",
    "Rejected",
    "Warned",
    "check_line",
    "event_producer",
    "publish_lines",
    "read_lines",
]
