"""What one poll of the worker costs the database (issue 18's benchmark regression).

Per-call leases added a separate transaction to every poll to look for timed-out waits; on
PostgreSQL that cost the engine benchmark about a tenth of its steps/s. The read now shares
the claim's transaction: a poll is one transaction, whatever it finds. Counted, not timed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from civicloom.runtime import Container
from tests.integration.engine.conftest import Engine
from tests.integration.engine.conftest import engine as engine
from tests.querycount import counting


@contextmanager
def transactions(container: Container) -> Iterator[list[str]]:
    """Collect one entry per transaction the block begins."""
    begun: list[str] = []

    def record(*_: object) -> None:
        begun.append("begin")

    sync_engine = container.database.engine.sync_engine
    event.listen(sync_engine, "begin", record)
    try:
        yield begun
    finally:
        event.remove(sync_engine, "begin", record)


async def test_an_idle_poll_is_one_transaction_of_two_reads(engine: Engine) -> None:
    with transactions(engine.container) as begun, counting(engine.container) as statements:
        assert await engine.runner.run_once("test-worker") == 0
    assert len(begun) == 1
    assert [re.search(r"\sFROM\s+(\w+)", s).group(1) for s in statements] == [  # type: ignore[union-attr]
        "application_tasks",  # waits whose time is up
        "application_tasks",  # steps due (claimed)
    ]


async def test_a_poll_that_runs_four_steps_records_them_in_one_more_transaction(
    engine: Engine,
) -> None:
    await engine.submit()
    with transactions(engine.container) as begun:
        assert await engine.runner.run_once("test-worker") == 4
    assert len(begun) == 2  # claim (with the waits' read), then the four results together
