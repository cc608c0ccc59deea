"""Environment Department simulator: accepts screenings, calls back later, signed."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from simulators.common.admin import admin_router, http_fault_gate, problem
from simulators.common.config import CommonOptions, SimArgumentParser, common_options
from simulators.common.faults import FaultInjector, load_faults_file
from simulators.common.ledger import Ledger, utcnow
from simulators.common.runner import configure_logging, serve
from simulators.environment.callbacks import KIND, CallbackDispatcher, assess

DEPARTMENT = "environment"
log = logging.getLogger("simulators.environment")


class ScreeningRequest(BaseModel):
    """Body of POST /api/screenings."""

    callback_url: str = Field(pattern=r"^https?://")
    registration_number: str
    parcel_id: str
    seating: int = Field(ge=0)
    grease_trap: bool
    activity: str


def build_app(options: CommonOptions, secret: str, callback_delay_ms: int = 1500) -> FastAPI:
    """Create the environment simulator application."""
    ledger = Ledger(options.data_dir / "ledger.sqlite")
    extra = {
        "callback_delay_ms": callback_delay_ms,
        "late_callback_ms": 0,
        "duplicate_callback_rate": 0.0,
        "bad_signature_rate": 0.0,
        "drop_callback_rate": 0.0,
    }
    faults = FaultInjector(extra, options.seed, load_faults_file(options.faults_file))
    dispatcher = CallbackDispatcher(ledger, faults, secret)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        dispatcher.resume_pending()
        yield
        dispatcher.cancel_all()

    app = FastAPI(title="Environment Department simulator", lifespan=lifespan)
    app.include_router(admin_router(DEPARTMENT, ledger, faults, dispatcher.cancel_all))

    @app.post("/api/screenings", status_code=202, response_model=None)
    async def create_screening(
        body: ScreeningRequest, idempotency_key: str | None = Header(default=None)
    ) -> dict[str, Any] | JSONResponse:
        """Accept a screening; the outcome arrives later by signed callback."""
        if not idempotency_key:
            return problem(400, "Bad Request", "Idempotency-Key header is required")
        gate = await http_fault_gate(faults)
        if gate.response is not None:
            return gate.response
        if gate.malformed:
            return {"status": "accepted"}

        def apply() -> dict[str, Any]:
            screening_id = "SCR-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:12]
            outcome, reasons = assess(body.seating, body.grease_trap)
            ledger.put_record(
                KIND,
                screening_id,
                {
                    "screening_id": screening_id,
                    "idempotency_key": idempotency_key,
                    "status": "accepted",
                    "outcome": outcome,
                    "reasons": reasons,
                    "accepted_at": utcnow(),
                    "completed_at": None,
                    "callback_url": body.callback_url,
                    "registration_number": body.registration_number,
                    "parcel_id": body.parcel_id,
                },
            )
            return {"screening_id": screening_id, "status": "accepted"}

        response, replayed = ledger.execute(idempotency_key, "environment.screening", apply)
        if not replayed:
            dispatcher.schedule(response["screening_id"])
        log.info("screening key=%s replayed=%s", idempotency_key, replayed)
        return response

    @app.get("/api/screenings/{screening_id}", response_model=None)
    async def get_screening(screening_id: str) -> dict[str, Any] | JSONResponse:
        """Return a screening's status (polling fallback for lost callbacks)."""
        gate = await http_fault_gate(faults)
        if gate.response is not None:
            return gate.response
        record = ledger.get_record(KIND, screening_id)
        if record is None:
            return problem(404, "Not Found", "no such screening")
        done = record["status"] == "completed"
        return {
            "screening_id": screening_id,
            "idempotency_key": record["idempotency_key"],
            "status": record["status"],
            "outcome": record["outcome"] if done else None,
            "reasons": record["reasons"] if done else [],
            "completed_at": record["completed_at"],
            "callback": {
                "attempts": record.get("callback_attempts", 0),
                "deliveries": record.get("callback_deliveries", 0),
                "last_status": record.get("last_callback_status"),
            },
        }

    return app


def main(argv: list[str] | None = None) -> None:
    """Parse options and serve the environment simulator."""
    parser = SimArgumentParser(DEPARTMENT)
    parser.option("--callback-secret", default=None, help="HMAC secret for callbacks (required)")
    parser.option("--callback-delay-ms", type=int, default=1500, help="delay before callback")
    ns = parser.parse_args(argv)
    if not ns.callback_secret:
        parser.error("--callback-secret (or SIM_ENVIRONMENT_CALLBACK_SECRET) is required")
    options = common_options(DEPARTMENT, ns)
    configure_logging(options.log_level)
    serve(build_app(options, str(ns.callback_secret), int(ns.callback_delay_ms)), options)
