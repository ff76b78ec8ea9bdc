"""Benchmarks: run with ``make bench`` (``python -m bench.processors``), never asserted by tests.

Numbers go to BENCHMARKS.md with the command that measured them and what limits them.
"""
