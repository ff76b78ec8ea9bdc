"""The API's routes, one module per resource: they decode, ask the core, and encode.

Handlers and their dependencies are ``async def`` on purpose: they then run on the event
loop, between two batches the read model folds, never in a thread beside it, so an answer is
computed from one consistent state.
"""
