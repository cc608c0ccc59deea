"""Payment integrity (issue 16, ADR 0033), each attack against the real payment simulator.

Who must NOT be able to: read or refund another department's fee, refund without the finance
role, have a refund announced before the provider accepted it, pay a fee twice through two
attempts, send a GovStack "bill paid" notification as a person or for the wrong amount, crash
reconciliation with an absurd amount. Every expected status below is written by hand.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from civicloom.applications.tables import ApplicationRow, TaskRow, TimelineRow
from civicloom.audit.tables import AuditEntryRow
from civicloom.identity import create_api_key
from civicloom.outbox.tables import OutboxRow
from civicloom.payments.tables import PaymentRow, PaymentWebhookRow, RefundRow
from tests.conftest import as_persona
from tests.integration.payments.conftest import LivePlatform, poll
from tests.integration.payments.test_payments import pay

ALICE = as_persona("alice")
FIONA = as_persona("fiona")  # finance officer, local-admin: the department owning the fee
REFUNDED = "civicloom.payment.refunded"
RECEIVED = "civicloom.payment.received"


async def count(live: LivePlatform, model: type, *where: object) -> int:
    async with live.container.uow() as uow:
        query = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
        return int(await uow.session.scalar(query) or 0)


async def payment_json(client: httpx.AsyncClient, payment_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/payments/{payment_id}", headers=ALICE)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def paid_payment(live: LivePlatform, client: httpx.AsyncClient) -> tuple[str, str]:
    """Alice pays a local-admin fee of 400.00 EUR; returns (application id, payment id)."""
    app_id = await live.application()
    payment_id = await pay(live, client, app_id, "success")

    async def succeeded() -> bool:
        return bool((await payment_json(client, payment_id))["state"] == "succeeded")

    await poll(succeeded)
    return app_id, payment_id


async def sim_refund_calls(live: LivePlatform, client: httpx.AsyncClient) -> int:
    entries = (await client.get(f"{live.sim.url}/_sim/ledger")).json()["entries"]
    return sum(1 for e in entries if e["capability"] == "payments.refund")


# -- 1. scoped to the fee-owning department and the finance role ------------------------------

# Persona → status reading Alice's paid local-admin fee (and its receipt).
READ_EXPECTED = {
    None: 401,
    "alice": 200,  # the payer
    "bob": 404,  # another citizen
    "olivia": 200,  # officer of local-admin (owns the fee)
    "grace": 200,  # supervisor of local-admin
    "fiona": 200,  # finance officer of local-admin
    "sam": 403,  # service owner: not a payments role
    "farah": 404,  # finance officer of labour: another department's fee does not exist for her
    "lars": 404,  # labour officer
    "tariq": 404,  # tax officer
    "elena": 404,  # environment inspector
    "priya": 403,  # operator: runs reconciliation, does not see payments
    "ada": 200,  # auditor: reads everything, refunds nothing
}
# Persona → status refunding 1.00 EUR of it.
REFUND_EXPECTED = {
    None: 401,
    "alice": 403,
    "bob": 403,
    "olivia": 403,  # an officer is not a finance officer
    "grace": 403,
    "sam": 403,
    "farah": 404,  # the right role, the wrong department
    "lars": 403,  # the labour officer who refunded a local-admin fee in full (was 201)
    "tariq": 403,
    "elena": 403,
    "priya": 403,
    "ada": 403,
}


async def test_payments_are_read_by_the_payer_and_the_fee_department_only(
    live: LivePlatform,
) -> None:
    async with live.client() as client:
        _app_id, payment_id = await paid_payment(live, client)
        got = {}
        receipts = {}
        for persona in READ_EXPECTED:
            headers = as_persona(persona) if persona else {}
            got[persona] = (
                await client.get(f"/api/v1/payments/{payment_id}", headers=headers)
            ).status_code
            receipts[persona] = (
                await client.get(f"/api/v1/payments/{payment_id}/receipt", headers=headers)
            ).status_code
    assert got == READ_EXPECTED
    assert receipts == READ_EXPECTED


async def test_only_the_fee_departments_finance_officer_refunds_and_refused_leaves_nothing(
    live: LivePlatform,
) -> None:
    async with live.client() as client:
        app_id, payment_id = await paid_payment(live, client)
        url = f"/api/v1/payments/{payment_id}/refunds"
        got = {}
        for number, persona in enumerate(REFUND_EXPECTED):
            headers = as_persona(persona) if persona else {}
            response = await client.post(
                url,
                json={"amount": "400.00", "reason": "refund attempt"},
                headers={**headers, "Idempotency-Key": f"refund-attack-{number:02d}"},
            )
            got[persona] = response.status_code
        # Refused: no refund row, no event, no timeline entry, no call to the provider.
        assert got == REFUND_EXPECTED
        assert await count(live, RefundRow) == 0
        assert await count(live, OutboxRow, OutboxRow.topic == REFUNDED) == 0
        assert await count(live, TimelineRow, TimelineRow.event == "payment.refunded") == 0
        assert await sim_refund_calls(live, client) == 0
        assert (await payment_json(client, payment_id))["refunded"] == "0.00"

        allowed = await client.post(
            url,
            json={"amount": "400.00", "reason": "licence not needed"},
            headers={**FIONA, "Idempotency-Key": "refund-fiona-01"},
        )
        assert allowed.status_code == 201, allowed.text
        assert allowed.json()["state"] == "accepted"
        assert await sim_refund_calls(live, client) == 1
        assert await count(live, OutboxRow, OutboxRow.topic == REFUNDED) == 1
        assert app_id


async def test_a_machine_client_reads_only_its_own_departments_payments(
    live: LivePlatform,
) -> None:
    own = await create_api_key(
        live.container.uow(),
        live.container.clock,
        name="Local admin finance system",
        department="local-admin",
        scopes=["payments:read"],
    )
    other = await create_api_key(
        live.container.uow(),
        live.container.clock,
        name="Labour finance system",
        department="labour",
        scopes=["payments:read"],
    )
    async with live.client() as client:
        _app_id, payment_id = await paid_payment(live, client)
        url = f"/api/v1/payments/{payment_id}"
        mine = await client.get(url, headers={"Authorization": f"Bearer {own.key}"})
        theirs = await client.get(url, headers={"Authorization": f"Bearer {other.key}"})
        refund = await client.post(
            f"{url}/refunds",
            json={"amount": "1.00", "reason": "no scope"},
            headers={"Authorization": f"Bearer {own.key}", "Idempotency-Key": "refund-key-m1"},
        )
    assert mine.status_code == 200
    assert theirs.status_code == 404
    assert refund.status_code == 403  # no payments:refund scope
    assert await count(live, RefundRow) == 0


# -- 2. refunds only after the provider accepted them ------------------------------------------


async def test_a_refund_is_announced_only_once_the_provider_accepts_it(live: LivePlatform) -> None:
    async with live.client() as client:
        app_id, payment_id = await paid_payment(live, client)
        url = f"/api/v1/payments/{payment_id}/refunds"
        body = {"amount": "100.00", "reason": "overcharged"}
        headers = {**FIONA, "Idempotency-Key": "refund-down-01"}

        live.sim.set_faults(down=True)
        unavailable = await client.post(url, json=body, headers=headers)
        assert unavailable.status_code == 503
        async with live.container.uow() as uow:
            row = await uow.session.scalar(select(RefundRow))
        assert row is not None
        assert row.state == "pending"
        # Not announced: no event, no timeline entry, nothing on the receipt.
        assert await count(live, OutboxRow, OutboxRow.topic == REFUNDED) == 0
        assert await count(live, TimelineRow, TimelineRow.event == "payment.refunded") == 0
        receipt = await client.get(f"/api/v1/payments/{payment_id}/receipt", headers=ALICE)
        assert "-100.00 EUR" not in receipt.text
        # The pending amount is reserved: 300.01 more would exceed what was paid.
        too_much = await client.post(
            url,
            json={"amount": "300.01", "reason": "overcharged"},
            headers={**FIONA, "Idempotency-Key": "refund-down-02"},
        )
        assert too_much.status_code == 422
        assert too_much.json()["errors"][0]["rule"] == "maximum"

        live.sim.set_faults(down=False)
        retried = await client.post(url, json=body, headers=headers)
        again = await client.post(url, json=body, headers=headers)
        receipt = await client.get(f"/api/v1/payments/{payment_id}/receipt", headers=ALICE)
        reference = (await payment_json(client, payment_id))["provider_reference"]
        intent = (await client.get(f"{live.sim.url}/v1/intents/{reference}")).json()
    assert retried.status_code == 200  # the same refund, now accepted
    assert retried.json()["id"] == row.id
    assert retried.json()["state"] == "accepted"
    assert again.status_code == 200
    assert again.json()["id"] == row.id
    assert intent["refunded_minor"] == 10000  # asked twice, refunded once
    assert await count(live, OutboxRow, OutboxRow.topic == REFUNDED) == 1
    refunded = TimelineRow.event == "payment.refunded"
    assert await count(live, TimelineRow, TimelineRow.application_id == app_id, refunded) == 1
    assert "-100.00 EUR" in receipt.text


async def test_a_refund_the_provider_refuses_is_failed_released_and_never_announced(
    live: LivePlatform,
) -> None:
    async with live.client() as client:
        _app_id, payment_id = await paid_payment(live, client)
        reference = (await payment_json(client, payment_id))["provider_reference"]
        # The money already went back outside the platform: the provider refuses another refund.
        outside = await client.post(
            f"{live.sim.url}/v1/refunds",
            json={"intent_id": reference, "amount_minor": 40000},
            headers={"Idempotency-Key": "refund-outside-01"},
        )
        assert outside.status_code == 201
        refused = await client.post(
            f"/api/v1/payments/{payment_id}/refunds",
            json={"amount": "100.00", "reason": "overcharged"},
            headers={**FIONA, "Idempotency-Key": "refund-refused-01"},
        )
        payment = await payment_json(client, payment_id)
    assert refused.status_code == 422
    error = refused.json()["errors"][0]
    assert (error["field"], error["rule"]) == ("amount", "provider")
    async with live.container.uow() as uow:
        states = list(await uow.session.scalars(select(RefundRow.state)))
    assert states == ["failed"]
    assert payment["refunded"] == "0.00"  # the reservation was released
    assert await count(live, OutboxRow, OutboxRow.topic == REFUNDED) == 0
    assert await count(live, TimelineRow, TimelineRow.event == "payment.refunded") == 0
    failed = AuditEntryRow.action == "payment.refund_failed"
    assert await count(live, AuditEntryRow, failed) == 1


# -- 4. one open intent per fee: no double charge ----------------------------------------------


async def test_a_new_attempt_supersedes_the_open_one_and_a_late_success_never_pays_twice(
    live: LivePlatform,
) -> None:
    app_id = await live.application()
    async with live.client() as client:
        url = f"/api/v1/applications/{app_id}/payments"
        first = await client.post(
            url,
            json={"return_url": "/applications/done"},
            headers={**ALICE, "Idempotency-Key": "attempt-key-A"},
        )
        second = await client.post(
            url,
            json={"return_url": "/applications/done"},
            headers={**ALICE, "Idempotency-Key": "attempt-key-B"},
        )
        assert (first.status_code, second.status_code) == (201, 201)
        old, new = first.json(), second.json()
        assert (await payment_json(client, old["id"]))["state"] == "superseded"
        assert (await payment_json(client, old["id"]))["next_url"] is None
        # The payer still had the old hosted page open and pays there first, then on the new.
        for intent in (old["provider_reference"], new["provider_reference"]):
            chosen = await client.post(
                f"{live.sim.url}/pay/{intent}", data={"outcome": "success"}, follow_redirects=False
            )
            assert chosen.status_code == 303

        async def both_delivered() -> bool:
            return await count(live, PaymentWebhookRow) == 2

        await poll(both_delivered)

        async def approved() -> bool:
            status = (await client.get(f"/api/v1/applications/{app_id}", headers=ALICE)).json()
            return bool(status["state"] == "approved")

        await poll(approved)
        old_after = await payment_json(client, old["id"])
        new_after = await payment_json(client, new["id"])
        # The late payment of the replaced attempt is recorded for finance to refund.
        refund_late = await client.post(
            f"/api/v1/payments/{old['id']}/refunds",
            json={"amount": "400.00", "reason": "paid a replaced attempt"},
            headers={**FIONA, "Idempotency-Key": "refund-late-01"},
        )
        # Both were settled by the provider, and both are accounted for.
        settlement = (await client.get(f"{live.sim.url}/v1/settlements.csv")).text
        run = await client.post(
            "/api/v1/payments/reconciliations",
            content=settlement,
            headers={**as_persona("priya"), "Content-Type": "text/csv"},
        )
    assert old_after["state"] == "superseded"
    assert new_after["state"] == "succeeded"
    assert await count(live, PaymentRow, PaymentRow.state == "succeeded") == 1
    received = TimelineRow.event == "payment.received"
    assert await count(live, TimelineRow, TimelineRow.application_id == app_id, received) == 1
    assert await count(live, OutboxRow, OutboxRow.topic == RECEIVED) == 1
    done = TaskRow.state == "completed"
    assert await count(live, TaskRow, TaskRow.application_id == app_id, done) == 1
    late = AuditEntryRow.action == "payment.superseded_paid"
    assert await count(live, AuditEntryRow, late) == 1
    superseded = AuditEntryRow.action == "payment.intent_superseded"
    assert await count(live, AuditEntryRow, superseded) == 1
    assert refund_late.status_code == 201, refund_late.text
    report = run.json()
    assert (report["matched"], report["unmatched"], report["missing"]) == (2, 0, 0)


async def test_a_fee_paid_after_the_application_was_withdrawn_is_recorded_for_refund(
    live: LivePlatform,
) -> None:
    """Alice opens the hosted payment page, withdraws, then pays there: the money was taken,
    but it never pays the fee of a closed case (no "received", no completion): finance refunds."""
    app_id = await live.application()
    async with live.client() as client:
        started = await client.post(
            f"/api/v1/applications/{app_id}/payments",
            json={"return_url": "/applications/done"},
            headers={**ALICE, "Idempotency-Key": "pay-then-withdraw"},
        )
        assert started.status_code == 201, started.text
        intent = started.json()
        withdrawn = await client.post(f"/api/v1/applications/{app_id}/withdrawal", headers=ALICE)
        assert withdrawn.status_code in (200, 204), withdrawn.text
        chosen = await client.post(
            f"{live.sim.url}/pay/{intent['provider_reference']}",
            data={"outcome": "success"},
            follow_redirects=False,
        )
        assert chosen.status_code == 303

        async def delivered() -> bool:
            return await count(live, PaymentWebhookRow) == 1

        await poll(delivered)
        after = await payment_json(client, intent["id"])
        status = (await client.get(f"/api/v1/applications/{app_id}", headers=ALICE)).json()
        refund = await client.post(
            f"/api/v1/payments/{intent['id']}/refunds",
            json={"amount": "400.00", "reason": "paid after withdrawing"},
            headers={**FIONA, "Idempotency-Key": "refund-after-withdraw"},
        )
    assert status["state"] == "withdrawn"
    assert after["state"] == "superseded"
    assert after["paid_at"] is not None
    assert await count(live, PaymentRow, PaymentRow.state == "succeeded") == 0
    received = TimelineRow.event == "payment.received"
    assert await count(live, TimelineRow, TimelineRow.application_id == app_id, received) == 0
    assert await count(live, OutboxRow, OutboxRow.topic == RECEIVED) == 0
    late = AuditEntryRow.action == "payment.superseded_paid"
    assert await count(live, AuditEntryRow, late) == 1
    assert refund.status_code == 201, refund.text


async def test_a_paid_fee_cannot_be_paid_again(live: LivePlatform) -> None:
    async with live.client() as client:
        app_id, _payment_id = await paid_payment(live, client)
        again = await client.post(
            f"/api/v1/applications/{app_id}/payments",
            json={"return_url": "/applications/done"},
            headers={**ALICE, "Idempotency-Key": "attempt-after-paid"},
        )
    assert again.status_code == 409
    assert await count(live, PaymentRow) == 1


# -- 3. GovStack P2G: machines with the scope, the amount and the bill checked ----------------


async def reference_of(live: LivePlatform, app_id: str) -> str:
    async with live.container.uow() as uow:
        ref = await uow.session.scalar(
            select(ApplicationRow.reference).where(ApplicationRow.id == app_id)
        )
    assert ref is not None
    return str(ref)


def transfer(
    bill: str, reference: str, amount: int = 40000, currency: str = "EUR"
) -> dict[str, Any]:
    return {
        "requestId": "req-1",
        "billInquiryRequestId": "inq-1",
        "billId": bill,
        "paymentReferenceID": reference,
        "paidAmount": amount,
        "currency": currency,
    }


async def test_p2g_scope_with_a_digit_can_be_issued(live: LivePlatform) -> None:
    issued = await create_api_key(
        live.container.uow(),
        live.container.clock,
        name="Riverton Bank",
        department="local-admin",
        scopes=["payments:p2g"],
    )
    assert issued.client.scopes == ("payments:p2g",)


async def test_p2g_notifications_come_only_from_machines_for_the_amount_due(
    live: LivePlatform,
) -> None:
    bank = await create_api_key(
        live.container.uow(),
        live.container.clock,
        name="Riverton Bank",
        department="local-admin",
        scopes=["payments:p2g"],
    )
    unscoped = await create_api_key(
        live.container.uow(),
        live.container.clock,
        name="Reader",
        department="local-admin",
        scopes=["payments:read"],
    )
    bank_headers = {"apiKey": bank.key}
    app_id = await live.application()
    bill = await reference_of(live, app_id)
    async with live.client() as client:

        async def notify(body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
            return await client.post("/billTransferRequests", json=body, headers=headers)

        # People, even the operator, are refused (FAKE-1 approved an application before).
        people = {
            persona: (await notify(transfer(bill, "FAKE-1"), as_persona(persona))).status_code
            for persona in ("priya", "fiona", "olivia", "alice", "ada")
        }
        no_scope = await notify(
            transfer(bill, "FAKE-2"), {"Authorization": f"Bearer {unscoped.key}"}
        )
        anonymous = await notify(transfer(bill, "FAKE-3"), {})
        wrong_amount = await notify(transfer(bill, "BANK-0001", amount=100), bank_headers)
        wrong_currency = await notify(transfer(bill, "BANK-0002", currency="USD"), bank_headers)
        unknown_bill = await notify(transfer("PAY-NOPE-0000", "BANK-0003"), bank_headers)
        # Refused: nothing was paid, nothing announced, the step still waits.
        assert await count(live, PaymentRow) == 0
        assert await count(live, OutboxRow, OutboxRow.topic == RECEIVED) == 0
        waiting = TaskRow.state == "awaiting_external"
        assert await count(live, TaskRow, TaskRow.application_id == app_id, waiting) == 1

        inquiry_human = await client.get(f"/bills/{bill}", headers=as_persona("priya"))
        inquiry = await client.get(f"/bills/{bill}", headers=bank_headers)
        assert inquiry_human.status_code == 403
        assert inquiry.json()["billDetails"]["amountonDueDate"] == 40000
        assert inquiry.json()["billDetails"]["billStatus"] == "UNPAID"
        paid = await notify(transfer(bill, "BANK-0004"), bank_headers)
        replay = await notify(transfer(bill, "BANK-0004"), bank_headers)
        second = await notify(transfer(bill, "BANK-0005"), bank_headers)
        reused = await notify(transfer(bill, "BANK-0004", amount=39999), bank_headers)
        status = (await client.get(f"/api/v1/applications/{app_id}", headers=ALICE)).json()
    assert people == {"priya": 403, "fiona": 403, "olivia": 403, "alice": 403, "ada": 403}
    assert no_scope.status_code == 403
    assert anonymous.status_code == 401
    assert (wrong_amount.status_code, wrong_amount.json()["responseCode"]) == (400, "01")
    assert wrong_currency.status_code == 400
    assert unknown_bill.status_code == 400
    assert (paid.status_code, paid.json()["reason"]) == (202, "payment recorded")
    assert (replay.status_code, replay.json()["reason"]) == (202, "payment already recorded")
    assert second.status_code == 409  # a second payment of a paid bill
    assert reused.status_code == 409  # the same reference for another amount
    assert status["state"] == "approved"
    assert await count(live, PaymentRow) == 1
    assert await count(live, PaymentRow, PaymentRow.department == "local-admin") == 1
    assert await count(live, OutboxRow, OutboxRow.topic == RECEIVED) == 1
    p2g = AuditEntryRow.action == "payment.p2g_notification"
    # wrong amount, wrong currency, unknown bill, paid, replay, second, reused: all audited.
    assert await count(live, AuditEntryRow, p2g) == 7
    refused = await _p2g_outcomes(live)
    assert refused == [
        "refused",
        "refused",
        "refused",
        "recorded",
        "duplicate",
        "refused",
        "refused",
    ]


async def _p2g_outcomes(live: LivePlatform) -> list[str]:
    async with live.container.uow() as uow:
        rows = await uow.session.scalars(
            select(AuditEntryRow.details)
            .where(AuditEntryRow.action == "payment.p2g_notification")
            .order_by(AuditEntryRow.seq)
        )
        return [str(d["outcome"]) for d in rows]


async def test_p2g_supersedes_an_open_portal_intent(live: LivePlatform) -> None:
    bank = await create_api_key(
        live.container.uow(),
        live.container.clock,
        name="Riverton Bank",
        department="local-admin",
        scopes=["payments:p2g"],
    )
    app_id = await live.application()
    bill = await reference_of(live, app_id)
    async with live.client() as client:
        started = await client.post(
            f"/api/v1/applications/{app_id}/payments",
            json={"return_url": "/applications/done"},
            headers={**ALICE, "Idempotency-Key": "attempt-before-bank"},
        )
        paid = await client.post(
            "/billTransferRequests",
            json=transfer(bill, "BANK-0100"),
            headers={"Authorization": f"Bearer {bank.key}"},
        )
        open_one = await payment_json(client, started.json()["id"])
    assert paid.status_code == 202
    assert open_one["state"] == "superseded"
    assert await count(live, PaymentRow, PaymentRow.state == "succeeded") == 1


# -- 6. reconciliation: an absurd amount is a clear 422, not a 500 ------------------------------


async def test_reconciliation_names_the_line_of_an_absurd_amount(live: LivePlatform) -> None:
    csv = (
        "provider_reference,amount,currency,settled_at\n"
        "pi_a,400.00,EUR,2026-01-01T00:00:00Z\n"
        "pi_b,1e30,EUR,2026-01-01T00:00:00Z\n"
        "pi_c,99999999999999999999,EUR,2026-01-01T00:00:00Z\n"
    )
    async with live.client() as client:
        run = await client.post(
            "/api/v1/payments/reconciliations",
            content=csv,
            headers={**as_persona("priya"), "Content-Type": "text/csv"},
        )
    assert run.status_code == 422
    assert run.headers["content-type"].startswith("application/problem+json")
    assert [(e["field"], e["rule"]) for e in run.json()["errors"]] == [
        ("file:3", "amount"),
        ("file:4", "amount"),
    ]
    assert "line 3" in run.json()["errors"][0]["message"]


async def test_two_attempts_at_once_leave_at_most_one_open_intent(live: LivePlatform) -> None:
    app_id = await live.application()
    async with live.client() as client:

        async def attempt(key: str) -> httpx.Response:
            return await client.post(
                f"/api/v1/applications/{app_id}/payments",
                json={"return_url": "/applications/done"},
                headers={**ALICE, "Idempotency-Key": key},
            )

        answers = await asyncio.gather(*(attempt(f"race-key-{n:02d}") for n in range(4)))
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}, [a.text for a in answers]
    assert 201 in statuses
    assert await count(live, PaymentRow, PaymentRow.state == "pending") == 1


async def test_the_database_refuses_a_second_open_intent_of_a_fee(live: LivePlatform) -> None:
    app_id = await live.application()
    async with live.client() as client:
        started = await client.post(
            f"/api/v1/applications/{app_id}/payments",
            json={"return_url": "/applications/done"},
            headers={**ALICE, "Idempotency-Key": "db-guard-key"},
        )
    assert started.status_code == 201
    async with live.container.uow() as uow:
        original = await uow.session.get(PaymentRow, started.json()["id"])
        assert original is not None
        twin = PaymentRow(
            id="twin-payment",
            application_id=original.application_id,
            payment_key=original.payment_key,
            department=original.department,
            payer_id="alice",
            idempotency_key="db-guard-twin",
            request_hash="",
            provider="sandbox",
            amount_minor=original.amount_minor,
            currency=original.currency,
            refunded_minor=0,
            state="pending",
            created_at=original.created_at,
            updated_at=original.updated_at,
        )
        uow.session.add(twin)
        with pytest.raises(IntegrityError):
            await uow.session.flush()


async def test_two_bank_notifications_at_once_pay_the_bill_once(live: LivePlatform) -> None:
    bank = await create_api_key(
        live.container.uow(),
        live.container.clock,
        name="Riverton Bank",
        department="local-admin",
        scopes=["payments:p2g"],
    )
    app_id = await live.application()
    bill = await reference_of(live, app_id)
    async with live.client() as client:
        answers = await asyncio.gather(
            *(
                client.post(
                    "/billTransferRequests",
                    json=transfer(bill, f"BANK-RACE-{n}"),
                    headers={"apiKey": bank.key},
                )
                for n in range(3)
            )
        )
    assert sorted(a.status_code for a in answers) == [202, 409, 409], [a.text for a in answers]
    assert await count(live, PaymentRow) == 1
    assert await count(live, OutboxRow, OutboxRow.topic == RECEIVED) == 1
