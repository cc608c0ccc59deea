"""SMS through an HTTP provider (the SMS simulator's contract)."""

from __future__ import annotations

import httpx

from civicloom.notifications.domain import Outgoing

SMS_LIMIT = 480  # three concatenated parts; the full text is in the portal inbox


class HttpSmsChannel:
    """``POST {base}/v1/messages`` with ``Idempotency-Key`` = the delivery id."""

    provider = "sms"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    async def send(self, message: Outgoing) -> str:
        """Send the subject and the first lines; raises on any failure (the outbox retries)."""
        text = f"{message.subject}\n{message.body_text}".strip()[:SMS_LIMIT]
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.post(
                f"{self.base_url}/v1/messages",
                json={"to": message.address, "text": text},
                headers={"Idempotency-Key": message.id},
            )
        response.raise_for_status()
        return str(response.json()["id"])
