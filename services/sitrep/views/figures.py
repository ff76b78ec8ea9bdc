"""Counts of people as ranges: reconciling several reports of one figure, adding up others."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median_low

from sitrep.contract.values import CountRange


@dataclass(frozen=True)
class Figure:
    """A number known as a range: ``high`` None means no upper bound was given."""

    low: int
    best: int | None
    high: int | None


def figure_of(count: int | CountRange) -> Figure:
    if isinstance(count, int):
        return Figure(count, count, count)
    return Figure(count.low, count.best, count.high)


def point(figure: Figure) -> int:
    if figure.best is not None:
        return figure.best
    if figure.high is None:
        return figure.low
    return (figure.low + figure.high) // 2


def reconcile(figures: Sequence[Figure]) -> Figure | None:
    """Several reports of the same figure, as one range spanning them.

    ``low`` is the smallest figure claimed; ``high`` the largest, or None when the largest claim
    is open-ended ("more than 300"); ``best`` the median of the reports' own best estimates.
    Reports of one thing never add up.
    """
    if not figures:
        return None
    if len(figures) == 1:
        return figures[0]
    low = min(f.low for f in figures)
    open_ended = max((f.low for f in figures if f.high is None and f.best is None), default=None)
    bounded = [f.high if f.high is not None else point(f) for f in figures]
    high: int | None = max(bounded)
    if open_ended is not None and high is not None and open_ended >= high:
        high = None
    best = median_low([point(f) for f in figures])
    best = max(low, best if high is None else min(best, high))
    return Figure(low, best, high)


def total(figures: Sequence[Figure]) -> Figure | None:
    """Figures of different things (different periods, different strikes), added up."""
    if not figures:
        return None
    low = sum(f.low for f in figures)
    best = sum(point(f) for f in figures)
    high = None if any(f.high is None for f in figures) else sum(f.high or 0 for f in figures)
    return Figure(low, best, high)
