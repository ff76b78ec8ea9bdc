"""The HTTP API: situation views as they stood at a moment, from what was known at another.

``readmodel`` follows the event log and folds it with the pure core; ``answers`` asks the core
the questions a request puts; ``app`` is the composition root (FastAPI).
"""
