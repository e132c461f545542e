"""Command line entry point (filled in by the CLI work)."""

from __future__ import annotations


def main() -> int:
    return 0
