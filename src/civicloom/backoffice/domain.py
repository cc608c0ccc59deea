"""Back-office value objects and pure rules: SLA states, who may see which document type."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from civicloom.catalogue import Blueprint
from civicloom.kernel import Principal

NOTE_MAX_CHARS = 4000
DUE_SOON = timedelta(days=2)  # same threshold as the API's ``sla`` field
STAFF_ROLES_OF_QUEUE = frozenset({"officer", "supervisor"})


class SlaState(StrEnum):
    """How a task stands against its service-level deadline."""

    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"
    BREACHED = "breached"
    NONE = "none"


def sla_state(sla_due_at: datetime | None, now: datetime) -> SlaState:
    """On track, due soon (within two days) or breached."""
    if sla_due_at is None:
        return SlaState.NONE
    if sla_due_at < now:
        return SlaState.BREACHED
    return SlaState.DUE_SOON if sla_due_at - now <= DUE_SOON else SlaState.ON_TRACK


def is_department_staff(principal: Principal, department: str | None) -> bool:
    """An officer or supervisor of exactly this department."""
    return (
        department is not None
        and principal.department == department
        and bool(STAFF_ROLES_OF_QUEUE & principal.roles)
    )


def step_role(blueprint: Blueprint | None, step_id: str) -> str | None:
    """The department role a blueprint step asks for (``role:``), if any."""
    if blueprint is None:
        return None
    return next((s.role for s in blueprint.steps if s.id == step_id), None)


def visible_document_types(blueprint: Blueprint | None, department: str | None) -> frozenset[str]:
    """Document types a department may open: the blueprint's ``documents[].visible_to`` plus
    every type for the owning department (it collects them)."""
    if blueprint is None or department is None:
        return frozenset()
    return frozenset(
        spec.type
        for spec in blueprint.documents
        if department == blueprint.owner or department in spec.visible_to
    )


@dataclass(frozen=True)
class InspectionPlan:
    """What an officer enters to schedule an inspection."""

    planned_on: date
    note: str | None = None


@dataclass(frozen=True)
class QueueFilter:
    """Work-queue filters and the page wanted (a cursor the queue gave out; None: the first)."""

    service: str | None = None
    state: str | None = None
    sla: SlaState | None = None
    mine: bool = False
    cursor: str | None = None  # a neighbouring page's signed cursor (None: the first page)
    per_page: int = 25


@dataclass(frozen=True)
class RuleTable:
    """A decision table of a model as a person reads it: its columns by name, a row per rule
    named by its description, each cell as the department wrote it ("" means any value)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[str, ...]], ...]


def _cell(value: object) -> str:
    text = str(value or "").strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]  # a string literal reads as its words
    return text


def rule_tables(content: dict[str, Any]) -> list[RuleTable]:
    """The decision tables of a JDM model's content, in the order of its nodes."""
    tables = []
    for node in content.get("nodes") or []:
        if node.get("type") != "decisionTableNode":
            continue
        table = node.get("content") or {}
        columns = [*table.get("inputs", []), *table.get("outputs", [])]
        tables.append(
            RuleTable(
                title=str(node.get("name") or ""),
                columns=tuple(str(c.get("name") or c.get("field") or "") for c in columns),
                rows=tuple(
                    (
                        str(rule.get("_description") or ""),
                        tuple(_cell(rule.get(str(c.get("id")))) for c in columns),
                    )
                    for rule in table.get("rules") or []
                ),
            )
        )
    return tables
