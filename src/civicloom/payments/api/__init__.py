"""The payments module's JSON API: payment intents, webhooks, refunds, receipts and
reconciliation (``v1``) and the GovStack Payments (P2G) facade (``govstack``)."""

from civicloom.payments.api.govstack import p2g_router
from civicloom.payments.api.v1 import PaymentProviderDep, payments_router

__all__ = ["PaymentProviderDep", "p2g_router", "payments_router"]
