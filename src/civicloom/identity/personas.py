"""Demo personas (../shared/DEMO.md) for the clearly marked dev login of the embedded profile."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from civicloom.identity.directory import DemoStaff
from civicloom.identity.domain import ScopedPrincipal
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
    email: str | None = None
    locale: str = "en"


@lru_cache(maxsize=4)
def load_personas(blueprints_dir: Path) -> dict[str, Persona]:
    """The personas file, keyed by id (none when the deployment has no personas file)."""
    path = blueprints_dir / "demo" / "personas.yaml"
    if not path.is_file():
        return {}
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
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


def demo_staff(blueprints_dir: Path) -> list[DemoStaff]:
    """The personas as staff directory entries, for ``demo load`` (ADR 0042)."""
    return [
        DemoStaff(
            id=p.id,
            name=p.name,
            department=p.department,
            roles=frozenset(p.roles),
            email=p.email,
            locale=p.locale,
        )
        for p in load_personas(blueprints_dir).values()
    ]
