"""Publishing events onto the log: the async client scrapers use, and batch publishing."""

from sitrep.publishing.batch import BatchReport, Duplicate, Failed, Rejected, publish_lines
from sitrep.publishing.publisher import Publisher, PublishFailed, Receipt, event_producer

__all__ = [
    "BatchReport",
    "Duplicate",
    "Failed",
    "PublishFailed",
    "Publisher",
    "Receipt",
    "Rejected",
    "event_producer",
    "publish_lines",
]
