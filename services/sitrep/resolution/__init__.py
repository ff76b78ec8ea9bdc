"""Resolving names as written to canonical places and actors. Pure: no I/O."""
