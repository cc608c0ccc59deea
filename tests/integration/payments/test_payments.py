"""Payments end to end: the real payment simulator, its hosted page and signed webhooks."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from civicloom.applications.tables import TaskRow, TimelineRow
from civicloom.outbox.tables import OutboxRow
from civicloom.payments.tables import PaymentWebhookRow
from civicloom.rules.tables import RuleEvaluationRow
from tests.conftest import as_persona
from tests.integration.payments.conftest import LivePlatform, poll

ALICE = as_persona("alice")
FIONA = as_persona("fiona")  # finance officer, local-admin (the fee owner)
PRIYA = as_persona("priya")


async def pay(live: LivePlatform, client: httpx.AsyncClient, app_id: str, outcome: str) -> str:
    """Start a payment and choose ``outcome`` on the hosted page; returns the payment id."""
    started = await client.post(
        f"/api/v1/applications/{app_id}/payments",
        json={"return_url": "/applications/done"},
        headers={**ALICE, "Idempotency-Key": f"pay-{app_id}-{outcome}"},
    )
    assert started.status_code == 201, started.text
    payment = started.json()
    page = await client.get(payment["next_url"])
    assert page.status_code == 200
    assert "Sandbox payment" in page.text
    intent = payment["provider_reference"]
    chosen = await client.post(
        f"{live.sim.url}/pay/{intent}", data={"outcome": outcome}, follow_redirects=False
    )
    assert chosen.status_code == 303
    # The provider is another host: it sends the payer back to the platform's own address.
    assert chosen.headers["location"].startswith(f"{live.url}/applications/done?payment=")
    return str(payment["id"])


async def state_of(client: httpx.AsyncClient, payment_id: str) -> str:
    response = await client.get(f"/api/v1/payments/{payment_id}", headers=ALICE)
    return str(response.json()["state"])


async def count(live: LivePlatform, model: type, *where: object) -> int:
    async with live.container.uow() as uow:
        query = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
        return int(await uow.session.scalar(query) or 0)


async def test_intent_idempotency_key_reuse_with_another_body_is_refused(
    live: LivePlatform,
) -> None:
    app_id = await live.application()
    async with live.client() as client:
        url = f"/api/v1/applications/{app_id}/payments"
        headers = {**ALICE, "Idempotency-Key": "intent-key-0001"}
        first = await client.post(url, json={"return_url": "/a"}, headers=headers)
        again = await client.post(url, json={"return_url": "/a"}, headers=headers)
        other = await client.post(url, json={"return_url": "/b"}, headers=headers)
        missing = await client.post(url, json={"return_url": "/a"}, headers=ALICE)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["amount"] == "400.00"
    assert first.json()["currency"] == "EUR"
    assert other.status_code == 422
    assert other.json()["errors"][0]["rule"] == "reused"
    assert missing.status_code == 422
    # The fee came from the department's decision model, whose trace is kept.
    evaluation_id = first.json()["fee_evaluation_id"]
    assert await count(live, RuleEvaluationRow, RuleEvaluationRow.id == evaluation_id) == 1


async def test_paid_once_even_when_the_webhook_is_delivered_twice(live: LivePlatform) -> None:
    app_id = await live.application()
    async with live.client() as client:
        payment_id = await pay(live, client, app_id, "success")
        await poll(lambda: _is(client, payment_id, "succeeded"))
        intent = (await client.get(f"/api/v1/payments/{payment_id}", headers=ALICE)).json()[
            "provider_reference"
        ]
        redeliver = await client.post(f"{live.sim.url}/_sim/intents/{intent}/redeliver")
        assert redeliver.status_code == 200

        async def delivered_twice() -> bool:
            got = await client.get(f"{live.sim.url}/_sim/intents/{intent}/deliveries")
            return bool(got.json()["delivered"] == 2)

        await poll(delivered_twice)
        status = (await client.get(f"/api/v1/applications/{app_id}", headers=ALICE)).json()
    assert status["state"] == "approved"
    assert await count(live, PaymentWebhookRow) == 1
    received = TimelineRow.event == "payment.received"
    assert await count(live, TimelineRow, TimelineRow.application_id == app_id, received) == 1
    assert await count(live, OutboxRow, OutboxRow.topic == "civicloom.payment.received") == 1
    done = TaskRow.state == "completed"
    assert await count(live, TaskRow, TaskRow.application_id == app_id, done) == 1


async def _is(client: httpx.AsyncClient, payment_id: str, state: str) -> bool:
    return await state_of(client, payment_id) == state


async def test_a_forged_webhook_changes_nothing(live: LivePlatform) -> None:
    async with live.client() as client:
        forged = await client.post(
            "/api/v1/payments/webhooks/sandbox",
            content=b'{"id":"evt_x","type":"payment.succeeded","data":{}}',
            headers={"X-Sandbox-Timestamp": "1", "X-Sandbox-Signature": "sha256=00"},
        )
    assert forged.status_code == 400
    assert await count(live, PaymentWebhookRow) == 0


async def test_declined_then_paid_with_a_new_attempt(live: LivePlatform) -> None:
    app_id = await live.application()
    async with live.client() as client:
        declined = await pay(live, client, app_id, "decline")
        await poll(lambda: _is(client, declined, "declined"))
        paid = await pay(live, client, app_id, "success")
        await poll(lambda: _is(client, paid, "succeeded"))
        receipt = await client.get(f"/api/v1/payments/{paid}/receipt", headers=ALICE)
        no_receipt = await client.get(f"/api/v1/payments/{declined}/receipt", headers=ALICE)
    assert receipt.status_code == 200
    assert "400.00 EUR" in receipt.text
    assert no_receipt.status_code == 404


async def test_refunds_never_exceed_what_was_paid(live: LivePlatform) -> None:
    app_id = await live.application()
    async with live.client() as client:
        payment_id = await pay(live, client, app_id, "success")
        await poll(lambda: _is(client, payment_id, "succeeded"))
        url = f"/api/v1/payments/{payment_id}/refunds"

        async def refund(amount: str, key: str, who: dict[str, str] = FIONA) -> httpx.Response:
            return await client.post(
                url,
                json={"amount": amount, "reason": "overcharged"},
                headers={**who, "Idempotency-Key": key},
            )

        too_much = await refund("400.01", "refund-key-01")
        part = await refund("100.00", "refund-key-02")
        replay = await refund("100.00", "refund-key-02")
        rest = await refund("300.00", "refund-key-03")
        after_full = await refund("0.01", "refund-key-04")
        by_citizen = await refund("1.00", "refund-key-05", ALICE)
        payment = (await client.get(f"/api/v1/payments/{payment_id}", headers=ALICE)).json()
        intent = (
            await client.get(f"{live.sim.url}/v1/intents/{payment['provider_reference']}")
        ).json()
    assert too_much.status_code == 422
    assert too_much.json()["errors"][0]["field"] == "amount"
    assert too_much.json()["errors"][0]["rule"] == "maximum"
    assert part.status_code == 201
    assert replay.status_code == 200
    assert replay.json()["id"] == part.json()["id"]
    assert rest.status_code == 201
    assert after_full.status_code == 422
    assert by_citizen.status_code == 403
    assert payment["refunded"] == "400.00"
    assert intent["refunded_minor"] == 40000  # the provider refunded exactly once per key


async def test_reconciliation_finds_a_planted_mismatch(live: LivePlatform) -> None:
    first, second = await live.application(), await live.application(seating=12)
    async with live.client() as client:
        one = await pay(live, client, first, "success")
        two = await pay(live, client, second, "success")
        await poll(lambda: _is(client, one, "succeeded"))
        await poll(lambda: _is(client, two, "succeeded"))
        ref_one = (await client.get(f"/api/v1/payments/{one}", headers=ALICE)).json()[
            "provider_reference"
        ]
        settlement = (await client.get(f"{live.sim.url}/v1/settlements.csv")).text
        assert ref_one in settlement
        # Plant a mismatch (the provider settled 399.00 for a 400.00 fee) and a stranger line.
        planted = settlement.replace(f"{ref_one},400.00", f"{ref_one},399.00")
        planted += "pi_unknown,10.00,EUR,2026-01-01T00:00:00Z\n"
        run = await client.post(
            "/api/v1/payments/reconciliations",
            content=planted,
            headers={**PRIYA, "Content-Type": "text/csv"},
        )
        assert run.status_code == 201, run.text
        report = run.json()
        findings = await client.get(
            f"/api/v1/payments/reconciliations/{report['id']}/findings.csv", headers=PRIYA
        )
        broken = await client.post(
            "/api/v1/payments/reconciliations", content="nonsense\n", headers=PRIYA
        )
    assert (report["matched"], report["mismatched"], report["unmatched"], report["missing"]) == (
        1,
        1,
        1,
        0,
    )
    assert f"mismatched,{ref_one},400.00 EUR,399.00 EUR" in findings.text
    assert "unmatched,pi_unknown" in findings.text
    assert broken.status_code == 422
