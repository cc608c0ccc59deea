"""The port between the case engine and department systems: capabilities behind connectors.

The engine only ever sees this module. Connector plugins (``civicloom.connectors``) implement
``Connector``; ``bootstrap`` builds them from each department's definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from civicloom.runtime import Key


class CallOutcome(StrEnum):
    """What a department system did with a capability call."""

    COMPLETED = "completed"  # answered now; ``output`` holds the result
    ACCEPTED = "accepted"  # will answer later (callback, batch file); the engine waits


@dataclass(frozen=True)
class CapabilityCall:
    """One call of a department capability, as the engine issues it."""

    department: str
    capability: str  # e.g. "tax.clearance_check"
    input: dict[str, Any]
    idempotency_key: str  # application id + task id + attempt family; never changes on retry
    traceparent: str | None = None
    callback_url: str | None = None  # where an asynchronous system answers
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class CapabilityResult:
    """The answer (or acceptance) of a capability call; ``output`` matches its output schema."""

    outcome: CallOutcome
    output: dict[str, Any] = field(default_factory=dict)
    external_reference: str | None = None


PAYMENTS_SENDER = "payments"
"""``received_from`` of the payments module's completions (provider webhooks, P2G notices):
it may complete only payment steps (ADR 0032)."""


@dataclass(frozen=True)
class ExternalCompletion:
    """A late answer to an ACCEPTED call (a verified callback, a matched batch response).

    ``received_from`` is who authenticated the answer: a department id (its callback secret,
    its signed batch file, its reply queue) or ``PAYMENTS_SENDER``. ``capability``, when the
    channel knows it, is the capability the answer is for. The engine accepts the answer only
    for a task bound to that sender, step kind and capability, while the task waits for it.
    """

    idempotency_key: str
    output: dict[str, Any]
    received_from: str  # department id, or PAYMENTS_SENDER
    capability: str | None = None


class CompletionRefusal(StrEnum):
    """Why the engine did not take an answer (ADR 0032); the values are stable slugs."""

    UNKNOWN_TASK = "unknown-task"  # no task has this key
    WRONG_DEPARTMENT = "wrong-department"  # the task belongs to another department
    WRONG_STEP_KIND = "wrong-step-kind"  # e.g. a department answering a payment step
    WRONG_CAPABILITY = "wrong-capability"  # the answer names another capability
    NOT_WAITING = "not-waiting"  # the task is not waiting for an answer (done, not started)
    CASE_CLOSED = "case-closed"  # the application is already decided

    @property
    def forbidden(self) -> bool:
        """Whether the sender had no right to answer this task at all (vs. answered late)."""
        return self not in (CompletionRefusal.NOT_WAITING, CompletionRefusal.CASE_CLOSED)


@dataclass(frozen=True)
class CompletionVerdict:
    """What the engine did with an answer: accepted it, or refused it (and why)."""

    refusal: CompletionRefusal | None = None
    dead_letter: str | None = None
    """Set when the answer was recorded but the case could not go on with it (a ``when`` or
    ``reject_when`` that fails at run time, a decision model that cannot decide): the step is
    parked as a dead letter with this error. The sender is done either way."""
    waits_again: bool = False
    """Refused as ``not-waiting`` while the step is still open: its wait timed out and it will
    call the department again under the same key, so an answer under this key can still be
    taken. A sender that remembers what it handed over must not remember this one (ADR 0045)."""

    @property
    def accepted(self) -> bool:
        """Whether the answer completed its step."""
        return self.refusal is None

    def __bool__(self) -> bool:
        return self.accepted


class ConnectorError(Exception):
    """Base of connector failures."""


class TransientError(ConnectorError):
    """Worth retrying later: connection refused, timeout, 5xx, breaker open."""


class DepartmentUnavailable(TransientError):
    """The department's circuit breaker is open: try later, and do not count it as an attempt."""


class PermanentError(ConnectorError):
    """Retrying will not help: 4xx, unknown capability, a response breaking its contract."""


class ContractViolation(PermanentError):
    """The department answered with data that breaks the capability's output schema."""


@dataclass(frozen=True)
class HealthReport:
    """Result of a connector's ``check()`` probe."""

    department: str
    kind: str
    healthy: bool
    detail: str
    latency_ms: float


class Connector(Protocol):
    """A plugin that reaches one department system over one protocol."""

    kind: str

    async def call(self, call: CapabilityCall) -> CapabilityResult:
        """Invoke a capability; raise TransientError or PermanentError on failure."""
        ...

    async def check(self) -> HealthReport:
        """Probe the system (no side effects)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class CapabilityGateway(Protocol):
    """What the engine calls: routes a capability to its department's connector and validates
    input and output against the capability's declared JSON Schemas."""

    async def call(self, call: CapabilityCall) -> CapabilityResult:
        """Validate, call the department's connector, validate the output."""
        ...


@runtime_checkable
class AnswerPoller(Protocol):
    """A gateway that can ask a department whether an accepted call has an answer yet (the
    connector's polling fallback, used when a wait times out)."""

    async def fetch_completion(
        self, department: str, capability: str, external_reference: str
    ) -> ExternalCompletion | None:
        """The department's answer to the call it accepted under ``external_reference``, if
        it has one (validated against the capability's output); None if not (yet) or if
        its connector cannot be asked."""
        ...


CAPABILITY_GATEWAY: Key[CapabilityGateway] = Key("capability gateway")
"""The process's gateway to departments' capabilities (absent where no connector is wired)."""
