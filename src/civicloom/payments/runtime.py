"""Building the payment provider from settings (nothing connects until first use)."""

from __future__ import annotations

from civicloom.payments.adapters import SandboxProvider
from civicloom.payments.ports import PaymentProvider
from civicloom.settings import PLACEHOLDER_SECRET, ConfigurationError, Profile, Settings


def build_provider(settings: Settings) -> PaymentProvider:
    """The sandbox provider at ``payments_provider_url`` or the payment simulator."""
    secret = settings.payments_webhook_secret.get_secret_value()
    if settings.profile is Profile.PRODUCTION and secret == PLACEHOLDER_SECRET:
        raise ConfigurationError("payments_webhook_secret is the development placeholder")
    url = settings.payments_provider_url or settings.simulator_urls().get("payments")
    if not url:
        raise ConfigurationError(
            "set payments_provider_url (no payments simulator is declared in simulators.yaml)"
        )
    return SandboxProvider(url, secret, settings.callback_tolerance_seconds)
