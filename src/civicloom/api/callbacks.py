"""``POST /api/v1/callbacks/{department}``: where outsourced systems deliver their answers.

Authenticated by the department's HMAC signature, not by a user: the route policy is public.
Collaborators are the container's components, built once by ``civicloom.bootstrap``: the
callback verifiers (``ConnectorRegistry.callback_verifiers()``), the completion handler (the
engine's ``complete_external_step``) and the capability gateway (to check the answer against
the capability's output schema). A process without them answers 503: the department retries.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from civicloom.connectors import REFUSAL_RULES, CallbackRejected, CallbackResult, receive_callback
from civicloom.kernel import DomainError, FieldError, NotFound, PathId, ValidationFailed
from civicloom.web import (
    CallbackVerifiersDep,
    CompletionHandlerDep,
    ContainerDep,
    GatewayDep,
    problem_responses,
)

FORBIDDEN = frozenset(rule for r, (rule, _) in REFUSAL_RULES.items() if r.forbidden)
NOT_AWAITED = frozenset(rule for r, (rule, _) in REFUSAL_RULES.items() if not r.forbidden)
callbacks_router = APIRouter(prefix="/api/v1/callbacks", tags=["callbacks"])


class CallbackReceived(BaseModel, json_schema_extra={"examples": [{"status": "accepted"}]}):
    """What became of a correctly signed callback."""

    status: CallbackResult = Field(
        description="accepted (handed to the case engine) or duplicate (already answered)"
    )


class CallbackRefused(DomainError):
    """A callback that is not signed correctly, is stale, or was already received."""

    slug = "callback-refused"
    title = "Callback refused"
    status = 401


class CallbackConflict(DomainError):
    """A replayed callback."""

    slug = "callback-replayed"
    title = "Callback already received"
    status = 409


class CompletionRefused(ValidationFailed):
    """A correctly signed answer for a task this department may not answer (ADR 0032): another
    department's task, a step kind it does not serve (the fee payment, an officer's task),
    another capability, or a key no task has. Audited as ``completion.refused``."""

    slug = "completion-refused"
    title = "This department may not answer that task"
    status = 403


class CompletionNotAwaited(ValidationFailed):
    """A correctly signed answer for the department's own task that no longer waits for it
    (already answered, or the application is decided). Audited as ``completion.refused``."""

    slug = "completion-not-awaited"
    title = "The task is not waiting for an answer"
    status = 409


class CallbackInvalid(DomainError):
    """A correctly signed callback whose content breaks the capability's contract."""

    slug = "callback-invalid"
    title = "Callback breaks its contract"
    status = 422


class NoCompletionHandler(DomainError):
    """The platform cannot take answers right now; the department should retry."""

    slug = "callbacks-unavailable"
    title = "Callbacks cannot be taken now"
    status = 503


@callbacks_router.post(
    "/{department}",
    operation_id="receiveDepartmentCallback",
    summary="A department's signed answer to a call",
    status_code=200,
    response_model=CallbackReceived,
    # 401 callback-refused (signature, freshness), 403 completion-refused, 404 no such
    # department, 409 callback-replayed or completion-not-awaited, 422 callback-invalid or a
    # malformed path, 503 callbacks-unavailable (retry).
    responses=problem_responses(401, 403, 404, 409, 413, 422, 503),
)
async def receive_department_callback(
    department: PathId,
    request: Request,
    container: ContainerDep,
    verifiers: CallbackVerifiersDep,
    handler: CompletionHandlerDep,
    gateway: GatewayDep,
) -> JSONResponse:
    """Verify a department's signed callback and hand the answer to the case engine."""
    if verifiers is None:
        raise NoCompletionHandler("callbacks are not wired in this process; retry later")
    verifier = verifiers.get(department)
    if verifier is None:
        raise NotFound(f"no callbacks are expected from {department!r}")
    if handler is None:
        raise NoCompletionHandler("no completion handler is configured; retry later")
    check = getattr(gateway, "validate_completion", None)
    raw = await request.body()
    try:
        result = await receive_callback(
            container.uow(), container.clock, verifier, request.headers, raw, handler, check
        )
    except CallbackRejected as exc:
        if exc.reason == "replay":
            raise CallbackConflict(exc.message) from exc
        if exc.reason in ("contract", "malformed"):
            raise CallbackInvalid(exc.message) from exc
        if exc.reason in NOT_AWAITED | FORBIDDEN:
            refused = CompletionNotAwaited if exc.reason in NOT_AWAITED else CompletionRefused
            field = FieldError(verifier.key_field, exc.reason, exc.message)
            raise refused([field], exc.message) from exc
        raise CallbackRefused(exc.message) from exc
    body: dict[str, Any] = {"status": result.value}
    return JSONResponse(body, status_code=200)
