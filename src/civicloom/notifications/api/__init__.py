"""The notifications module's JSON API: a person's preferences and inbox (``v1``) and the GovStack
Messaging facade (``govstack``)."""

from civicloom.notifications.api.govstack import messaging_router
from civicloom.notifications.api.v1 import notifications_router

__all__ = ["messaging_router", "notifications_router"]
