"""Payment provider simulator (sandbox PSP).

- ``POST /v1/intents`` (``Idempotency-Key``; a reused key with another body → 422) creates an
  intent and answers its hosted page ``next_url``;
- ``GET /pay/{id}`` is the hosted payment page (success / decline / abandon buttons);
  ``POST /pay/{id}`` records the payer's choice, sends a signed webhook to the intent's
  ``webhook_url`` and redirects (303) to its ``return_url``;
- ``POST /v1/refunds`` (``Idempotency-Key``) refunds part or all of a paid intent, never more;
- ``GET /v1/settlements.csv`` is the settlement file of every paid intent;
- ``POST /_sim/intents/{id}/redeliver`` sends the last webhook again (duplicate delivery).
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from pydantic import BaseModel, Field

from simulators.common.admin import admin_router, http_fault_gate, install_traceparent_echo, problem
from simulators.common.config import CommonOptions, SimArgumentParser, common_options
from simulators.common.faults import FaultInjector, load_faults_file
from simulators.common.ledger import Ledger, utcnow
from simulators.common.runner import configure_logging, serve
from simulators.payments.webhooks import WebhookSender, event_id

DEPARTMENT = "payments"
INTENT = "payments.intent"
log = logging.getLogger("simulators.payments")
OUTCOMES = {"success": "succeeded", "decline": "declined", "abandon": "abandoned"}
EXTRA_FAULTS: dict[str, Any] = {
    "webhook_delay_ms": 0,
    "duplicate_webhook_rate": 0.0,
    "drop_webhook_rate": 0.0,
}


class IntentRequest(BaseModel):
    """Body of POST /v1/intents."""

    amount_minor: int = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    description: str = Field(default="", max_length=200)
    return_url: str = Field(min_length=1, max_length=2000)
    webhook_url: str = Field(default="", max_length=2000)


class RefundRequest(BaseModel):
    """Body of POST /v1/refunds."""

    intent_id: str
    amount_minor: int = Field(gt=0)


def _body_hash(body: BaseModel) -> str:
    return hashlib.sha256(json.dumps(body.model_dump(), sort_keys=True).encode()).hexdigest()


def _page(intent: dict[str, Any]) -> str:
    amount = f"{intent['amount_minor'] / 100:.2f} {html.escape(intent['currency'])}"
    buttons = "".join(
        f'<button name="outcome" value="{value}">{label}</button> '
        for value, label in (("success", "Pay"), ("decline", "Decline card"), ("abandon", "Cancel"))
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<title>Sandbox payment</title></head><body><main>"
        "<h1>Sandbox payment page</h1>"
        f"<p>{html.escape(intent['description'])}</p><p>Amount: <strong>{amount}</strong></p>"
        f'<form method="post" action="/pay/{html.escape(intent["id"])}">{buttons}</form>'
        "<p>This is a simulator: no money moves.</p></main></body></html>"
    )


def build_app(options: CommonOptions, webhook_secret: str) -> FastAPI:
    """Create the payment provider simulator."""
    ledger = Ledger(options.data_dir / "ledger.sqlite")
    faults = FaultInjector(EXTRA_FAULTS, options.seed, load_faults_file(options.faults_file))
    sender = WebhookSender(faults, webhook_secret)
    app = FastAPI(title="Payment provider simulator")
    app.include_router(admin_router(DEPARTMENT, ledger, faults))
    install_traceparent_echo(app)

    def intent_of(intent_id: str) -> dict[str, Any] | None:
        return ledger.get_record(INTENT, intent_id)

    def notify(intent: dict[str, Any]) -> None:
        event_type = f"payment.{intent['status']}"
        payload = {
            "id": event_id(intent["id"], event_type),
            "type": event_type,
            "created_at": utcnow(),
            "data": {
                "intent_id": intent["id"],
                "amount_minor": intent["amount_minor"],
                "currency": intent["currency"],
            },
        }
        intent["last_webhook"] = payload
        ledger.put_record(INTENT, intent["id"], intent)
        sender.send(intent["webhook_url"], payload, intent["id"])

    @app.post("/v1/intents", status_code=201, response_model=None)
    async def create_intent(
        body: IntentRequest, request: Request, idempotency_key: str | None = Header(default=None)
    ) -> dict[str, Any] | JSONResponse:
        """Create a payment intent (idempotent; a reused key with another body → 422)."""
        if not idempotency_key:
            return problem(400, "Bad Request", "Idempotency-Key header is required")
        gate = await http_fault_gate(faults)
        if gate.response is not None:
            return gate.response
        digest = _body_hash(body)
        earlier = ledger.entry(idempotency_key)
        if earlier is not None and earlier["response"].get("request_hash") != digest:
            return problem(422, "Idempotency key reused", "the key was used with another body")
        base = str(request.base_url).rstrip("/")

        def apply() -> dict[str, Any]:
            intent_id = "pi_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]
            record = {
                "id": intent_id,
                "status": "pending",
                "refunded_minor": 0,
                "created_at": utcnow(),
                **body.model_dump(),
            }
            ledger.put_record(INTENT, intent_id, record)
            return {
                "id": intent_id,
                "status": "pending",
                "amount_minor": body.amount_minor,
                "currency": body.currency,
                "next_url": f"{base}/pay/{intent_id}",
                "request_hash": digest,
            }

        response, replayed = ledger.execute(idempotency_key, "payments.intent", apply)
        log.info("intent key=%s replayed=%s", idempotency_key, replayed)
        return response

    @app.get("/v1/intents/{intent_id}", response_model=None)
    async def get_intent(intent_id: str) -> dict[str, Any] | JSONResponse:
        """One intent with its status and refunded amount."""
        intent = intent_of(intent_id)
        if intent is None:
            return problem(404, "Not Found", "no such intent")
        return {k: v for k, v in intent.items() if k != "last_webhook"}

    @app.get("/pay/{intent_id}", response_class=HTMLResponse, response_model=None)
    async def hosted_page(intent_id: str) -> HTMLResponse | JSONResponse:
        """The hosted payment page."""
        intent = intent_of(intent_id)
        if intent is None:
            return problem(404, "Not Found", "no such intent")
        return HTMLResponse(_page(intent))

    @app.post("/pay/{intent_id}", response_model=None)
    async def pay(intent_id: str, outcome: str = Form(...)) -> RedirectResponse | JSONResponse:
        """Record the payer's choice, send the signed webhook, go back to the platform."""
        intent = intent_of(intent_id)
        if intent is None:
            return problem(404, "Not Found", "no such intent")
        if outcome not in OUTCOMES:
            return problem(422, "Invalid outcome", "outcome must be success, decline or abandon")
        if intent["status"] == "pending":
            intent["status"] = OUTCOMES[outcome]
            intent["completed_at"] = utcnow()
            notify(intent)
        query = urlencode({"payment": intent_id, "status": intent["status"]})
        separator = "&" if "?" in intent["return_url"] else "?"
        return RedirectResponse(f"{intent['return_url']}{separator}{query}", status_code=303)

    @app.post("/v1/refunds", status_code=201, response_model=None)
    async def refund(
        body: RefundRequest, idempotency_key: str | None = Header(default=None)
    ) -> dict[str, Any] | JSONResponse:
        """Refund part or all of a paid intent (idempotent; never more than was paid)."""
        if not idempotency_key:
            return problem(400, "Bad Request", "Idempotency-Key header is required")
        gate = await http_fault_gate(faults)
        if gate.response is not None:
            return gate.response
        if ledger.entry(idempotency_key) is None:
            intent = intent_of(body.intent_id)
            if intent is None or intent["status"] != "succeeded":
                return problem(422, "Not refundable", "the intent was not paid")
            if intent["refunded_minor"] + body.amount_minor > intent["amount_minor"]:
                return problem(422, "Refund too large", "more than the unrefunded amount")

        def apply() -> dict[str, Any]:
            intent = intent_of(body.intent_id)
            assert intent is not None
            intent["refunded_minor"] += body.amount_minor
            ledger.put_record(INTENT, body.intent_id, intent)
            refund_id = "re_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]
            return {"id": refund_id, "status": "succeeded", "amount_minor": body.amount_minor}

        response, _ = ledger.execute(idempotency_key, "payments.refund", apply)
        return response

    @app.get("/v1/settlements.csv", response_class=PlainTextResponse)
    async def settlements() -> str:
        """The settlement file: one line per paid intent."""
        lines = ["provider_reference,amount,currency,settled_at"]
        for intent_id, intent in sorted(ledger.records(INTENT).items()):
            if intent["status"] == "succeeded":
                amount = f"{intent['amount_minor'] / 100:.2f}"
                lines.append(f"{intent_id},{amount},{intent['currency']},{intent['completed_at']}")
        return "\n".join(lines) + "\n"

    @app.post("/_sim/intents/{intent_id}/redeliver", response_model=None)
    async def redeliver(intent_id: str) -> dict[str, str] | JSONResponse:
        """Send the intent's last webhook again, unchanged (same event id)."""
        intent = intent_of(intent_id)
        if intent is None or "last_webhook" not in intent:
            return problem(404, "Not Found", "no webhook sent for this intent")
        sender.send(intent["webhook_url"], intent["last_webhook"], intent_id)
        return {"status": "redelivering"}

    @app.get("/_sim/intents/{intent_id}/deliveries")
    async def deliveries(intent_id: str) -> dict[str, int]:
        """How many webhooks for the intent the platform acknowledged."""
        return {"delivered": sender.deliveries.get(intent_id, 0)}

    return app


def main(argv: list[str] | None = None) -> None:
    """Parse options and serve the payment provider simulator."""
    parser = SimArgumentParser(DEPARTMENT)
    parser.option("--webhook-secret", default=None, help="HMAC secret of the signed webhooks")
    ns = parser.parse_args(argv)
    if not ns.webhook_secret:
        parser.error("--webhook-secret (or SIM_PAYMENTS_WEBHOOK_SECRET) is required")
    options = common_options(DEPARTMENT, ns)
    configure_logging(options.log_level)
    serve(build_app(options, str(ns.webhook_secret)), options)
