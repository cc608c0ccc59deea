"""Demo personas (../shared/DEMO.md) for the clearly marked dev login of the embedded profile."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from civicloom.identity.domain import STAFF_ROLES_OF_QUEUE, ScopedPrincipal
from civicloom.kernel import Principal


class Persona(BaseModel):
    """A demo person with the roles they hold."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9-]{1,40}$")
    name: str
    roles: list[str]
    department: str | None = None
    description: str = ""
    mandates: list[str] = Field(
        default_factory=list, description="Business registration numbers the persona acts for."
    )


@lru_cache(maxsize=4)
def load_personas(blueprints_dir: Path) -> dict[str, Persona]:
    """The personas file, keyed by id."""
    raw = yaml.safe_load((blueprints_dir / "demo" / "personas.yaml").read_text(encoding="utf-8"))
    personas = [Persona.model_validate(p) for p in raw["personas"]]
    return {p.id: p for p in personas}


def principal_for_persona(persona: Persona) -> Principal:
    """The principal a dev login as this persona acts as."""
    return ScopedPrincipal(
        subject=persona.id,
        display_name=persona.name,
        roles=frozenset(persona.roles),
        department=persona.department,
        authenticated_by="dev-login",
        mandates=frozenset(persona.mandates),
    )


@dataclass(frozen=True)
class StaffMember:
    """A person who works a department's queue, with every role they hold."""

    id: str
    name: str
    department: str
    roles: frozenset[str]


def department_staff(blueprints_dir: Path, department: str) -> dict[str, StaffMember]:
    """The officers and supervisors of one department, keyed by id.

    The one place that says who is staff: today the demo personas file (the staff identity
    provider has no directory to ask); a staff directory replaces this function's body.
    """
    return {
        p.id: StaffMember(p.id, p.name, department, frozenset(p.roles))
        for p in load_personas(blueprints_dir).values()
        if p.department == department and STAFF_ROLES_OF_QUEUE & set(p.roles)
    }
