"""The employer register and its two operations, shared by AMQP and REST."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simulators.common.ledger import Ledger, utcnow
from simulators.common.seed import load_seed

KIND = "labour.employer"
REGISTER = "labour.register_employer"
UPDATE_ADDRESS = "labour.update_employer_address"


class LabourError(Exception):
    """A refusal that is not applied: ``code`` and the HTTP status it maps to."""

    def __init__(self, code: str, message: str, status: int) -> None:
        """Create the error."""
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def as_reply(self) -> dict[str, Any]:
        """Return the AMQP error reply body."""
        retryable = self.status >= 500
        return {"error": {"code": self.code, "message": self.message, "retryable": retryable}}


class RegisterEmployer(BaseModel):
    """Body of a register-employer request."""

    model_config = ConfigDict(extra="allow")
    registration_number: str = Field(min_length=1)
    employer_name: str = Field(min_length=1)
    staff_count: int = Field(ge=0)


class UpdateEmployerAddress(BaseModel):
    """Body of an update-employer-address request."""

    model_config = ConfigDict(extra="allow")
    registration_number: str = Field(min_length=1)
    new_address: str = Field(min_length=1)
    parcel_id: str | None = None


class EmployerRegister:
    """Seeded employer register; changes persist as ledger records."""

    def __init__(self, ledger: Ledger) -> None:
        """Load seed files."""
        self.ledger = ledger
        self.rules = load_seed("simulators.labour", "rules.json")
        employers = load_seed("simulators.labour", "employers.json")["employers"]
        self.seed: dict[str, dict[str, Any]] = {e["registration_number"]: e for e in employers}

    def get(self, registration_number: str) -> dict[str, Any] | None:
        """Return an employer (seeded or registered) or None."""
        record = self.ledger.get_record(KIND, registration_number)
        if record is not None:
            return record
        seeded = self.seed.get(registration_number)
        return None if seeded is None else dict(seeded)

    def handle(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        """Validate and apply one operation, returning the reply body."""
        try:
            if operation == REGISTER:
                return self._register(RegisterEmployer.model_validate(body))
            if operation == UPDATE_ADDRESS:
                return self._update(UpdateEmployerAddress.model_validate(body))
        except ValidationError as exc:
            fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
            raise LabourError("invalid", f"invalid fields: {', '.join(fields)}", 422) from exc
        raise LabourError("unknown_operation", f"unknown operation {operation!r}", 400)

    def _register(self, req: RegisterEmployer) -> dict[str, Any]:
        existing = self.get(req.registration_number)
        number = (
            existing["employer_number"]
            if existing
            else self.rules["employer_number_prefix"] + req.registration_number.removeprefix("BR-")
        )
        review = req.staff_count > int(self.rules["review_staff_threshold"])
        record = {
            **(existing or {}),
            "registration_number": req.registration_number,
            "employer_name": req.employer_name,
            "employer_number": number,
            "staff_count": req.staff_count,
            "review_required": review,
            "registered_at": utcnow(),
        }
        self.ledger.put_record(KIND, req.registration_number, record)
        return {
            "status": "registered",
            "registration_number": req.registration_number,
            "employer_number": number,
            "review_required": review,
        }

    def _update(self, req: UpdateEmployerAddress) -> dict[str, Any]:
        existing = self.get(req.registration_number)
        if existing is None:
            raise LabourError("not_found", "employer not registered", 404)
        now = utcnow()
        existing.update(address=req.new_address, parcel_id=req.parcel_id, updated_at=now)
        self.ledger.put_record(KIND, req.registration_number, existing)
        return {
            "status": "updated",
            "registration_number": req.registration_number,
            "employer_number": existing["employer_number"],
            "address": req.new_address,
            "updated_at": now,
        }
