"""SMS provider simulator.

- ``POST /v1/messages`` (``Idempotency-Key``), body ``{"to": "+…", "text": "…"}`` →
  ``202 {"id": "SM<hex>", "status": "queued"}``; a repeated key returns the same answer and
  sends nothing more. Faults (``down``, ``error_rate``, …) refuse before any effect.
- ``GET /v1/messages`` lists what was "sent" (newest last), for tests and the demo.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from simulators.common.admin import admin_router, http_fault_gate, install_traceparent_echo, problem
from simulators.common.config import CommonOptions, SimArgumentParser, common_options
from simulators.common.faults import FaultInjector, load_faults_file
from simulators.common.ledger import Ledger, utcnow
from simulators.common.runner import configure_logging, serve

DEPARTMENT = "sms"
MESSAGE = "sms.message"
log = logging.getLogger("simulators.sms")


class SmsRequest(BaseModel):
    """Body of POST /v1/messages."""

    to: str = Field(pattern=r"^\+[0-9]{6,15}$")
    text: str = Field(min_length=1, max_length=1600)


def build_app(options: CommonOptions) -> FastAPI:
    """Create the SMS provider simulator."""
    ledger = Ledger(options.data_dir / "ledger.sqlite")
    faults = FaultInjector({}, options.seed, load_faults_file(options.faults_file))
    app = FastAPI(title="SMS provider simulator")
    app.include_router(admin_router(DEPARTMENT, ledger, faults))
    install_traceparent_echo(app)

    @app.post("/v1/messages", status_code=202, response_model=None)
    async def send(
        body: SmsRequest, idempotency_key: str | None = Header(default=None)
    ) -> dict[str, Any] | JSONResponse:
        """Accept one text message (idempotent by key)."""
        if not idempotency_key:
            return problem(400, "Bad Request", "Idempotency-Key header is required")
        gate = await http_fault_gate(faults)
        if gate.response is not None:
            return gate.response

        def apply() -> dict[str, Any]:
            message_id = "SM" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
            ledger.put_record(
                MESSAGE,
                message_id,
                {"id": message_id, "to": body.to, "text": body.text, "at": utcnow()},
            )
            return {"id": message_id, "status": "queued"}

        response, replayed = ledger.execute(idempotency_key, "sms.send", apply)
        log.info("sms key=%s replayed=%s", idempotency_key, replayed)
        return response

    @app.get("/v1/messages")
    async def messages() -> dict[str, Any]:
        """Every message accepted so far."""
        records = sorted(ledger.records(MESSAGE).values(), key=lambda m: str(m["at"]))
        return {"messages": records}

    return app


def main(argv: list[str] | None = None) -> None:
    """Parse options and serve the SMS simulator."""
    parser = SimArgumentParser(DEPARTMENT)
    ns = parser.parse_args(argv)
    options = common_options(DEPARTMENT, ns)
    configure_logging(options.log_level)
    serve(build_app(options), options)
