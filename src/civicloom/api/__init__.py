"""The platform's ``api`` package (ADR 0029): the public REST API v1 (``/api/v1``) that spans
modules, department callbacks and operational endpoints, one topic per file."""

from civicloom.api.callbacks import callbacks_router
from civicloom.api.capabilities import CATALOGUE_READERS, CapabilityOut, capabilities_router
from civicloom.api.casework import casework_router
from civicloom.api.ops import ops_router
from civicloom.api.v1 import api_v1_router

__all__ = [
    "CATALOGUE_READERS",
    "CapabilityOut",
    "api_v1_router",
    "callbacks_router",
    "capabilities_router",
    "casework_router",
    "ops_router",
]
