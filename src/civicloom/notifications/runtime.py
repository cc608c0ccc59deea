"""Building the channels and the worker's notification subscriber from settings."""

from __future__ import annotations

from civicloom.notifications.adapters import HttpSmsChannel, MailDropChannel, SmtpChannel
from civicloom.notifications.domain import ChannelKind
from civicloom.notifications.limits import ProviderLimiter
from civicloom.notifications.ports import Channel
from civicloom.notifications.services import NotificationDispatcher
from civicloom.notifications.templates import TemplateLibrary
from civicloom.runtime import Container
from civicloom.settings import ConfigurationError, Profile, Settings


def mail_catcher_enabled(settings: Settings) -> bool:
    """Whether mail is caught locally (no SMTP server configured, not production)."""
    return not settings.smtp_host and settings.profile is not Profile.PRODUCTION


def build_channels(settings: Settings) -> dict[str, Channel]:
    """Email (SMTP, or the local catcher) and SMS (the provider, or its simulator)."""
    email: Channel
    if settings.smtp_host:
        email = SmtpChannel(
            settings.smtp_host, settings.smtp_port, settings.mail_from, settings.smtp_starttls
        )
    elif mail_catcher_enabled(settings):
        email = MailDropChannel(settings.var_dir / "mail", settings.mail_from)
    else:
        raise ConfigurationError("production needs smtp_host for outgoing mail")
    sms_url = settings.sms_provider_url or settings.simulator_urls().get("sms")
    if not sms_url:
        raise ConfigurationError(
            "set sms_provider_url (no sms simulator is declared in simulators.yaml)"
        )
    return {ChannelKind.EMAIL.value: email, ChannelKind.SMS.value: HttpSmsChannel(sms_url)}


def build_dispatcher(
    container: Container, channels: dict[str, Channel] | None = None
) -> NotificationDispatcher:
    """The subscriber ``bootstrap.build_worker`` hands to the worker."""
    settings = container.settings
    return NotificationDispatcher(
        container,
        TemplateLibrary(settings.blueprints_dir / "templates"),
        channels if channels is not None else build_channels(settings),
        ProviderLimiter(
            container.database,
            dict(settings.notification_rate_per_minute),
            now=lambda: container.clock.now().timestamp(),
        ),
    )
