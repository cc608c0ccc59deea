"""An empty secret trusts nobody: anyone can compute an HMAC with an empty key.

Found by the attack review of issue 16: a callback or payment webhook signed with ``""`` was
accepted when no secret was configured for a department or the provider.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest

from civicloom.connectors import CallbackRejected, sign_callback, verify_callback
from civicloom.payments.adapters.sandbox import SandboxProvider
from civicloom.payments.domain import WebhookRejected

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def test_a_callback_signed_with_an_empty_key_is_refused_when_no_secret_is_set() -> None:
    body = json.dumps({"idempotency_key": "k", "approved": True}).encode()
    stamp = str(int(NOW.timestamp()))
    headers = {
        "X-Civicloom-Timestamp": stamp,
        "X-Civicloom-Signature": sign_callback("", stamp, body),
    }
    with pytest.raises(CallbackRejected) as refused:
        verify_callback(headers, body, NOW, secret="", department="environment")
    assert refused.value.reason == "bad-signature"


def test_a_payment_webhook_signed_with_an_empty_key_is_refused_when_no_secret_is_set() -> None:
    body = json.dumps(
        {
            "id": "evt_1",
            "type": "payment.succeeded",
            "data": {"intent_id": "pi_1", "amount_minor": 40000, "currency": "EUR"},
        }
    ).encode()
    stamp = str(int(time.time()))
    digest = hmac.new(b"", stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {"x-sandbox-timestamp": stamp, "x-sandbox-signature": f"sha256={digest}"}
    with pytest.raises(WebhookRejected):
        SandboxProvider("http://127.0.0.1:9", "").verify_webhook(headers, body)
