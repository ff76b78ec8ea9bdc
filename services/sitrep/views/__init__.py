"""Situation views folded from the event log. Pure: no I/O, no clock, no global state.

A view's state is a :class:`~sitrep.views.ledger.Ledger`: every report filed for one entity,
keyed by event id. Folding is idempotent and order-free (a set of reports), so a rebuild, a
re-delivery or two workers give the same ledger. What a reader sees — "as it stood at T, as
known at K" — is projected from the ledger by the functions of each view module.
"""
