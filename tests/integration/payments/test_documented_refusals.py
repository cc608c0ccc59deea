"""The payments API answers what its OpenAPI document says (issue 16, schemathesis's findings):
an unknown webhook provider is a 404, a refund of nothing and a return address without a host
are refused by a rule the schema states, and GovStack's refusal of a payment notification has
its documented shape. Every refusal leaves nothing behind."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from civicloom.identity import create_api_key
from civicloom.payments.tables import PaymentRow, PaymentWebhookRow, RefundRow
from tests.conftest import as_persona
from tests.integration.payments.conftest import LivePlatform
from tests.integration.payments.test_integrity import paid_payment, reference_of, transfer

ALICE = as_persona("alice")
FIONA = as_persona("fiona")  # finance officer of local-admin, the fee's department
PROBLEM = "application/problem+json"


async def count(live: LivePlatform, model: type) -> int:
    async with live.container.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


def schema_of(live: LivePlatform, name: str) -> dict[str, Any]:
    component: dict[str, Any] = live.app.openapi()["components"]["schemas"][name]
    return component


def pattern_accepts(pattern: str, text: str) -> bool:
    """What a client reading the document concludes (ECMA-262 and Python agree here)."""
    return re.search(pattern, text) is not None


async def test_a_webhook_for_an_unknown_provider_is_a_404_and_changes_nothing(
    live: LivePlatform,
) -> None:
    async with live.client() as client:
        unknown = await client.post(
            "/api/v1/payments/webhooks/stripe",
            content=b'{"id":"evt_1","type":"payment.succeeded","data":{}}',
            headers={"X-Sandbox-Timestamp": "1", "X-Sandbox-Signature": "sha256=00"},
        )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == PROBLEM
    assert unknown.json()["type"] == "/problems/not-found"
    assert await count(live, PaymentWebhookRow) == 0


async def test_a_refund_of_nothing_is_refused_by_the_documented_pattern(
    live: LivePlatform,
) -> None:
    async with live.client() as client:
        _app_id, payment_id = await paid_payment(live, client)
        before = await count(live, RefundRow)
        answers = [
            await client.post(
                f"/api/v1/payments/{payment_id}/refunds",
                json={"amount": amount, "reason": "duplicate charge"},
                headers={**FIONA, "Idempotency-Key": f"refund-zero-{n}"},
            )
            for n, amount in enumerate(("0", "0.00", "0.0", "00.50"))
        ]
    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == PROBLEM
        assert [(e["field"], e["rule"]) for e in answer.json()["errors"]] == [
            ("amount", "string_pattern_mismatch")
        ]
    assert await count(live, RefundRow) == before
    pattern = schema_of(live, "RefundCreate")["properties"]["amount"]["pattern"]
    for refused in ("0", "0.00", "00.50", "-1", "1.234", "100000000000"):
        assert not pattern_accepts(pattern, refused), refused
    for accepted in ("0.01", "0.5", "1", "100.00", "99999999999.99"):
        assert pattern_accepts(pattern, accepted), accepted


async def test_a_return_address_off_this_site_is_refused_by_the_documented_pattern(
    live: LivePlatform,
) -> None:
    app_id = await live.application()
    async with live.client() as client:
        answers = [
            await client.post(
                f"/api/v1/applications/{app_id}/payments",
                json={"return_url": url},
                headers={**ALICE, "Idempotency-Key": f"return-url-{n}"},
            )
            for n, url in enumerate(
                (
                    "http://",
                    "https://",
                    "//evil.example/x",
                    "/\u0000",
                    "https://evil.example/x",
                    "/\\evil.example/x",
                )
            )
        ]
    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert [(e["field"], e["rule"]) for e in answer.json()["errors"]] == [
            ("return_url", "string_pattern_mismatch")
        ]
    assert await count(live, PaymentRow) == 0
    pattern = schema_of(live, "PaymentCreate")["properties"]["return_url"]["pattern"]
    refused_urls = (
        "http://",
        "https://",
        "//evil.example",
        "ftp://x",
        "javascript:x",
        "a/b",
        "https://example.org",
        "http://h:8000/a?b=c",
        "/\\evil.example",
        "/a\\b",
    )
    for refused in refused_urls:
        assert not pattern_accepts(pattern, refused), refused
    for accepted in ("/", "/applications/done", "/applications/a1?paid=1"):
        assert pattern_accepts(pattern, accepted), accepted


async def test_govstacks_refusal_of_a_notification_has_the_documented_shape(
    live: LivePlatform,
) -> None:
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
        unknown = await client.post(
            "/billTransferRequests",
            json=transfer("NO-SUCH-BILL", "REF-1"),
            headers={"apiKey": bank.key},
        )
        wrong = await client.post(
            "/billTransferRequests",
            json=transfer(bill, "REF-2", amount=1),
            headers={"apiKey": bank.key},
        )
    assert unknown.status_code == 400
    assert unknown.json() == {"responseCode": "01", "reason": "unknown bill", "requestID": "req-1"}
    assert wrong.status_code == 400
    assert wrong.json()["responseCode"] == "01"
    assert await count(live, PaymentRow) == 0
    documented = live.app.openapi()["paths"]["/billTransferRequests"]["post"]["responses"]
    reply = {"$ref": "#/components/schemas/BillTransferReply"}
    for status in ("202", "400", "409"):
        assert documented[status]["content"]["application/json"]["schema"] == reply, status
    assert sorted(schema_of(live, "BillTransferReply")["required"]) == [
        "reason",
        "requestID",
        "responseCode",
    ]
