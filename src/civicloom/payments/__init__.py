"""Payments: fees from decision models, intents at a provider, webhooks, refunds, reconciliation."""

from civicloom.payments.api import PaymentProviderDep, p2g_router, payments_router
from civicloom.payments.domain import (
    PaymentState,
    ReconciliationReport,
    WebhookEvent,
    format_minor,
    parse_settlement,
    reconcile,
    to_minor,
)
from civicloom.payments.ports import PAYMENT_PROVIDER, PaymentProvider
from civicloom.payments.reconciliation import reconcile_settlement
from civicloom.payments.refunds import Receipt, ReceiptLine, application_receipt, refund_payment
from civicloom.payments.runtime import build_provider
from civicloom.payments.services import (
    PaymentView,
    create_payment,
    get_payment,
    handle_webhook,
    latest_payment,
    start_or_resume_payment,
)

__all__ = [
    "PAYMENT_PROVIDER",
    "PaymentProvider",
    "PaymentProviderDep",
    "PaymentState",
    "PaymentView",
    "Receipt",
    "ReceiptLine",
    "ReconciliationReport",
    "WebhookEvent",
    "application_receipt",
    "build_provider",
    "create_payment",
    "format_minor",
    "get_payment",
    "handle_webhook",
    "latest_payment",
    "p2g_router",
    "parse_settlement",
    "payments_router",
    "reconcile",
    "reconcile_settlement",
    "refund_payment",
    "start_or_resume_payment",
    "to_minor",
]
