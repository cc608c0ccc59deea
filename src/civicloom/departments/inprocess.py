"""Capabilities served by Python functions in the same process.

Used for the engine benchmark (no-op capabilities) and for platform-internal capabilities
that need no department system; external departments always go through connectors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from civicloom.departments.ports import (
    CallOutcome,
    CapabilityCall,
    CapabilityResult,
    PermanentError,
)

CapabilityFunction = Callable[[CapabilityCall], Awaitable[dict[str, Any]]]


class InProcessGateway:
    """A capability gateway whose capabilities are async functions, keyed by capability id."""

    def __init__(self, functions: dict[str, CapabilityFunction]) -> None:
        self.functions = dict(functions)

    async def call(self, call: CapabilityCall) -> CapabilityResult:
        """Run the function registered for the capability."""
        function = self.functions.get(call.capability)
        if function is None:
            raise PermanentError(f"unknown capability {call.capability!r}")
        return CapabilityResult(outcome=CallOutcome.COMPLETED, output=await function(call))
