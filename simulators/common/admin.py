"""The /_sim admin API and HTTP helpers shared by every simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from simulators.common.faults import FaultConfigError, FaultInjector
from simulators.common.ledger import Ledger


def problem(status: int, title: str, detail: str = "", **extra: Any) -> JSONResponse:
    """Return an RFC 9457 problem+json response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


@dataclass
class Gate:
    """Outcome of the fault gate: an error response to send, or whether to malform."""

    response: JSONResponse | None = None
    malformed: bool = False


async def http_fault_gate(faults: FaultInjector) -> Gate:
    """Apply latency/down/timeout/error faults before any effect; roll malformed."""
    latency = faults.seconds("latency_ms")
    if latency > 0:
        await asyncio.sleep(latency)
    if faults.value("down"):
        return Gate(problem(503, "Service Unavailable", "simulated outage"))
    if faults.roll("timeout_rate"):
        await asyncio.sleep(faults.seconds("timeout_ms"))
        return Gate(problem(504, "Gateway Timeout", "simulated hang"))
    if faults.roll("error_rate"):
        return Gate(problem(503, "Service Unavailable", "simulated error"))
    return Gate(malformed=faults.roll("malformed_rate"))


def delay_answers(app: FastAPI, faults: FaultInjector) -> None:
    """``answer_delay_ms``: hold every department answer (not ``/_sim``) after its effect was
    applied — a slow answer, where ``latency_ms`` is a slow start."""

    @app.middleware("http")
    async def hold(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        delay = faults.seconds("answer_delay_ms")
        if delay > 0 and not request.url.path.startswith("/_sim"):
            await asyncio.sleep(delay)
        return response


def admin_router(
    department: str,
    ledger: Ledger,
    faults: FaultInjector,
    on_reset: Callable[[], None] | None = None,
) -> APIRouter:
    """Build the /_sim router: health, ledger, faults, reset."""
    router = APIRouter(prefix="/_sim", tags=["simulator"])

    @router.get("/health")
    async def health() -> dict[str, str]:
        """Report readiness."""
        return {"status": "ok", "department": department}

    @router.get("/ledger")
    async def ledger_entries() -> dict[str, Any]:
        """List every idempotency ledger entry."""
        return {"entries": ledger.entries()}

    @router.get("/ledger/{key}", response_model=None)
    async def ledger_entry(key: str) -> dict[str, Any] | JSONResponse:
        """Return one ledger entry or 404."""
        entry = ledger.entry(key)
        if entry is None:
            return problem(404, "Not Found", f"no ledger entry for key {key!r}")
        return entry

    @router.get("/faults")
    async def get_faults() -> dict[str, Any]:
        """Return the current fault configuration."""
        return faults.get()

    @router.put("/faults", response_model=None)
    async def put_faults(request: Request) -> dict[str, Any] | JSONResponse:
        """Replace the fault configuration (absent knobs reset to defaults)."""
        try:
            data = await request.json()
            if not isinstance(data, dict):
                raise FaultConfigError("body must be a JSON object")
            return faults.set(data)
        except (FaultConfigError, ValueError) as exc:
            return problem(422, "Invalid faults", str(exc))

    @router.post("/reset")
    async def reset() -> dict[str, str]:
        """Clear the ledger, the faults and any changed state."""
        ledger.reset()
        faults.reset()
        if on_reset is not None:
            on_reset()
        return {"status": "reset"}

    return router


def install_traceparent_echo(app: FastAPI) -> None:
    """Echo the W3C traceparent request header on every response."""

    @app.middleware("http")
    async def echo(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        traceparent = request.headers.get("traceparent")
        if traceparent:
            response.headers["traceparent"] = traceparent
        return response
