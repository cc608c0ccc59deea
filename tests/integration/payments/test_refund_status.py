"""A refund is accepted only when the provider says the money went back (ADR 0033).

The provider answered 2xx with a body whose status was never read: a "pending" or "failed"
refund was announced to the citizen and used up the refund cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from civicloom.outbox.tables import OutboxRow
from civicloom.payments import PAYMENT_PROVIDER, PaymentProvider
from civicloom.payments.domain import ProviderIntent, ProviderRefund, WebhookEvent
from civicloom.payments.tables import RefundRow
from tests.integration.payments.conftest import LivePlatform
from tests.integration.payments.test_integrity import (
    FIONA,
    REFUNDED,
    count,
    paid_payment,
    payment_json,
)
from tests.wiring import swap


@dataclass
class AnswersRefundsWith:
    """The real provider for everything, but its refund answer carries ``status``."""

    real: PaymentProvider
    status: str
    name: str = "sandbox"

    async def create_intent(
        self,
        idempotency_key: str,
        amount_minor: int,
        currency: str,
        description: str,
        return_url: str,
        webhook_url: str,
    ) -> ProviderIntent:
        return await self.real.create_intent(
            idempotency_key, amount_minor, currency, description, return_url, webhook_url
        )

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        return self.real.verify_webhook(headers, body)

    async def refund(
        self, idempotency_key: str, provider_reference: str, amount_minor: int
    ) -> ProviderRefund:
        await self.real.refund(idempotency_key, provider_reference, amount_minor)
        return ProviderRefund("re_test", self.status)


async def refund_answered_with(
    live: LivePlatform, status: str, key: str
) -> tuple[int, dict[str, Any], str]:
    """Alice pays; the provider answers Fiona's refund with ``status``: (HTTP status, body,
    the payment's refunded amount)."""
    async with live.client() as client:
        _app_id, payment_id = await paid_payment(live, client)
        provider: PaymentProvider = AnswersRefundsWith(live.container.get(PAYMENT_PROVIDER), status)
        swap(live.app, PAYMENT_PROVIDER, provider)
        answer = await client.post(
            f"/api/v1/payments/{payment_id}/refunds",
            json={"amount": "100.00", "reason": "overcharged"},
            headers={**FIONA, "Idempotency-Key": key},
        )
        payment = await payment_json(client, payment_id)
    return answer.status_code, answer.json(), str(payment["refunded"])


async def refund_states(live: LivePlatform) -> list[str]:
    async with live.container.uow() as uow:
        return list(await uow.session.scalars(select(RefundRow.state)))


async def test_a_pending_refund_answer_is_not_announced_and_stays_reserved(
    live: LivePlatform,
) -> None:
    status, body, refunded = await refund_answered_with(live, "pending", "refund-pending-01")
    assert status == 503, body
    assert await refund_states(live) == ["pending"]
    assert refunded == "100.00"  # reserved, not released
    assert await count(live, OutboxRow, OutboxRow.topic == REFUNDED) == 0


async def test_a_failed_refund_answer_is_failed_released_and_never_announced(
    live: LivePlatform,
) -> None:
    status, body, refunded = await refund_answered_with(live, "failed", "refund-failed-01")
    assert status == 422, body
    error = body["errors"][0]
    assert (error["field"], error["rule"]) == ("amount", "provider")
    assert await refund_states(live) == ["failed"]
    assert refunded == "0.00"
    assert await count(live, OutboxRow, OutboxRow.topic == REFUNDED) == 0
