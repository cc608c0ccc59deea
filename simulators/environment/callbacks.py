"""Screening outcomes and signed callback delivery with retries."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time

import httpx

from simulators.common.faults import FaultInjector
from simulators.common.ledger import Ledger, utcnow
from simulators.common.seed import load_seed

log = logging.getLogger("simulators.environment.callbacks")
KIND = "environment.screening"
MAX_ATTEMPTS = 5


def sign(secret: str, timestamp: str, raw_body: bytes) -> str:
    """Return ``sha256=<hex>`` HMAC-SHA256 over ``f"{timestamp}.{raw_body}"``."""
    message = timestamp.encode() + b"." + raw_body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def assess(seating: int, grease_trap: bool) -> tuple[str, list[str]]:
    """Apply the department's screening rule: (outcome, reasons)."""
    rules = load_seed("simulators.environment", "rules.json")
    limit = int(rules["max_seating_without_inspection"])
    reasons: list[str] = []
    if seating > limit:
        reasons.append(rules["reasons"]["seating"].format(seating=seating, limit=limit))
    if rules["grease_trap_required"] and not grease_trap:
        reasons.append(rules["reasons"]["grease_trap"])
    return ("inspection_required" if reasons else "cleared"), reasons


class CallbackDispatcher:
    """Completes screenings after a delay and POSTs signed callbacks."""

    def __init__(self, ledger: Ledger, faults: FaultInjector, secret: str) -> None:
        """Create the dispatcher."""
        self.ledger = ledger
        self.faults = faults
        self.secret = secret
        self.tasks: set[asyncio.Task[None]] = set()

    def schedule(self, screening_id: str) -> None:
        """Start the background completion of one screening."""
        task = asyncio.create_task(self._complete(screening_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def cancel_all(self) -> None:
        """Cancel every pending completion."""
        for task in list(self.tasks):
            task.cancel()

    async def _complete(self, screening_id: str) -> None:
        delay = self.faults.seconds("callback_delay_ms") + self.faults.seconds("late_callback_ms")
        await asyncio.sleep(delay)
        record = self.ledger.get_record(KIND, screening_id)
        if record is None:
            return
        record.update(status="completed", completed_at=utcnow())
        self.ledger.put_record(KIND, screening_id, record)
        if self.faults.roll("drop_callback_rate"):
            log.info("screening %s: callback dropped (fault)", screening_id)
            return
        payload = {
            "screening_id": screening_id,
            "idempotency_key": record["idempotency_key"],
            "outcome": record["outcome"],
            "reasons": record["reasons"],
            "completed_at": record["completed_at"],
        }
        raw = json.dumps(payload, separators=(",", ":")).encode()
        copies = 2 if self.faults.roll("duplicate_callback_rate") else 1
        for _ in range(copies):
            await self._deliver(screening_id, record["callback_url"], raw)

    async def _deliver(self, screening_id: str, url: str, raw: bytes) -> None:
        backoff = 0.2
        async with httpx.AsyncClient(timeout=5.0) as client:
            for attempt in range(1, MAX_ATTEMPTS + 1):
                timestamp = str(int(time.time()))
                secret = self.secret
                if self.faults.roll("bad_signature_rate"):
                    secret = self.secret + "-tampered"
                headers = {
                    "Content-Type": "application/json",
                    "X-Civicloom-Timestamp": timestamp,
                    "X-Civicloom-Signature": sign(secret, timestamp, raw),
                }
                status: int | str
                try:
                    resp = await client.post(url, content=raw, headers=headers)
                    status = resp.status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                self._note_attempt(screening_id, status)
                if isinstance(status, int) and 200 <= status < 300:
                    log.info("screening %s: callback delivered (attempt %d)", screening_id, attempt)
                    return
                log.warning(
                    "screening %s: callback attempt %d -> %s", screening_id, attempt, status
                )
                if attempt < MAX_ATTEMPTS:
                    await asyncio.sleep(backoff)
                    backoff *= 2
        log.error("screening %s: callback gave up after %d attempts", screening_id, MAX_ATTEMPTS)

    def _note_attempt(self, screening_id: str, status: int | str) -> None:
        record = self.ledger.get_record(KIND, screening_id)
        if record is None:
            return
        record["callback_attempts"] = int(record.get("callback_attempts", 0)) + 1
        if isinstance(status, int) and 200 <= status < 300:
            record["callback_deliveries"] = int(record.get("callback_deliveries", 0)) + 1
        record["last_callback_status"] = status
        self.ledger.put_record(KIND, screening_id, record)

    def resume_pending(self) -> None:
        """Reschedule screenings accepted before a restart but not completed."""
        for screening_id, record in self.ledger.records(KIND).items():
            if record.get("status") == "accepted":
                self.schedule(screening_id)
