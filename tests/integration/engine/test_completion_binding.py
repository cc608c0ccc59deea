"""Answers are bound to the task, its sender and its step kind (ADR 0032, issue 16).

On the old main any department could finish any step by naming its key (``<app>:<step>``), the
fee payment included. Each test here names who must not be able to answer, sends a real answer
to a real waiting case, and checks that nothing but the audited refusal happened.
"""

from __future__ import annotations

import pytest

from civicloom.applications import complete_external_step
from civicloom.departments import ExternalCompletion
from civicloom.runtime import Container
from tests.integration.engine.binding import (
    AcceptEverything,
    binding_blueprint,
    keys_of,
    refusals,
    snapshot,
)
from tests.integration.engine.conftest import Engine

SCREENED = {"screening_id": "SCR-9", "outcome": "cleared", "reasons": []}
ZONED = {"zone": "commercial", "allowed": True}
PAID = {"payment_id": "pay-1", "amount": "300.00", "currency": "EUR"}


@pytest.fixture
async def case(engine: Engine) -> tuple[Engine, str]:
    """A binding-test application with screening, zoning and payment waiting for answers."""
    engine.runner.gateway = AcceptEverything()
    await engine.publish(binding_blueprint())
    app_id = await engine.submit(service="binding-test")
    await engine.drain()
    before = await snapshot(engine.container, app_id)
    assert {k: v[0] for k, v in before.tasks.items()} == {
        "screening": "awaiting_external",
        "zoning": "awaiting_external",
        "payment": "awaiting_external",
        "review": "awaiting_officer",
    }
    return engine, app_id


async def _refused(
    container: Container, app_id: str, completion: ExternalCompletion, reason: str
) -> None:
    """The answer is refused for ``reason``, audited once, and changes nothing else."""
    before = await snapshot(container, app_id)
    verdict = await complete_external_step(container, completion)
    assert not verdict
    assert verdict.refusal is not None
    assert verdict.refusal.value == reason
    after = await snapshot(container, app_id)
    assert after.app == before.app
    assert after.tasks == before.tasks
    assert (after.timeline, after.outbox, after.audit_other) == (
        before.timeline,
        before.outbox,
        before.audit_other,
    )
    assert after.refusals == before.refusals + 1
    actor, subject, details = (await refusals(container))[-1]
    assert (actor, subject) == (
        f"system:completion-from:{completion.received_from}",
        completion.received_from,
    )
    assert details["sender"] == completion.received_from
    assert details["reason"] == reason
    assert details["key"] == completion.idempotency_key


async def test_keys_are_unguessable_and_differ_per_task(case: tuple[Engine, str]) -> None:
    engine, app_id = case
    keys = await keys_of(engine.container, app_id)
    assert len(set(keys.values())) == 4
    for step, key in keys.items():
        assert key != f"{app_id}:{step}"
        assert app_id not in key
        assert step not in key
        assert len(key) >= 32
    other = await engine.submit(service="binding-test")
    assert set((await keys_of(engine.container, other)).values()).isdisjoint(keys.values())
    # what the departments were sent is the stored key, nothing derived from the case
    gateway = engine.runner.gateway
    assert isinstance(gateway, AcceptEverything)
    sent = {c.capability: c.idempotency_key for c in gateway.calls}
    assert sent["environment.screening"] == keys["screening"]
    assert sent["local-admin.zoning_check"] == keys["zoning"]


async def test_a_department_cannot_answer_another_departments_step(
    case: tuple[Engine, str],
) -> None:
    engine, app_id = case
    keys = await keys_of(engine.container, app_id)
    forged = ExternalCompletion(keys["zoning"], ZONED, "environment")
    await _refused(engine.container, app_id, forged, "wrong-department")


async def test_no_department_can_answer_the_fee_payment(case: tuple[Engine, str]) -> None:
    engine, app_id = case
    key = (await keys_of(engine.container, app_id))["payment"]
    await _refused(
        engine.container, app_id, ExternalCompletion(key, PAID, "environment"), "wrong-department"
    )
    # not even the fee-owning department: only the payments module confirms a payment
    await _refused(
        engine.container, app_id, ExternalCompletion(key, PAID, "local-admin"), "wrong-step-kind"
    )
    await _refused(
        engine.container, app_id, ExternalCompletion(key, PAID, "tax"), "wrong-department"
    )


async def test_payments_cannot_answer_a_department_step(case: tuple[Engine, str]) -> None:
    engine, app_id = case
    keys = await keys_of(engine.container, app_id)
    await _refused(
        engine.container,
        app_id,
        ExternalCompletion(keys["screening"], SCREENED, "payments"),
        "wrong-step-kind",
    )
    await _refused(
        engine.container,
        app_id,
        ExternalCompletion(keys["review"], {}, "payments"),
        "wrong-step-kind",
    )


async def test_an_officer_task_is_not_answered_by_a_machine(case: tuple[Engine, str]) -> None:
    engine, app_id = case
    key = (await keys_of(engine.container, app_id))["review"]
    await _refused(
        engine.container,
        app_id,
        ExternalCompletion(key, {"decision": "approve"}, "local-admin"),
        "wrong-step-kind",
    )


async def test_an_answer_for_another_capability_is_refused(case: tuple[Engine, str]) -> None:
    engine, app_id = case
    key = (await keys_of(engine.container, app_id))["zoning"]
    wrong = ExternalCompletion(
        key, ZONED, "local-admin", capability="local-admin.register_activity"
    )
    await _refused(engine.container, app_id, wrong, "wrong-capability")


async def test_an_unknown_key_is_refused(case: tuple[Engine, str]) -> None:
    engine, app_id = case
    guessed = ExternalCompletion(f"{app_id}:payment", PAID, "payments")
    await _refused(engine.container, app_id, guessed, "unknown-task")


async def test_the_right_sender_completes_once_then_is_refused(case: tuple[Engine, str]) -> None:
    engine, app_id = case
    keys = await keys_of(engine.container, app_id)
    right = ExternalCompletion(keys["screening"], SCREENED, "environment", "environment.screening")
    verdict = await complete_external_step(engine.container, right)
    assert verdict
    assert verdict.refusal is None
    after = await snapshot(engine.container, app_id)
    assert after.tasks["screening"][:2] == ("completed", SCREENED)
    assert after.refusals == 0
    await _refused(engine.container, app_id, right, "not-waiting")
    paid = await complete_external_step(
        engine.container, ExternalCompletion(keys["payment"], PAID, "payments")
    )
    assert paid.accepted
    assert (await snapshot(engine.container, app_id)).tasks["payment"][0] == "completed"


async def test_no_answer_is_taken_once_the_case_is_decided(case: tuple[Engine, str]) -> None:
    engine, app_id = case
    keys = await keys_of(engine.container, app_id)
    refusal = ExternalCompletion(
        keys["zoning"], {"zone": "residential", "allowed": False}, "local-admin"
    )
    assert (await complete_external_step(engine.container, refusal)).accepted
    assert (await snapshot(engine.container, app_id)).app[0] == "rejected"
    late = ExternalCompletion(keys["screening"], SCREENED, "environment")
    await _refused(engine.container, app_id, late, "case-closed")
    await _refused(
        engine.container,
        app_id,
        ExternalCompletion(keys["payment"], PAID, "payments"),
        "case-closed",
    )
