"""Words for counts in messages."""

from __future__ import annotations


def plural(n: int, noun: str) -> str:
    """'1 row', '1,000,000 rows'."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")
