"""Tax Authority simulator: REST API with optional API-key / bearer auth."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from simulators.common.admin import (
    admin_router,
    delay_answers,
    http_fault_gate,
    install_traceparent_echo,
    problem,
)
from simulators.common.config import CommonOptions, SimArgumentParser, common_options
from simulators.common.faults import FaultInjector, load_faults_file
from simulators.common.ledger import Ledger, utcnow
from simulators.common.runner import configure_logging, serve
from simulators.common.seed import generated_businesses, load_seed

DEPARTMENT = "tax"
log = logging.getLogger("simulators.tax")


class ClearanceRequest(BaseModel):
    """Body of POST /api/v1/clearance-checks."""

    registration_number: str


class AddressChange(BaseModel):
    """Body of POST /api/v1/taxpayers/{reg}/address-changes."""

    new_address: str
    parcel_id: str


class AuthError(Exception):
    """Raised when credentials are missing or wrong."""


class TaxRegister:
    """Seeded taxpayer register with address changes persisted in the ledger DB."""

    def __init__(self, ledger: Ledger) -> None:
        """Load seed data."""
        self.ledger = ledger
        seed = load_seed("simulators.tax", "taxpayers.json")
        gen = seed["generated"]
        self.seed: dict[str, dict[str, Any]] = {}
        for b in generated_businesses():
            reg = b["registration_number"]
            self.seed[reg] = {
                "registration_number": reg,
                "tax_id": f"{gen['tax_id_prefix']}{reg.removeprefix('BR-')}",
                "name": b["name"],
                "standing": gen["standing"],
                "registered_address": b["registered_address"],
            }
        for t in seed["taxpayers"]:
            self.seed[t["registration_number"]] = dict(t)

    def get(self, reg: str) -> dict[str, Any] | None:
        """Return the taxpayer with any persisted address change applied."""
        base = self.seed.get(reg)
        if base is None:
            return None
        changed = self.ledger.get_record("tax.address", reg)
        out = dict(base)
        if changed is not None:
            out["registered_address"] = changed["address"]
        return out


def build_app(
    options: CommonOptions, api_key: str | None = None, bearer_token: str | None = None
) -> FastAPI:
    """Create the tax simulator application."""
    ledger = Ledger(options.data_dir / "ledger.sqlite")
    faults = FaultInjector({}, options.seed, load_faults_file(options.faults_file))
    register = TaxRegister(ledger)
    app = FastAPI(title="Tax Authority simulator")
    app.include_router(admin_router(DEPARTMENT, ledger, faults))
    delay_answers(app, faults)
    install_traceparent_echo(app)

    def authenticate(
        x_api_key: str | None = Header(default=None),
        authorization: str | None = Header(default=None),
    ) -> None:
        if api_key is not None and not (x_api_key and secrets.compare_digest(x_api_key, api_key)):
            raise AuthError("invalid or missing X-API-Key")
        if bearer_token is not None:
            token = (authorization or "").removeprefix("Bearer ").strip()
            if not (authorization or "").startswith("Bearer ") or not secrets.compare_digest(
                token, bearer_token
            ):
                raise AuthError("invalid or missing bearer token")

    @app.exception_handler(AuthError)
    async def on_auth_error(request: Request, exc: AuthError) -> JSONResponse:
        resp = problem(401, "Unauthorized", str(exc))
        resp.headers["WWW-Authenticate"] = "Bearer" if bearer_token else "ApiKey"
        return resp

    @app.post("/api/v1/clearance-checks", dependencies=[Depends(authenticate)], response_model=None)
    async def clearance(
        body: ClearanceRequest,
        request: Request,
        idempotency_key: str | None = Header(default=None),
    ) -> dict[str, Any] | JSONResponse:
        """Check tax clearance for a business (effect: issues a certificate)."""
        if not idempotency_key:
            return problem(400, "Bad Request", "Idempotency-Key header is required")
        gate = await http_fault_gate(faults)
        if gate.response is not None:
            return gate.response
        if gate.malformed:
            return {"registration_number": body.registration_number, "checked_at": utcnow()}

        def apply() -> dict[str, Any]:
            taxpayer = register.get(body.registration_number)
            status = (
                "unknown"
                if taxpayer is None
                else ("cleared" if taxpayer["standing"] == "good" else "arrears")
            )
            cert = None
            if status == "cleared":
                digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:8].upper()
                cert = f"TCC-{datetime.now(UTC).year}-{digest}"
            return {
                "registration_number": body.registration_number,
                "status": status,
                "certificate_number": cert,
                "checked_at": utcnow(),
            }

        response, replayed = ledger.execute(
            idempotency_key, "tax.clearance_check", apply, request.headers.get("traceparent")
        )
        log.info("clearance key=%s replayed=%s", idempotency_key, replayed)
        return response

    @app.get(
        "/api/v1/taxpayers/{registration_number}",
        dependencies=[Depends(authenticate)],
        response_model=None,
    )
    async def taxpayer(registration_number: str) -> dict[str, Any] | JSONResponse:
        """Look up a taxpayer."""
        gate = await http_fault_gate(faults)
        if gate.response is not None:
            return gate.response
        found = register.get(registration_number)
        if found is None:
            return problem(404, "Not Found", "no such taxpayer")
        if gate.malformed:
            found.pop("standing", None)
        return found

    @app.post(
        "/api/v1/taxpayers/{registration_number}/address-changes",
        dependencies=[Depends(authenticate)],
        response_model=None,
    )
    async def address_change(
        registration_number: str,
        body: AddressChange,
        request: Request,
        idempotency_key: str | None = Header(default=None),
    ) -> dict[str, Any] | JSONResponse:
        """Record a new registered address for a taxpayer."""
        if not idempotency_key:
            return problem(400, "Bad Request", "Idempotency-Key header is required")
        gate = await http_fault_gate(faults)
        if gate.response is not None:
            return gate.response
        if register.get(registration_number) is None:
            return problem(404, "Not Found", "no such taxpayer")
        if gate.malformed:
            return {"registration_number": registration_number}

        def apply() -> dict[str, Any]:
            now = utcnow()
            ledger.put_record(
                "tax.address",
                registration_number,
                {"address": body.new_address, "parcel_id": body.parcel_id, "updated_at": now},
            )
            return {
                "registration_number": registration_number,
                "address": body.new_address,
                "updated_at": now,
            }

        response, replayed = ledger.execute(
            idempotency_key, "tax.address_change", apply, request.headers.get("traceparent")
        )
        log.info("address-change key=%s replayed=%s", idempotency_key, replayed)
        return response

    return app


def main(argv: list[str] | None = None) -> None:
    """Parse options and serve the tax simulator."""
    parser = SimArgumentParser(DEPARTMENT)
    parser.option("--api-key", default=None, help="require this X-API-Key")
    parser.option("--bearer-token", default=None, help="require this bearer token")
    ns = parser.parse_args(argv)
    options = common_options(DEPARTMENT, ns)
    configure_logging(options.log_level)
    serve(build_app(options, ns.api_key, ns.bearer_token), options)
