"""Splitting long ``IN (...)`` lists so a statement stays under the drivers' parameter limits."""

from __future__ import annotations

from collections.abc import Collection, Iterator

IN_BATCH = 1000


def id_batches(ids: Collection[str], size: int = IN_BATCH) -> Iterator[list[str]]:
    """The ids sorted and cut into lists of at most ``size`` (none for no ids): one statement
    per batch, so a query by ids costs one statement up to ``size`` ids."""
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]
