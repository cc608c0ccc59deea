"""Notifications: channels, templates per language, delivery through the outbox."""

from civicloom.notifications.adapters import (
    HttpSmsChannel,
    MailDropChannel,
    SmtpChannel,
    build_email,
)
from civicloom.notifications.api import messaging_router, notifications_router
from civicloom.notifications.domain import (
    DELIVER_TOPIC,
    ChannelKind,
    DeliveryStatus,
    Recipient,
    RenderedMessage,
    sms_fragments,
)
from civicloom.notifications.limits import ProviderLimiter
from civicloom.notifications.pages import notifications_pages_router
from civicloom.notifications.preferences import (
    InboxItem,
    Preferences,
    hand_over_inbox,
    inbox,
    read_preferences,
    set_preferences,
)
from civicloom.notifications.queries import SentMessage, messages_sent
from civicloom.notifications.runtime import build_channels, build_dispatcher, mail_catcher_enabled
from civicloom.notifications.services import NotificationDispatcher, deliver, plan_notifications
from civicloom.notifications.templates import TemplateLibrary

__all__ = [
    "DELIVER_TOPIC",
    "ChannelKind",
    "DeliveryStatus",
    "HttpSmsChannel",
    "InboxItem",
    "MailDropChannel",
    "NotificationDispatcher",
    "Preferences",
    "ProviderLimiter",
    "Recipient",
    "RenderedMessage",
    "SentMessage",
    "SmtpChannel",
    "TemplateLibrary",
    "build_channels",
    "build_dispatcher",
    "build_email",
    "deliver",
    "hand_over_inbox",
    "inbox",
    "mail_catcher_enabled",
    "messages_sent",
    "messaging_router",
    "notifications_pages_router",
    "notifications_router",
    "plan_notifications",
    "read_preferences",
    "set_preferences",
    "sms_fragments",
]
