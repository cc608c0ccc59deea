"""``POST /api/v1/callbacks/{department}``: where outsourced systems deliver their answers.

Authenticated by the department's HMAC signature, not by a user: the route policy is public.
Collaborators come from ``app.state``: ``container`` (database, clock), ``callback_verifiers``
(``ConnectorRegistry.callback_verifiers()``; built from the settings and department files when
absent), ``external_completions`` (the engine's ``complete_external_step``) and optionally
``capability_gateway`` (to check the answer against the capability's output schema).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from civicloom.connectors.callback import CallbackRejected, CallbackVerifier
from civicloom.connectors.registry import build_connectors
from civicloom.connectors.services import receive_callback
from civicloom.departments import load_departments
from civicloom.kernel import DomainError, NotFound
from civicloom.runtime import Container

callbacks_router = APIRouter(prefix="/api/v1/callbacks", tags=["callbacks"])


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


def _verifiers(request: Request, container: Container) -> dict[str, CallbackVerifier]:
    state = request.app.state
    verifiers: dict[str, CallbackVerifier] | None = getattr(state, "callback_verifiers", None)
    if verifiers is None:
        settings = container.settings
        registry = build_connectors(load_departments(settings.blueprints_dir), settings)
        verifiers = registry.callback_verifiers()
        state.callback_verifiers = verifiers
    return verifiers


@callbacks_router.post("/{department}", status_code=200)
async def receive_department_callback(department: str, request: Request) -> JSONResponse:
    """Verify a department's signed callback and hand the answer to the case engine."""
    container = request.app.state.container
    assert isinstance(container, Container)
    verifier = _verifiers(request, container).get(department)
    if verifier is None:
        raise NotFound(f"no callbacks are expected from {department!r}")
    handler = getattr(request.app.state, "external_completions", None)
    if handler is None:
        raise NoCompletionHandler("no completion handler is configured; retry later")
    gateway = getattr(request.app.state, "capability_gateway", None)
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
        raise CallbackRefused(exc.message) from exc
    body: dict[str, Any] = {"status": result.value}
    return JSONResponse(body, status_code=200)
