"""The GovStack facades' routers, one file per building block."""

from civicloom.govstack.api.mediator import mediator_router
from civicloom.govstack.api.pubsub import pubsub_router
from civicloom.govstack.api.registration import registration_router
from civicloom.govstack.api.registries import registries_router

__all__ = ["mediator_router", "pubsub_router", "registration_router", "registries_router"]
