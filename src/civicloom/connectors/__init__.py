"""Department connectors: one plugin per kind of external system, behind a capability gateway.

Build with ``build_connectors(departments, settings, simulator_urls)``; the engine calls
``ConnectorGateway(registry).call(CapabilityCall(...))``.
"""

from civicloom.connectors.amqp import AmqpConnector
from civicloom.connectors.base import dev_secret
from civicloom.connectors.breaker import BreakerSnapshot, BreakerState, CircuitBreaker
from civicloom.connectors.callback import (
    CallbackConnector,
    CallbackRejected,
    CallbackVerifier,
    VerifiedCallback,
    sign_callback,
    verify_callback,
)
from civicloom.connectors.domain import CapabilitySpec, ConnectorSpec, DepartmentIntegration
from civicloom.connectors.filedrop import FileDropConnector
from civicloom.connectors.gateway import BreakerOpen, ConnectorGateway
from civicloom.connectors.metrics import InstrumentedGateway
from civicloom.connectors.registry import PLUGINS, ConnectorRegistry, build_connectors
from civicloom.connectors.rest import RestConnector
from civicloom.connectors.services import (
    CALLBACK_VERIFIERS,
    COMPLETION_HANDLER,
    REFUSAL_RULES,
    CallbackResult,
    checked_handler,
    collect_batch_answers,
    keep_listening,
    receive_callback,
)
from civicloom.connectors.soap import SoapConnector

__all__ = [
    "CALLBACK_VERIFIERS",
    "COMPLETION_HANDLER",
    "PLUGINS",
    "REFUSAL_RULES",
    "AmqpConnector",
    "BreakerOpen",
    "BreakerSnapshot",
    "BreakerState",
    "CallbackConnector",
    "CallbackRejected",
    "CallbackResult",
    "CallbackVerifier",
    "CapabilitySpec",
    "CircuitBreaker",
    "ConnectorGateway",
    "ConnectorRegistry",
    "ConnectorSpec",
    "DepartmentIntegration",
    "FileDropConnector",
    "InstrumentedGateway",
    "RestConnector",
    "SoapConnector",
    "VerifiedCallback",
    "build_connectors",
    "checked_handler",
    "collect_batch_answers",
    "dev_secret",
    "keep_listening",
    "receive_callback",
    "sign_callback",
    "verify_callback",
]
