"""The payment provider port: what the platform needs from any payment service provider."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from civicloom.payments.domain import ProviderIntent, ProviderRefund, WebhookEvent
from civicloom.runtime import Key


class PaymentProvider(Protocol):
    """A payment service provider with a hosted payment page and signed webhooks."""

    name: str

    async def create_intent(
        self,
        idempotency_key: str,
        amount_minor: int,
        currency: str,
        description: str,
        return_url: str,
        webhook_url: str,
    ) -> ProviderIntent:
        """Ask the provider to take a payment; a repeated key returns the same intent."""
        ...

    async def refund(
        self, idempotency_key: str, provider_reference: str, amount_minor: int
    ) -> ProviderRefund:
        """Refund (part of) a payment; a repeated key returns the same refund."""
        ...

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Check a webhook's signature and freshness; raise ``WebhookRejected`` if untrusted."""
        ...


PAYMENT_PROVIDER: Key[PaymentProvider] = Key("payment provider")
"""The process's payment service provider."""
