"""Who is acting: the identity every use case receives from the web or CLI layer."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Principal:
    """An authenticated person or system, with its roles and (for staff) department."""

    subject: str
    display_name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    department: str | None = None
    authenticated_by: str = "unknown"

    @property
    def audit_name(self) -> str:
        """How the principal appears in audit entries (an id, never personal data)."""
        return f"{self.authenticated_by}:{self.subject}"
