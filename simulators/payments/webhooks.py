"""Signed webhook delivery to the platform, with retries and fault knobs."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx

from simulators.common.faults import FaultInjector

log = logging.getLogger("simulators.payments.webhooks")
MAX_ATTEMPTS = 5


def sign(secret: str, timestamp: str, raw_body: bytes) -> str:
    """Return ``sha256=<hex>`` HMAC-SHA256 over ``f"{timestamp}.{raw_body}"``."""
    message = timestamp.encode() + b"." + raw_body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def event_id(intent_id: str, event_type: str) -> str:
    """The event id is stable per intent and outcome, so a redelivery carries the same id."""
    return "evt_" + hashlib.sha256(f"{intent_id}:{event_type}".encode()).hexdigest()[:20]


class WebhookSender:
    """POSTs signed webhooks in the background; counts attempts per intent."""

    def __init__(self, faults: FaultInjector, secret: str) -> None:
        """Create the sender."""
        self.faults = faults
        self.secret = secret
        self.tasks: set[asyncio.Task[None]] = set()
        self.deliveries: dict[str, int] = {}

    def send(self, url: str, payload: dict[str, Any], intent_id: str) -> None:
        """Deliver ``payload`` (once, or twice with the duplicate fault) in the background."""
        if not url or self.faults.roll("drop_webhook_rate"):
            log.info("intent %s: webhook dropped", intent_id)
            return
        copies = 2 if self.faults.roll("duplicate_webhook_rate") else 1
        raw = json.dumps(payload, separators=(",", ":")).encode()
        for _ in range(copies):
            task = asyncio.create_task(self._deliver(url, raw, intent_id))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _deliver(self, url: str, raw: bytes, intent_id: str) -> None:
        backoff = 0.2
        delay = self.faults.seconds("webhook_delay_ms")
        if delay:
            await asyncio.sleep(delay)
        async with httpx.AsyncClient(timeout=5.0) as client:
            for attempt in range(1, MAX_ATTEMPTS + 1):
                timestamp = str(int(time.time()))
                headers = {
                    "Content-Type": "application/json",
                    "X-Sandbox-Timestamp": timestamp,
                    "X-Sandbox-Signature": sign(self.secret, timestamp, raw),
                }
                try:
                    status: int | str = (
                        await client.post(url, content=raw, headers=headers)
                    ).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                if isinstance(status, int) and 200 <= status < 300:
                    self.deliveries[intent_id] = self.deliveries.get(intent_id, 0) + 1
                    return
                log.warning("intent %s: webhook attempt %d -> %s", intent_id, attempt, status)
                await asyncio.sleep(backoff)
                backoff *= 2
