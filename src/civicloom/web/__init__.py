"""Shared web plumbing: dependencies, problem+json errors and middleware."""

from civicloom.web.deps import ContainerDep, CurrentPrincipal, get_container
from civicloom.web.errors import install_error_handlers, problem_response
from civicloom.web.middleware import install_middleware

__all__ = [
    "ContainerDep",
    "CurrentPrincipal",
    "get_container",
    "install_error_handlers",
    "install_middleware",
    "problem_response",
]
