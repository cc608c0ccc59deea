"""A batch answer that arrives while its step is between a timed-out wait and the call again is
not forgotten (found by the chaos suite, issue 18, ADR 0045).

On the old main the collector remembered every key it had handed over, taken or not. A response
file arriving after the wait had timed out (the step `ready` for its next call, so the engine
refused the answer as `not-waiting`) put the key in the seen-set: the department's answer to the
call made again — the same stored answer under the same key, in a new file — was skipped as
already seen, so the step timed out and called again until it was dead-lettered.
"""

from __future__ import annotations

from civicloom.connectors import collect_batch_answers
from civicloom.departments import CompletionRefusal, CompletionVerdict
from tests.integration.connectors.test_batch_exactly_once import (
    answer,
    cases,
    exchange,
    handler_of,
    seen_keys,
    zoning_state,
)
from tests.integration.engine.binding import keys_of
from tests.integration.engine.conftest import Engine, later
from tests.integration.engine.conftest import engine as engine

__all__ = ["cases", "engine"]

HOURS_49 = 49 * 3600  # past the default 48 h wait


async def test_an_answer_refused_between_a_timeout_and_the_next_call_is_taken_later(
    cases: tuple[Engine, list[str]],
) -> None:
    engine, apps = cases
    container = engine.container
    key = (await keys_of(container, apps[0]))["zoning"]
    later(engine, HOURS_49)
    # No answer to any of the three cases' zoning and screening calls: each calls again.
    assert await engine.runner.expire_waits() == 6
    assert await zoning_state(engine, apps[0]) == "ready"

    # The department's late answer to the first call arrives now.
    verdicts: list[CompletionVerdict] = []
    handle = handler_of(engine, verdicts)
    batch = exchange(engine)
    answer(batch, "RSP_late.csv", [key])
    assert await collect_batch_answers(container.uow, container.clock, batch, handle) == 1
    assert [(v.refusal, v.waits_again) for v in verdicts] == [(CompletionRefusal.NOT_WAITING, True)]
    assert await seen_keys(engine, apps) == []  # not taken: not remembered
    assert list(batch.outbound.iterdir()) == []  # the file itself is done with

    # The step calls again (same key); the department answers again from its ledger.
    later(engine, 60)  # past the retry back-off
    await engine.drain()
    assert await zoning_state(engine, apps[0]) == "awaiting_external"
    answer(batch, "RSP_again.csv", [key])
    assert await collect_batch_answers(container.uow, container.clock, batch, handle) == 1
    assert verdicts[-1].accepted
    assert await zoning_state(engine, apps[0]) == "completed"
    assert await seen_keys(engine, apps) == [key]
