"""The sandbox provider: the payment simulator's REST API, hosted page and signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping

import httpx

from civicloom.kernel import ValidationFailed
from civicloom.payments.domain import (
    ProviderIntent,
    ProviderRefund,
    WebhookEvent,
    WebhookRejected,
)


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered with a server error."""


class SandboxProvider:
    """HTTP client of ``simulators.payments`` (and of any PSP speaking the same contract)."""

    name = "sandbox"

    def __init__(self, base_url: str, secret: str, tolerance_seconds: int = 300) -> None:
        self.base_url = base_url.rstrip("/")
        self._secret = secret.encode()
        self.tolerance_seconds = tolerance_seconds

    async def _post(self, path: str, key: str, body: dict[str, object]) -> dict[str, object]:
        try:
            async with httpx.AsyncClient(timeout=10.0) as client:
                response = await client.post(
                    f"{self.base_url}{path}", json=body, headers={"Idempotency-Key": key}
                )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(type(exc).__name__) from exc
        if response.status_code >= 500:
            raise ProviderUnavailable(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            detail = str(response.json().get("detail", "refused by the provider"))
            raise ValidationFailed([], detail=f"payment provider: {detail}")
        data = response.json()
        assert isinstance(data, dict)
        return data

    async def create_intent(
        self,
        idempotency_key: str,
        amount_minor: int,
        currency: str,
        description: str,
        return_url: str,
        webhook_url: str,
    ) -> ProviderIntent:
        """Create (or replay) an intent at the provider."""
        data = await self._post(
            "/v1/intents",
            idempotency_key,
            {
                "amount_minor": amount_minor,
                "currency": currency,
                "description": description,
                "return_url": return_url,
                "webhook_url": webhook_url,
            },
        )
        return ProviderIntent(str(data["id"]), str(data["next_url"]))

    async def refund(
        self, idempotency_key: str, provider_reference: str, amount_minor: int
    ) -> ProviderRefund:
        """Refund at the provider (idempotent by key)."""
        data = await self._post(
            "/v1/refunds",
            idempotency_key,
            {"intent_id": provider_reference, "amount_minor": amount_minor},
        )
        return ProviderRefund(str(data["id"]), str(data["status"]))

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Check the HMAC signature over ``timestamp.body`` and the timestamp's freshness."""
        timestamp = headers.get("x-sandbox-timestamp", "")
        signature = headers.get("x-sandbox-signature", "")
        if not timestamp.isdigit() or not signature.startswith("sha256="):
            raise WebhookRejected("missing signature headers")
        if not self._secret:  # anyone can sign with an empty key: trust no webhook then
            raise WebhookRejected("no webhook secret is configured")
        if abs(time.time() - int(timestamp)) > self.tolerance_seconds:
            raise WebhookRejected("stale timestamp")
        expected = hmac.new(self._secret, timestamp.encode() + b"." + body, hashlib.sha256)
        if not hmac.compare_digest(signature.removeprefix("sha256="), expected.hexdigest()):
            raise WebhookRejected("bad signature")
        try:
            payload = json.loads(body)
            data = payload["data"]
            return WebhookEvent(
                event_id=str(payload["id"]),
                type=str(payload["type"]),
                provider_reference=str(data["intent_id"]),
                amount_minor=int(data["amount_minor"]),
                currency=str(data["currency"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected("malformed body") from exc
