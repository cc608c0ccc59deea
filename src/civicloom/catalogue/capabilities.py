"""The capability catalogue: every department capability with its contract, terms and users.

Pure: built from department definitions and blueprints, no I/O (``contracts.py`` reads them).
A department declares each capability in its YAML file (``capabilities:`` with ``id``,
``input_schema``, ``output_schema``, ``version`` and ``sla``); a blueprint's automated step
uses it. ``contract_breaks`` says where a contract no longer fits a service that uses it:
an input the step does not map became required, an input it maps was removed or retyped, or
an output it reads was removed (ADR 0051).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from civicloom.catalogue.refs import Ref, RefError, Root, expression_refs, is_ref, refs_in
from civicloom.catalogue.spec import Blueprint, StepKind
from civicloom.departments import Department
from civicloom.kernel import FieldError, LocalisedText, ValidationFailed


class CapabilitySla(BaseModel):
    """What the department promises about a capability's answers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    response_seconds: float | None = Field(
        None, gt=0, le=3600, description="A synchronous answer (or acknowledgement) within."
    )
    answer_within_hours: float | None = Field(
        None, gt=0, le=24 * 90, description="An asynchronous system's late answer within."
    )
    availability_percent: float | None = Field(
        None, gt=0, le=100, description="Share of the service hours the system answers."
    )


class CapabilityTerms(BaseModel):
    """The catalogue's part of a capability declaration (the connectors read the rest)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*\.[a-z][a-z0-9_]*$")
    description: str = ""
    version: int = Field(1, ge=1, le=10_000, description="Raised with every contract change.")
    sla: CapabilitySla = Field(default_factory=CapabilitySla)
    asynchronous: bool = Field(False, alias="async")
    connector: str = Field("primary", description="Which of the department's connectors.")
    input_schema: dict[str, Any] = Field(default_factory=dict)
    output_schema: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class ServiceUse:
    """Where one published blueprint version calls a capability: an automated step, or the
    prefill of a form field (``x-prefill``)."""

    service_id: str
    version: int
    title: LocalisedText
    kind: str  # "step" or "prefill"
    name: str  # the step id, or the form field prefilled


@dataclass(frozen=True)
class _Call:
    """A use with what the contract must fit: the input it maps (None: the platform's default
    input) and the output fields it reads."""

    use: ServiceUse
    capability: str
    input: dict[str, Any] | None
    reads: frozenset[str]


@dataclass(frozen=True)
class CatalogueEntry:
    """A capability as the catalogue shows it."""

    id: str
    department: str
    department_name: LocalisedText
    description: str
    connector_kind: str
    asynchronous: bool
    version: int
    sla: CapabilitySla
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    used_by: tuple[ServiceUse, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ContractBreak:
    """Where a capability's contract no longer fits a published service."""

    capability: str
    service_id: str
    version: int
    use: str  # "step labour_review", "prefill tax_id"
    rule: str  # newly-required, input-removed, input-retyped, output-removed
    field: str
    message: str


def _connector_kind(department: Department, connector: str) -> str:
    spec = department.connector or {}
    if connector != "primary":
        spec = (spec.get("secondary") or {}).get(connector) or {}
    return str(spec.get("kind") or "")


def capability_terms(department: Department) -> list[CapabilityTerms]:
    """The capabilities a department declares; ValidationFailed names each bad one."""
    terms: list[CapabilityTerms] = []
    errors: list[FieldError] = []
    for i, raw in enumerate((department.model_extra or {}).get("capabilities") or []):
        where = f"{department.id}:capabilities[{i}]"
        try:
            terms.append(CapabilityTerms.model_validate(raw))
        except ValidationError as exc:
            errors.extend(
                FieldError(where + "." + ".".join(map(str, e["loc"])), e["type"], e["msg"])
                for e in exc.errors()
            )
    if errors:
        raise ValidationFailed(errors, f"department {department.id} declares invalid capabilities")
    return terms


def catalogue_entries(
    departments: Iterable[Department], blueprints: Iterable[Blueprint]
) -> list[CatalogueEntry]:
    """Every declared capability with the published blueprint steps that call it, by id."""
    uses: dict[str, list[ServiceUse]] = {}
    for blueprint in blueprints:
        for call in _calls(blueprint):
            uses.setdefault(call.capability, []).append(call.use)
    entries = [
        CatalogueEntry(
            id=terms.id,
            department=department.id,
            department_name=department.name,
            description=terms.description,
            connector_kind=_connector_kind(department, terms.connector),
            asynchronous=terms.asynchronous,
            version=terms.version,
            sla=terms.sla,
            input_schema=terms.input_schema,
            output_schema=terms.output_schema,
            used_by=tuple(
                sorted(
                    uses.get(terms.id, []), key=lambda u: (u.service_id, u.version, u.kind, u.name)
                )
            ),
        )
        for department in departments
        for terms in capability_terms(department)
    ]
    return sorted(entries, key=lambda e: e.id)


# -- compatibility ---------------------------------------------------------------------------

_PYTHON_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def _types(schema: Mapping[str, Any]) -> frozenset[str]:
    """The JSON types a (property) schema admits; empty when it does not say."""
    declared = schema.get("type")
    if declared is None:
        options = schema.get("anyOf") or schema.get("oneOf") or []
        found: set[str] = set()
        for option in options:
            option_types = _types(option)
            if not option_types:
                return frozenset()
            found |= option_types
        return frozenset(found)
    names = {declared} if isinstance(declared, str) else set(declared)
    if "number" in names:
        names.add("integer")
    return frozenset(names)


