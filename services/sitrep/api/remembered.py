"""Answers remembered between requests, for as long as the read model does not change.

Every request used to compute its views from scratch, though many ask about the same moment
(a shared link, a page polling one date) of a log that has not moved. An :class:`Answers`
computes each view once, when first asked; remembering it by the moment asked lets the next
request at that moment reuse what the last one computed. Whatever the read model folds next
changes its ``version``, and everything remembered is forgotten.

Two moments that see the same reports are the same question: a ``known_at`` after the latest
report folded knows every report, so it is remembered as that latest report's time. ``at`` is
kept as asked: the views also count back from it (the last 24 hours, the last 72 hours). A
request that leaves ``at`` out asks about now, which :mod:`sitrep.api.asking` rounds up to the
whole second (and says so in the answer): the requests of one second share one question, kept
in a slot of its own so that it does not push out the moments asked explicitly. Every answer
shares :class:`Shared` (where each place is filed, the registries).
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

from sitrep.api.answers import Answers, Shared
from sitrep.api.readmodel import ReadModel
from sitrep.views.moments import Asked

REMEMBERED = 8
"""How many moments' answers are kept, the least recently asked forgotten first: each holds
every view computed for its moment (the control of every place, for a region's overview)."""


class RememberedAnswers:
    """The read model's answers for each moment asked, kept while its version holds."""

    def __init__(self, model: ReadModel, size: int = REMEMBERED) -> None:
        self.model = model
        self.size = size
        self._version = -1
        self._shared = Shared(model.situation)
        self._answers: OrderedDict[tuple[datetime, datetime], Answers] = OrderedDict()
        self._now: Answers | None = None

    def answers(self, asked: Asked, *, now: bool = False) -> Answers:
        """The answers as asked: remembered ones if the read model has not changed since.

        ``now`` for the moment of a request that left ``at`` out: only the latest such moment
        is kept, apart from the others (it will not be asked again once the clock moved on).
        """
        model = self.model
        if model.version != self._version:
            self._answers.clear()
            self._now = None
            self._shared = Shared(model.situation)
            self._version = model.version
        latest = model.latest_report
        known_at = asked.known_at if latest is None else min(asked.known_at, latest)
        key = (asked.at, known_at)
        if now:
            last = self._now
            if last is None or (last.asked.at, last.asked.known_at) != key:
                last = self._now = Answers(model.situation, Asked(*key), self._shared)
            return last
        found = self._answers.get(key)
        if found is not None:
            self._answers.move_to_end(key)
            return found
        answers = Answers(model.situation, Asked(*key), self._shared)
        self._answers[key] = answers
        while len(self._answers) > self.size:
            self._answers.popitem(last=False)
        return answers
