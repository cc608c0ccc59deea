"""``automated``: call a department capability through the connector gateway."""

from __future__ import annotations

from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from civicloom.applications.steps.base import ClaimedStep, WorkerKind, WorkerTools
from civicloom.catalogue import StepKind
from civicloom.departments import CapabilityCall, CapabilityResult, PermanentError


def _traceparent_now() -> str | None:
    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent")


class AutomatedStep(WorkerKind):
    """The worker calls the step's capability with its idempotency key and the case's trace."""

    kind = StepKind.AUTOMATED

    async def execute(self, claimed: ClaimedStep, tools: WorkerTools) -> CapabilityResult:
        """One call to the department (its errors tell the runner whether to retry)."""
        if tools.gateway is None or claimed.department is None or claimed.capability is None:
            raise PermanentError("automated step without a department capability gateway")
        return await tools.gateway.call(
            CapabilityCall(
                department=claimed.department,
                capability=claimed.capability,
                input=claimed.input,
                idempotency_key=claimed.idempotency_key,
                traceparent=_traceparent_now(),
                callback_url=tools.callback_url(claimed.department) if tools.callback_url else None,
            )
        )