def _literal_type(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset({"null"})
    for python_type, name in _PYTHON_TYPES:
        if isinstance(value, python_type):
            return frozenset({name})
    return frozenset()


def _properties(schema: Mapping[str, Any]) -> dict[str, Any]:
    return dict(schema.get("properties") or {})


def _source_types(
    blueprint: Blueprint, value: Any, contracts: Mapping[str, Mapping[str, Any]]
) -> frozenset[str]:
    """The types the blueprint feeds an input with (empty when it cannot tell)."""
    if not is_ref(value):
        return _literal_type(value)
    refs = [ref for _, ref in refs_in(value, "") if isinstance(ref, Ref)]
    if len(refs) != 1:
        return frozenset()
    ref = refs[0]
    if ref.root is Root.DATA and len(ref.names) == 1:
        return _types(_properties(blueprint.form.json_schema).get(ref.names[0]) or {})
    if ref.root is Root.STEPS and ref.output and len(ref.names) == 3:
        step = next((s for s in blueprint.steps if s.id == ref.names[0]), None)
        output = contracts.get(step.capability or "") if step else None
        if output is not None:
            return _types(_properties(output).get(ref.output) or {})
    return frozenset()


def _outputs_read(blueprint: Blueprint) -> dict[str, set[str]]:
    """Step id -> output fields the blueprint reads anywhere (inputs, decisions, conditions)."""
    found: list[Ref | RefError] = []
    for step in blueprint.steps:
        found.extend(ref for _, ref in refs_in(step.input, "input"))
        if step.decision:
            found.extend(ref for _, ref in refs_in(step.decision.input, "decision"))
        for expression in (step.when, step.reject_when):
            if expression:
                found.extend(expression_refs(expression))
    read: dict[str, set[str]] = {}
    for ref in found:
        if isinstance(ref, Ref) and ref.root is Root.STEPS and ref.output:
            read.setdefault(ref.names[0], set()).add(ref.output)
    return read


def _calls(blueprint: Blueprint) -> list[_Call]:
    """Every capability call of a blueprint: its automated steps and its prefilled fields."""
    read = _outputs_read(blueprint)
    calls: list[_Call] = []
    for step in blueprint.steps:
        if step.kind == StepKind.AUTOMATED and step.capability:
            use = ServiceUse(blueprint.id, blueprint.version, blueprint.title, "step", step.id)
            reads = frozenset(read.get(step.id, set()))
            calls.append(_Call(use, step.capability, dict(step.input), reads))
    for name, schema in _properties(blueprint.form.json_schema).items():
        prefill = schema.get("x-prefill") if isinstance(schema, Mapping) else None
        if isinstance(prefill, Mapping) and prefill.get("capability"):
            use = ServiceUse(blueprint.id, blueprint.version, blueprint.title, "prefill", name)
            mapped = prefill.get("input")
            path = str(prefill.get("path") or "")
            calls.append(
                _Call(
                    use,
                    str(prefill["capability"]),
                    dict(mapped) if isinstance(mapped, Mapping) else None,
                    frozenset({path.split(".")[0]} if path else set()),
                )
            )
    return calls


def contract_breaks(
    contracts: Mapping[str, CapabilityTerms], blueprints: Iterable[Blueprint]
) -> list[ContractBreak]:
    """Where the given capability contracts no longer fit the blueprints that call them.

    Only capabilities in ``contracts`` are judged (an unknown capability is the blueprint
    validator's business); another step's output feeding an input is typed by its contract.
    """
    outputs = {cid: terms.output_schema for cid, terms in contracts.items()}
    breaks: list[ContractBreak] = []
    for blueprint in blueprints:
        for call in _calls(blueprint):
            terms = contracts.get(call.capability)
            if terms is None:
                continue
            use = f"{call.use.kind} {call.use.name}"
            breaks.extend(
                ContractBreak(terms.id, blueprint.id, blueprint.version, use, *found)
                for found in _call_breaks(blueprint, call, terms, outputs)
            )
    return breaks


def _call_breaks(
    blueprint: Blueprint,
    call: _Call,
    terms: CapabilityTerms,
    outputs: Mapping[str, Mapping[str, Any]],
) -> list[tuple[str, str, str]]:
    """(rule, field, message) for each way one call no longer fits its capability."""
    found: list[tuple[str, str, str]] = []
    where = f"{blueprint.id} v{blueprint.version} ({call.use.kind} {call.use.name})"
    inputs = _properties(terms.input_schema)
    mapped = call.input
    if mapped is not None:
        for name in sorted(set(terms.input_schema.get("required") or []) - set(mapped)):
            message = f"{name!r} is now required but {where} does not map it"
            found.append(("newly-required", name, message))
        for name, value in sorted(mapped.items()):
            if inputs and name not in inputs:
                message = f"{where} maps {name!r}, which is no longer an input"
                found.append(("input-removed", name, message))
                continue
            wanted = _types(inputs.get(name) or {})
            given = _source_types(blueprint, value, outputs)
            if wanted and given and not given <= wanted:
                message = f"{name!r} takes {_names(wanted)} but {where} maps {_names(given)}"
                found.append(("input-retyped", name, message))
    produced = _properties(terms.output_schema)
    for name in sorted(call.reads - produced.keys()):
        message = f"{where} reads the output {name!r}, which is no longer produced"
        found.append(("output-removed", name, message))
    return found


def _names(types: frozenset[str]) -> str:
    shown = types - {"integer"} if "number" in types else types
    return "|".join(sorted(shown))


def refuse_breaks(breaks: list[ContractBreak], detail: str) -> None:
    """ValidationFailed naming every break (field: ``capability.field``), if there is any."""
    if breaks:
        raise ValidationFailed(
            [
                FieldError(f"{b.capability}.{b.field}", "breaks-published-service", b.message)
                for b in breaks
            ],
            detail,
        )
