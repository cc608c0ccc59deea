"""The CapabilityGateway the case engine calls: route, validate, break circuits."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError

from civicloom.connectors.base import body_hash
from civicloom.connectors.breaker import BreakerSnapshot, CircuitBreaker
from civicloom.connectors.domain import CapabilitySpec
from civicloom.connectors.registry import ConnectorRegistry
from civicloom.departments import (
    CallOutcome,
    CapabilityCall,
    CapabilityResult,
    ContractViolation,
    DepartmentUnavailable,
    ExternalCompletion,
    HealthReport,
    PermanentError,
    TransientError,
)
from civicloom.observability import get_logger

log = get_logger("civicloom.connectors.gateway")


class BreakerOpen(DepartmentUnavailable):
    """The department's circuit breaker is open: the call was not attempted."""


def _describe(error: SchemaError) -> str:
    """Where and which rule, without echoing the (possibly personal) value."""
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    if error.validator in ("required", "additionalProperties"):
        return f"{where}: {error.message}"
    rule = repr(error.validator_value)
    return f"{where}: breaks {error.validator} {rule[:80]}"


class ConnectorGateway:
    """Routes a capability to its department's connector and checks both sides of the contract."""

    def __init__(
        self,
        registry: ConnectorRegistry,
        *,
        failure_threshold: int = 5,
        reset_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.breakers = {
            dept: CircuitBreaker(dept, failure_threshold, reset_seconds, clock)
            for dept in registry.departments()
        }
        self._validators: dict[tuple[str, str], Draft202012Validator] = {}

    def _validator(self, cap: CapabilitySpec, which: str) -> Draft202012Validator | None:
        key = (cap.name, which)
        if key not in self._validators:
            schema: dict[str, Any] | None = getattr(cap, f"{which}_schema")
            if schema is None:
                return None
            self._validators[key] = Draft202012Validator(schema, format_checker=FormatChecker())
        return self._validators[key]

    def _check(self, cap: CapabilitySpec, which: str, data: dict[str, Any], key: str) -> None:
        validator = self._validator(cap, which)
        if validator is None:
            return
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            problems = "; ".join(_describe(e) for e in errors[:5])
            log.warning(
                "capability_contract_violation",
                department=cap.department,
                capability=cap.name,
                side=which,
                key_sha256=body_hash(key),
                problems=problems,
            )
            raise ContractViolation(f"{which} of {cap.name} breaks its contract: {problems}")

    async def call(self, call: CapabilityCall) -> CapabilityResult:
        """Validate the input, call the department's connector, validate the output."""
        cap = self.registry.capability(call.department, call.capability)
        self._check(cap, "input", call.input, call.idempotency_key)
        connector = self.registry.connector_for(cap)
        breaker = self.breakers[call.department]
        if not breaker.allow():
            raise BreakerOpen(f"{call.department}: circuit breaker open; call not attempted")
        try:
            result = await connector.call(call)
        except TransientError:
            breaker.record_failure()
            raise
        except PermanentError:
            breaker.record_success()  # the system answered; it just said no
            raise
        except Exception as exc:
            breaker.release()
            log.error(
                "connector_crashed",
                department=call.department,
                capability=call.capability,
                exc_info=exc,
            )
            raise TransientError(
                f"{call.department}: connector error {type(exc).__name__}"
            ) from exc
        breaker.record_success()
        which = "output" if result.outcome is CallOutcome.COMPLETED else "accepted"
        self._check(cap, which, result.output, call.idempotency_key)
        return result

    async def fetch_completion(
        self, department: str, capability: str, external_reference: str
    ) -> ExternalCompletion | None:
        """Ask the department's connector for the answer to an accepted call (its polling
        fallback); None when it has none yet or cannot be asked. A ready answer is checked
        against the capability's output schema."""
        cap = self.registry.capability(department, capability)
        connector = self.registry.connector_for(cap)
        fetch = getattr(connector, "fetch_completion", None)
        if fetch is None:
            return None
        found: ExternalCompletion | None = await fetch(external_reference)
        if found is not None:
            self.validate_completion(capability, found)
        return found

    def validate_completion(self, capability: str, completion: ExternalCompletion) -> None:
        """Check a late answer (callback, batch response) against the capability's output."""
        cap = self.registry.capability(completion.received_from, capability)
        self._check(cap, "output", completion.output, completion.idempotency_key)

    def hold_open(self, department: str, seconds: float) -> None:
        """Hold this department's breaker open: another worker's opened (ADR 0062)."""
        breaker = self.breakers.get(department)
        if breaker is not None:
            breaker.hold_open(seconds)

    def breaker_states(self) -> list[BreakerSnapshot]:
        """Every department's breaker, for the operator screen."""
        return [b.snapshot() for _, b in sorted(self.breakers.items())]

    async def check_all(self) -> list[HealthReport]:
        """Run every connector's probe."""
        return await self.registry.check_all()
