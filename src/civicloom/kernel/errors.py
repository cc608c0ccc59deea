"""Domain errors. The web layer maps each to an RFC 9457 problem with a stable ``type``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field: where, which rule, and a readable message."""

    field: str
    rule: str
    message: str


class DomainError(Exception):
    """Base of every error the platform reports to a caller on purpose."""

    slug = "domain-error"
    title = "The request could not be completed"
    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """The thing asked for does not exist, or the caller may not know that it exists."""

    slug = "not-found"
    title = "Not found"
    status = 404


class Conflict(DomainError):
    """The request conflicts with the current state, e.g. an idempotency key reused."""

    slug = "conflict"
    title = "Conflict with the current state"
    status = 409


class PayloadTooLarge(DomainError):
    """The request body is larger than allowed."""

    slug = "payload-too-large"
    title = "Request body too large"
    status = 413


class ValidationFailed(DomainError):
    """Input broke one or more rules; each broken rule is named with its field."""

    slug = "validation-error"
    title = "Your request has invalid fields"
    status = 422

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        super().__init__(detail or f"{len(errors)} field(s) are invalid")
        self.errors = errors
