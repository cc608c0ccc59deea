"""How a department integrates: its connector(s) and its capabilities, read from its YAML file.

Pure data (pydantic); no I/O. Each connector plugin validates its own ``options`` and each
capability's protocol binding (the mapping under the plugin's kind, e.g. ``rest:``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from civicloom.departments import Department
from civicloom.kernel import FieldError, ValidationFailed

PRIMARY = "primary"


class ConnectorSpec(BaseModel):
    """One connector of a department: its plugin kind, simulator and typed options."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = Field(description="Plugin kind: rest, amqp, filedrop, soap, callback.")
    simulator: str | None = Field(None, description="Simulator name used when no URL is set.")
    options: dict[str, Any] = Field(default_factory=dict)
    embedded_fallback: ConnectorSpec | None = Field(
        None, description="Used instead when the profile has no message broker configured."
    )
    secondary: dict[str, ConnectorSpec] = Field(
        default_factory=dict, description="Further connectors of the same department, by name."
    )


class CapabilitySpec(BaseModel):
    """A named operation of a department system with its input and output JSON Schemas."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    name: str
    department: str
    description: str = ""
    connector: str = Field(PRIMARY, description="Which of the department's connectors serves it.")
    asynchronous: bool = Field(
        False, alias="async", description="Answers later (callback or batch file)."
    )
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    accepted_schema: dict[str, Any] | None = Field(
        None, description="Schema of the immediate acknowledgement of an asynchronous call."
    )

    def binding(self, kind: str) -> dict[str, Any]:
        """The protocol mapping of this capability for a connector kind (may be empty)."""
        extra = self.model_extra or {}
        value = extra.get(kind, {})
        return dict(value) if isinstance(value, dict) else {}


class DepartmentIntegration(BaseModel):
    """Everything the connectors need to know about one department."""

    model_config = ConfigDict(frozen=True)

    department: str
    connector: ConnectorSpec
    capabilities: dict[str, CapabilitySpec]

    @classmethod
    def of(cls, department: Department) -> DepartmentIntegration:
        """Read the ``connector:`` and ``capabilities:`` (a list of ``id:`` items) sections."""
        extra = department.model_extra or {}
        raw_caps = extra.get("capabilities") or []
        where = f"{department.id}:capabilities"
        if not isinstance(raw_caps, list):
            raise ValidationFailed([FieldError(where, "type", "must be a list")])
        errors: list[FieldError] = []
        caps: dict[str, CapabilitySpec] = {}
        for i, body in enumerate(raw_caps):
            name = str((body or {}).get("id", ""))
            if not name.startswith(department.id + "."):
                errors.append(
                    FieldError(f"{where}[{i}].id", "prefix", "must start with the department id")
                )
                continue
            try:
                caps[name] = CapabilitySpec.model_validate(
                    {**body, "name": name, "department": department.id}
                )
            except ValidationError as exc:
                errors.extend(
                    FieldError(f"{where}[{i}]." + ".".join(map(str, e["loc"])), e["type"], e["msg"])
                    for e in exc.errors()
                )
        if not department.connector:
            errors.append(FieldError(f"{department.id}:connector", "required", "is missing"))
        if errors:
            raise ValidationFailed(errors, f"department {department.id} integration is invalid")
        return cls(
            department=department.id,
            connector=ConnectorSpec.model_validate(department.connector),
            capabilities=caps,
        )
