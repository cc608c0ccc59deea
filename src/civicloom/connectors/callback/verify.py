"""Verifying signed callbacks: HMAC-SHA256 over ``f"{timestamp}.{raw_body}"`` with a tolerance.

Pure: no I/O, no clock of its own. Replay protection (the seen-set) lives in ``services``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from civicloom.departments import ExternalCompletion

TIMESTAMP_HEADER = "x-civicloom-timestamp"
SIGNATURE_HEADER = "x-civicloom-signature"


class CallbackRejected(Exception):
    """A callback that must not be acted on; ``reason`` is a stable slug."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class VerifiedCallback:
    """A callback whose signature and timestamp are good, with its replay fingerprint."""

    completion: ExternalCompletion
    signature: str
    timestamp: int


def sign_callback(secret: str, timestamp: str, raw_body: bytes) -> str:
    """The ``sha256=<hex>`` signature a department puts on a callback."""
    message = timestamp.encode() + b"." + raw_body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_callback(
    headers: Mapping[str, str],
    raw_body: bytes,
    now: datetime,
    *,
    secret: str,
    department: str,
    tolerance_seconds: int = 300,
    key_field: str = "idempotency_key",
    capability: str | None = None,
) -> VerifiedCallback:
    """Check signature and timestamp, then parse the body into an ExternalCompletion."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ts = lowered.get(TIMESTAMP_HEADER, "")
    signature = lowered.get(SIGNATURE_HEADER, "")
    if not raw_ts or not signature:
        raise CallbackRejected("unsigned", "timestamp and signature headers are required")
    if not raw_ts.isdigit():
        raise CallbackRejected("bad-timestamp", "the timestamp is not unix seconds")
    if not secret:  # anyone can sign with an empty key: no secret means no callback is trusted
        raise CallbackRejected("bad-signature", "no callback secret is configured")
    expected = sign_callback(secret, raw_ts, raw_body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise CallbackRejected("bad-signature", "the signature does not match")
    timestamp = int(raw_ts)
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        raise CallbackRejected("stale", "the timestamp is outside the accepted window")
    try:
        body = json.loads(raw_body)
    except ValueError as exc:
        raise CallbackRejected("malformed", "the body is not JSON") from exc
    if not isinstance(body, dict):
        raise CallbackRejected("malformed", "the body is not a JSON object")
    key = body.pop(key_field, None)
    if not isinstance(key, str) or not key:
        raise CallbackRejected("malformed", f"{key_field} is missing")
    completion = ExternalCompletion(
        idempotency_key=key, output=body, received_from=department, capability=capability
    )
    return VerifiedCallback(completion=completion, signature=signature, timestamp=timestamp)


@dataclass(frozen=True)
class CallbackVerifier:
    """The verification settings of one department's callbacks."""

    department: str
    secret: str
    tolerance_seconds: int = 300
    key_field: str = "idempotency_key"
    capability: str | None = None  # whose output schema the completion must match

    def verify(
        self, headers: Mapping[str, str], raw_body: bytes, now: datetime
    ) -> VerifiedCallback:
        """Verify one callback (see ``verify_callback``)."""
        return verify_callback(
            headers,
            raw_body,
            now,
            secret=self.secret,
            department=self.department,
            tolerance_seconds=self.tolerance_seconds,
            key_field=self.key_field,
            capability=self.capability,
        )
