"""The semantic diff of a change request: what a person reviewing it needs to read (fields
added, removed or retyped, steps and their order, SLAs, fees, rule rows, template text per
language), each line with the department that owns the touched part."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

import yaml

from civicloom.governance.artifacts import agreement_owner, file_owner
from civicloom.governance.domain import CENTRAL, DiffLine


def _yaml(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    return raw if isinstance(raw, dict) else {}


def _json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        raw = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return raw if isinstance(raw, dict) else {}


def _type(schema: Mapping[str, Any]) -> str:
    kind = str(schema.get("type", "any"))
    fmt = schema.get("format")
    return f"{kind} ({fmt})" if fmt else kind


def _title(schema: Mapping[str, Any], lang: str) -> str:
    titles = schema.get("x-title") or {}
    return str(titles.get(lang) or schema.get("title") or "") if isinstance(titles, dict) else ""


def _sla(step: Mapping[str, Any]) -> int | None:
    sla = step.get("sla") or {}
    days = sla.get("working_days") if isinstance(sla, dict) else None
    return int(days) if isinstance(days, int) else None


def blueprint_diff(before: str | None, after: str | None) -> list[DiffLine]:
    """Fields, steps, order, SLAs, fees and notifications that differ between two blueprints."""
    old, new = _yaml(before), _yaml(after)
    owner = str(new.get("owner") or old.get("owner") or CENTRAL)
    lines: list[DiffLine] = []
    old_fields = ((old.get("form") or {}).get("schema") or {}).get("properties") or {}
    new_fields = ((new.get("form") or {}).get("schema") or {}).get("properties") or {}
    for name, schema in new_fields.items():
        field_owner = str(schema.get("x-owner") or owner)
        if name not in old_fields:
            lines.append(
                DiffLine(
                    "field",
                    "Form field %(field)s added (%(type)s, “%(title)s”)",
                    {"field": name, "type": _type(schema), "title": _title(schema, "en")},
                    field_owner,
                )
            )
            continue
        was = old_fields[name]
        if _type(was) != _type(schema):
            lines.append(
                DiffLine(
                    "field",
                    "Form field %(field)s retyped from %(before)s to %(after)s",
                    {"field": name, "before": _type(was), "after": _type(schema)},
                    field_owner,
                )
            )
        elif json.dumps(was, sort_keys=True) != json.dumps(schema, sort_keys=True):
            lines.append(
                DiffLine("field", "Form field %(field)s changed", {"field": name}, field_owner)
            )
    for name, schema in old_fields.items():
        if name not in new_fields:
            lines.append(
                DiffLine(
                    "field",
                    "Form field %(field)s removed",
                    {"field": name},
                    str(schema.get("x-owner") or owner),
                )
            )
    old_steps = {str(s.get("id")): s for s in old.get("steps") or [] if isinstance(s, dict)}
    new_steps = {str(s.get("id")): s for s in new.get("steps") or [] if isinstance(s, dict)}
    for sid, step in new_steps.items():
        dept = str(step.get("department") or owner)
        if sid not in old_steps:
            lines.append(DiffLine("step", "Step %(step)s added", {"step": sid}, dept))
            continue
        before_days, after_days = _sla(old_steps[sid]), _sla(step)
        if before_days != after_days:
            lines.append(
                DiffLine(
                    "sla",
                    "SLA of step %(step)s changed from %(before)s to %(after)s working days",
                    {"step": sid, "before": str(before_days), "after": str(after_days)},
                    dept,
                )
            )
        rest_old = {k: v for k, v in old_steps[sid].items() if k != "sla"}
        rest_new = {k: v for k, v in step.items() if k != "sla"}
        if json.dumps(rest_old, sort_keys=True) != json.dumps(rest_new, sort_keys=True):
            lines.append(DiffLine("step", "Step %(step)s changed", {"step": sid}, dept))
    for sid, step in old_steps.items():
        if sid not in new_steps:
            lines.append(
                DiffLine(
                    "step",
                    "Step %(step)s removed",
                    {"step": sid},
                    str(step.get("department") or owner),
                )
            )
    shared_old = [s for s in old_steps if s in new_steps]
    shared_new = [s for s in new_steps if s in old_steps]
    if shared_old != shared_new:
        lines.append(
            DiffLine(
                "step",
                "Steps reordered: %(before)s → %(after)s",
                {"before": ", ".join(shared_old), "after": ", ".join(shared_new)},
                owner,
            )
        )
    old_fees, new_fees = old.get("fees") or {}, new.get("fees") or {}
    if json.dumps(old_fees, sort_keys=True) != json.dumps(new_fees, sort_keys=True):
        model = str(new_fees.get("model") or old_fees.get("model") or "")
        lines.append(
            DiffLine(
                "fee",
                "Fee model changed from %(before)s to %(after)s",
                {"before": str(old_fees.get("model") or "—"), "after": model or "—"},
                model.split("/")[0] if "/" in model else owner,
            )
        )
    if new.get("legal_deadline_working_days") != old.get("legal_deadline_working_days"):
        lines.append(
            DiffLine(
                "sla",
                "Legal deadline changed from %(before)s to %(after)s working days",
                {
                    "before": str(old.get("legal_deadline_working_days")),
                    "after": str(new.get("legal_deadline_working_days")),
                },
                owner,
            )
        )
    return lines


def _tables(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        str(n.get("id")): n
        for n in document.get("nodes") or []
        if isinstance(n, dict) and n.get("type") == "decisionTableNode"
    }


def _columns(table: Mapping[str, Any]) -> dict[str, str]:
    content = table.get("content") or {}
    cols = list(content.get("inputs") or []) + list(content.get("outputs") or [])
    return {str(c.get("id")): str(c.get("name") or c.get("field") or c.get("id")) for c in cols}


def model_diff(before: str | None, after: str | None, department: str) -> list[DiffLine]:
    """Rule rows added, removed or changed (cell by cell) between two model versions."""
    old_tables, new_tables = _tables(_json(before)), _tables(_json(after))
    lines: list[DiffLine] = []
    for tid, table in new_tables.items():
        columns = _columns(table)
        name = str(table.get("name") or tid)
        old_rows = {
            str(r.get("_id")): r
            for r in ((old_tables.get(tid) or {}).get("content") or {}).get("rules") or []
        }
        new_rows = {str(r.get("_id")): r for r in (table.get("content") or {}).get("rules") or []}
        for rid, row in new_rows.items():
            label = str(row.get("_description") or rid)
            if rid not in old_rows:
                lines.append(
                    DiffLine(
                        "rule",
                        "Rule row “%(row)s” added to %(table)s",
                        {"row": label, "table": name},
                        department,
                    )
                )
                continue
            for col, col_name in columns.items():
                was, now = old_rows[rid].get(col, ""), row.get(col, "")
                if was != now:
                    lines.append(
                        DiffLine(
                            "fee" if "fee" in col.lower() else "rule",
                            "%(table)s, row “%(row)s”, %(column)s: %(before)s → %(after)s",
                            {
                                "table": name,
                                "row": label,
                                "column": col_name,
                                "before": str(was),
                                "after": str(now),
                            },
                            department,
                        )
                    )
        for rid, row in old_rows.items():
            if rid not in new_rows:
                lines.append(
                    DiffLine(
                        "rule",
                        "Rule row “%(row)s” removed from %(table)s",
                        {"row": str(row.get("_description") or rid), "table": name},
                        department,
                    )
                )
    return lines


def text_diff(rel: str, before: str | None, after: str | None, owner: str) -> list[DiffLine]:
    """Changed lines of a file changed as text (templates per language, agreements, tariffs)."""
    lines: list[DiffLine] = []
    language = rel.rsplit(".", 2)[-2] if rel.startswith("templates/") else ""
    for line in difflib.unified_diff(
        (before or "").splitlines(), (after or "").splitlines(), lineterm="", n=0
    ):
        if line.startswith(("---", "+++", "@@")):
            continue
        message = "%(file)s (%(language)s): %(change)s" if language else "%(file)s: %(change)s"
        lines.append(
            DiffLine(
                "template" if language else "file",
                message,
                {"file": rel, "language": language, "change": line},
                owner,
            )
        )
    return lines


def semantic_diff(
    base: Mapping[str, str], draft: Mapping[str, str], default_owner: str | None = None
) -> list[DiffLine]:
    """Every difference between the published files and the draft, file by file
    (``default_owner`` owns files no other rule assigns, e.g. a service's templates)."""
    lines: list[DiffLine] = []
    blueprint_owner = default_owner
    for rel, text in draft.items():
        if rel.startswith("services/"):
            blueprint_owner = str(_yaml(text).get("owner") or "") or None
    for rel in sorted(set(base) | set(draft)):
        before, after = base.get(rel), draft.get(rel)
        if before == after:
            continue
        if rel.startswith("services/"):
            lines.extend(blueprint_diff(before, after))
        elif rel.startswith("rules/") and rel.endswith(".json"):
            department = rel.split("/")[1]
            if before is None:
                # a new version: compare with the newest version among the base files
                prefix = rel.rsplit("/", 1)[0] + "/"
                olds = sorted(k for k in base if k.startswith(prefix) and k.endswith(".json"))
                before = base[olds[-1]] if olds else None
            lines.extend(model_diff(before, after, department))
        elif rel.startswith("rules/"):
            continue  # test cases: their results are a check, not a difference to approve
        else:
            owner = (
                agreement_owner(after or before or "")
                if rel.startswith("agreements/")
                else file_owner(rel, blueprint_owner)
            )
            lines.extend(text_diff(rel, before, after, owner))
    return lines


def owners(lines: list[DiffLine]) -> tuple[str, ...]:
    """The parties that must approve: every owner of a touched part, then the central team."""
    found = sorted({line.owner for line in lines if line.owner and line.owner != CENTRAL})
    return (*found, CENTRAL)
