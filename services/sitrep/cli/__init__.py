"""The `sitrep` command: the one entry point for people."""
