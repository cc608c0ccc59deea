"""Pure payments logic: money, settlement parsing, reconciliation, webhook signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from civicloom.kernel import ValidationFailed
from civicloom.payments import format_minor, parse_settlement, reconcile, to_minor
from civicloom.payments.adapters import SandboxProvider
from civicloom.payments.domain import Paid, WebhookRejected


def test_money_in_minor_units() -> None:
    assert to_minor(400) == 40000
    assert to_minor("12.5") == 1250
    assert format_minor(1250) == "12.50"
    for bad in ("1.001", "-1", "0", "abc", "NaN"):
        with pytest.raises(ValidationFailed):
            to_minor(bad)


def test_reconciliation_sorts_every_line() -> None:
    text = (
        "provider_reference,amount,currency,settled_at\n"
        "pi_a,400.00,EUR,t\npi_b,149.00,EUR,t\npi_x,1.00,EUR,t\npi_a,400.00,EUR,t\n"
    )
    paid = [
        Paid("1", "pi_a", 40000, "EUR"),
        Paid("2", "pi_b", 15000, "EUR"),
        Paid("3", "pi_c", 900, "EUR"),
    ]
    report = reconcile(parse_settlement(text), paid)
    assert report.matched == ["pi_a"]
    assert [(s.provider_reference, p.amount_minor) for s, p in report.mismatched] == [
        ("pi_b", 15000)
    ]
    assert [s.provider_reference for s in report.unmatched] == ["pi_x", "pi_a"]  # a duplicate too
    assert [p.provider_reference for p in report.missing] == ["pi_c"]
    assert not report.clean
    assert "mismatched,pi_b,150.00 EUR,149.00 EUR" in report.to_csv()


def test_a_broken_settlement_file_names_its_lines() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_settlement("provider_reference,amount,currency,settled_at\npi_a,x,EUR,t\npi_b\n")
    assert [e.field for e in caught.value.errors] == ["file:2", "file:3"]
    with pytest.raises(ValidationFailed):
        parse_settlement("ref,amount\n")


def _signed(secret: bytes, body: bytes, at: int) -> dict[str, str]:
    mac = hmac.new(secret, str(at).encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"x-sandbox-timestamp": str(at), "x-sandbox-signature": f"sha256={mac}"}


def test_webhook_signatures_are_checked() -> None:
    provider = SandboxProvider("http://127.0.0.1:9", "s3cret", tolerance_seconds=60)
    body = json.dumps(
        {
            "id": "evt_1",
            "type": "payment.succeeded",
            "data": {"intent_id": "pi_1", "amount_minor": 100, "currency": "EUR"},
        }
    ).encode()
    now = int(time.time())
    event = provider.verify_webhook(_signed(b"s3cret", body, now), body)
    assert (event.event_id, event.amount_minor, event.state) == ("evt_1", 100, event.state)
    assert event.state is not None
    assert event.state.value == "succeeded"
    for headers, payload in (
        (_signed(b"wrong", body, now), body),
        (_signed(b"s3cret", body, now - 3600), body),
        (_signed(b"s3cret", body, now), body + b" "),
        ({}, body),
    ):
        with pytest.raises(WebhookRejected):
            provider.verify_webhook(headers, payload)
