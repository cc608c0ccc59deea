"""Callback connector plugin: accepted now, answered later by an HMAC-signed webhook."""

from civicloom.connectors.callback.connector import CallbackConnector, CallbackOptions
from civicloom.connectors.callback.verify import (
    CallbackRejected,
    CallbackVerifier,
    VerifiedCallback,
    sign_callback,
    verify_callback,
)

__all__ = [
    "CallbackConnector",
    "CallbackOptions",
    "CallbackRejected",
    "CallbackVerifier",
    "VerifiedCallback",
    "sign_callback",
    "verify_callback",
]
