"""Form checks: field ownership, prefill sources, UI pages, and data-sharing rights."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from civicloom.catalogue.agreements import agreement_for
from civicloom.catalogue.graph import StepGraph
from civicloom.catalogue.refs import Ref, RefError, refs_in
from civicloom.catalogue.spec import Blueprint

if TYPE_CHECKING:
    from civicloom.catalogue.validation import Checker


def field_meta(spec: Blueprint, name: str) -> dict[str, Any]:
    """A field's ``x-owner``/``x-prefill``/``x-visible-to`` (schema, or ``form.ui.fields``)."""
    prop = (spec.form.json_schema.get("properties") or {}).get(name) or {}
    ui = ((spec.form.ui.get("fields") or {}).get(name)) or {}
    return {k: v for k, v in {**ui, **prop}.items() if str(k).startswith("x-")}


def _today() -> date:
    return datetime.now(UTC).date()


def _data_refs(value: Any, path: str) -> list[tuple[str, str]]:
    """(field, path) for every well-formed ``$.data.<field>`` inside a value."""
    return [(r.field, where) for where, r in refs_in(value, path) if isinstance(r, Ref) and r.field]


def _check_prefill_input(checker: Checker, props: Any, value: Any, path: str) -> None:
    """A register is asked with the applicant's answers only: ``$.data.<known field>``."""
    for where, ref in refs_in(value, f"{path}.x-prefill.input"):
        if isinstance(ref, RefError):
            checker.report(where, "bad-reference", str(ref))
        elif ref.field is None:
            checker.report(
                where, "bad-reference", f"{ref.text!r}: a prefill input refers to $.data only"
            )
        elif ref.field not in props:
            checker.report(
                where, "unknown-field", f"{ref.text!r}: the form has no field {ref.field!r}"
            )


def _shown(spec: Blueprint, checker: Checker) -> dict[tuple[str, str], str]:
    """(field, department) → the path where the field is shown or sent to the department."""
    shown: dict[tuple[str, str], str] = {}
    for name in spec.form.json_schema.get("properties") or {}:
        for j, dept in enumerate(field_meta(spec, name).get("x-visible-to") or []):
            shown.setdefault((name, str(dept)), f"form.schema.properties.{name}.x-visible-to[{j}]")
    for i, step in enumerate(spec.steps):
        if step.department:
            for name, path in _data_refs(step.input, f"steps[{i}].input"):
                shown.setdefault((name, step.department), path)
        if step.decision:
            dept = step.decision.model.split("/", 1)[0]
            for name, path in _data_refs(step.decision.input, f"steps[{i}].decision.input"):
                shown.setdefault((name, dept), path)
    if spec.fees:
        dept = spec.fees.model.split("/", 1)[0]
        for name, path in _data_refs(spec.fees.input, "fees.input"):
            shown.setdefault((name, dept), path)
    return shown


def check_form(checker: Checker, spec: Blueprint, graph: StepGraph) -> None:
    """Owners and viewers are departments, prefill sources exist, pages name real fields,
    and no field reaches a department without a data-sharing agreement covering it."""
    ctx = checker.context
    props: dict[str, Any] = spec.form.json_schema.get("properties") or {}
    base = "form.schema.properties"
    for i, name in enumerate(spec.form.json_schema.get("required") or []):
        if name not in props:
            checker.report(
                f"form.schema.required[{i}]",
                "unknown-field",
                f"required field {name!r} is not defined",
            )
    for name in props:
        meta = field_meta(spec, name)  # x-owner and the rest of ownership: ownership.py
        for j, dept in enumerate(meta.get("x-visible-to") or []):
            if dept not in ctx.departments:
                checker.report(
                    f"{base}.{name}.x-visible-to[{j}]",
                    "unknown-department",
                    f"no department {dept!r}",
                )
        prefill = meta.get("x-prefill")
        if isinstance(prefill, dict):
            _check_prefill_input(checker, props, prefill.get("input"), f"{base}.{name}")
        if prefill is not None:
            cap_id = prefill.get("capability") if isinstance(prefill, dict) else None
            cap = ctx.capabilities.get(str(cap_id))
            out = str(prefill.get("path", "")).split(".")[0] if isinstance(prefill, dict) else ""
            if cap is None:
                checker.report(
                    f"{base}.{name}.x-prefill.capability",
                    "unknown-capability",
                    f"no department declares {cap_id!r}",
                )
            elif out not in cap.output_fields():
                checker.report(
                    f"{base}.{name}.x-prefill.path",
                    "unknown-output",
                    f"{cap.id} has no output {out!r}",
                )
            elif agreement_for(ctx.agreements, cap.id, spec.owner, out, _today()) is None:
                checker.report(
                    f"{base}.{name}.x-prefill",
                    "no-prefill-agreement",
                    f"no data-sharing agreement in force lets {spec.owner} read {out!r} from "
                    f"{cap.id} (add it to an agreement in blueprints/agreements)",
                )
    for p, page in enumerate(spec.form.ui.get("pages") or []):
        for f, name in enumerate(page.get("fields") or []):
            if name not in props:
                checker.report(
                    f"form.ui.pages[{p}].fields[{f}]",
                    "unknown-field",
                    f"page shows unknown field {name!r}",
                )
    for i, share in enumerate(spec.data_sharing):
        for key, dept in (("from", share.from_department), ("to", share.to_department)):
            if dept not in ctx.departments:
                checker.report(
                    f"data_sharing[{i}].{key}", "unknown-department", f"no department {dept!r}"
                )
        for j, name in enumerate(share.fields):
            if name != "*" and name not in props:
                checker.report(
                    f"data_sharing[{i}].fields[{j}]", "unknown-field", f"no form field {name!r}"
                )
    for (name, dept), path in sorted(_shown(spec, checker).items(), key=lambda kv: kv[1]):
        if name not in props or dept not in ctx.departments:
            continue  # reported elsewhere
        owner = field_meta(spec, name).get("x-owner") or spec.owner
        if dept == owner:
            continue
        covered = any(
            s.from_department == owner
            and s.to_department == dept
            and ("*" in s.fields or name in s.fields)
            for s in spec.data_sharing
        )
        if not covered:
            checker.report(
                path, "no-data-sharing-right",
                f"field {name!r} (owned by {owner}) is shown to {dept}, which has no data-sharing "
                f"agreement for it (add one to data_sharing)",
            )  # fmt: skip
