"""Labour Office simulator: AMQP worker (optional) and REST twin sharing one ledger."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

from simulators.common.admin import admin_router, problem
from simulators.common.config import CommonOptions, SimArgumentParser, common_options
from simulators.common.faults import FaultInjector, load_faults_file
from simulators.common.ledger import Ledger, utcnow
from simulators.common.runner import configure_logging, serve
from simulators.labour.amqp import AmqpWorker, Names, ReplyDropped
from simulators.labour.register import REGISTER, UPDATE_ADDRESS, EmployerRegister, LabourError

DEPARTMENT = "labour"
LABOUR_FAULTS: dict[str, Any] = {"drop_reply_rate": 0.0}
log = logging.getLogger("simulators.labour")


class LabourService:
    """Faults, idempotency and events around the employer register."""

    def __init__(self, ledger: Ledger, faults: FaultInjector) -> None:
        """Create the service."""
        self.ledger = ledger
        self.faults = faults
        self.register = EmployerRegister(ledger)
        self.worker: AmqpWorker | None = None

    async def handle(
        self, key: str, operation: str, body: dict[str, Any], traceparent: str | None = None
    ) -> dict[str, Any]:
        """Apply faults, then the operation once per key; raise LabourError on refusal."""
        latency = self.faults.seconds("latency_ms")
        if latency > 0:
            await asyncio.sleep(latency)
        if self.faults.value("down"):
            raise LabourError("unavailable", "simulated outage", 503)
        if self.faults.roll("timeout_rate"):
            await asyncio.sleep(self.faults.seconds("timeout_ms"))
            raise LabourError("timeout", "simulated hang", 504)
        if self.faults.roll("error_rate"):
            raise LabourError("unavailable", "simulated error", 503)
        if self.faults.roll("malformed_rate"):
            return {"status": "registered" if operation == REGISTER else "updated"}
        response, replayed = self.ledger.execute(
            key, operation, lambda: self.register.handle(operation, body), traceparent
        )
        log.info("%s key=%s replayed=%s", operation, key, replayed)
        if operation == REGISTER and not replayed and self.worker is not None:
            event = {
                "event": "employer.registered",
                "idempotency_key": key,
                "registration_number": response["registration_number"],
                "employer_number": response["employer_number"],
                "review_required": response["review_required"],
                "occurred_at": utcnow(),
            }
            await self.worker.publish_event("employer.registered", event)
        answer_delay = self.faults.seconds("answer_delay_ms")
        if answer_delay > 0:  # applied, but the answer is slow to leave
            await asyncio.sleep(answer_delay)
        if self.faults.roll("drop_reply_rate"):  # applied, but the answer never arrives
            raise ReplyDropped(key)
        return response


def build_app(options: CommonOptions, amqp_url: str | None, prefix: str = "") -> FastAPI:
    """Create the labour simulator application."""
    ledger = Ledger(options.data_dir / "ledger.sqlite")
    faults = FaultInjector(LABOUR_FAULTS, options.seed, load_faults_file(options.faults_file))
    service = LabourService(ledger, faults)
    if amqp_url:
        service.worker = AmqpWorker(amqp_url, Names(prefix), service.handle)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(service.worker.run()) if service.worker else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if service.worker is not None:
            await service.worker.close()

    app = FastAPI(title="Labour Office simulator", lifespan=lifespan)
    app.include_router(admin_router(DEPARTMENT, ledger, faults))

    @app.get("/_sim/amqp")
    async def amqp_status() -> dict[str, Any]:
        """Report whether the AMQP worker is enabled and consuming."""
        worker = service.worker
        return {
            "enabled": worker is not None,
            "connected": bool(worker and worker.connected),
            "queue": worker.names.requests if worker else None,
        }

    async def rest(
        operation: str, body: dict[str, Any], key: str | None, request: Request
    ) -> dict[str, Any] | JSONResponse:
        if not key:
            return problem(400, "Bad Request", "Idempotency-Key header is required")
        try:
            return await service.handle(key, operation, body, request.headers.get("traceparent"))
        except LabourError as exc:
            return problem(exc.status, exc.code, exc.message)
        except ReplyDropped:  # the REST twin cannot stay silent: the answer is lost as a 502
            return problem(502, "Bad Gateway", "simulated lost answer")

    @app.post("/api/v1/employers", response_model=None)
    async def register_employer(
        body: dict[str, Any], request: Request, idempotency_key: str | None = Header(default=None)
    ) -> dict[str, Any] | JSONResponse:
        """Register an employer (REST twin of labour.register_employer)."""
        return await rest(REGISTER, body, idempotency_key, request)

    @app.post("/api/v1/employers/{registration_number}/address-changes", response_model=None)
    async def update_address(
        registration_number: str,
        body: dict[str, Any],
        request: Request,
        idempotency_key: str | None = Header(default=None),
    ) -> dict[str, Any] | JSONResponse:
        """Change an employer's address (REST twin of labour.update_employer_address)."""
        payload = {**body, "registration_number": registration_number}
        return await rest(UPDATE_ADDRESS, payload, idempotency_key, request)

    @app.get("/api/v1/employers/{registration_number}", response_model=None)
    async def get_employer(registration_number: str) -> dict[str, Any] | JSONResponse:
        """Look up an employer."""
        employer = service.register.get(registration_number)
        return employer if employer else problem(404, "Not Found", "employer not registered")

    return app


def main(argv: list[str] | None = None) -> None:
    """Parse options and serve the labour simulator."""
    parser = SimArgumentParser(DEPARTMENT)
    parser.option("--amqp-url", default=None, help="RabbitMQ URL; REST only when absent")
    parser.option("--amqp-prefix", default="", help="prefix for queue/exchange names")
    ns = parser.parse_args(argv)
    options = common_options(DEPARTMENT, ns)
    configure_logging(options.log_level)
    serve(build_app(options, ns.amqp_url, str(ns.amqp_prefix)), options)
