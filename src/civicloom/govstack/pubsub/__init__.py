"""GovStack Information Mediator pub/sub (ADR 0054): rooms, event types, subscriptions and
deliveries over the platform's outbox; the router is ``civicloom.govstack.api.pubsub``."""

from civicloom.govstack.pubsub.allowed import (
    AllowedView,
    allow_subscriber,
    allowed_subscribers,
    owner_allows,
    owner_removes,
    remove_subscriber,
)
from civicloom.govstack.pubsub.bridge import CaseEventBridge
from civicloom.govstack.pubsub.deliverer import PUBSUB, PushDeliverer, PushFailed
from civicloom.govstack.pubsub.domain import (
    SIGNATURE_HEADER,
    SIGNATURE_TYPE,
    BadRequest,
    Delivery,
    DeliveryStatus,
    EventView,
    SubscriptionView,
)
from civicloom.govstack.pubsub.retention import purge_old_events
from civicloom.govstack.pubsub.rooms import (
    PLATFORM_ROOM,
    PUBLISH_SCOPE,
    SUBSCRIBE_SCOPE,
    Registered,
    Room,
)
from civicloom.govstack.pubsub.services import (
    cancel_event,
    create_event_type,
    delete_event_type,
    event_status,
    list_event_types,
    publish_event,
    read_event_type,
)
from civicloom.govstack.pubsub.subscriptions import (
    SubscriptionRequest,
    acknowledge,
    change_subscription,
    my_subscription,
    my_subscriptions,
    pull_next,
    subscribe,
    unsubscribe,
)

__all__ = [
    "PLATFORM_ROOM",
    "PUBLISH_SCOPE",
    "PUBSUB",
    "SIGNATURE_HEADER",
    "SIGNATURE_TYPE",
    "SUBSCRIBE_SCOPE",
    "AllowedView",
    "BadRequest",
    "CaseEventBridge",
    "Delivery",
    "DeliveryStatus",
    "EventView",
    "PushDeliverer",
    "PushFailed",
    "Registered",
    "Room",
    "SubscriptionRequest",
    "SubscriptionView",
    "acknowledge",
    "allow_subscriber",
    "allowed_subscribers",
    "cancel_event",
    "change_subscription",
    "create_event_type",
    "delete_event_type",
    "event_status",
    "list_event_types",
    "my_subscription",
    "my_subscriptions",
    "owner_allows",
    "owner_removes",
    "publish_event",
    "pull_next",
    "purge_old_events",
    "read_event_type",
    "remove_subscriber",
    "subscribe",
    "unsubscribe",
]
