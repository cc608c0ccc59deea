"""``civicloom blueprint validate``: every problem of a blueprint, with file, line and path."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml
import zen
from pydantic import ValidationError

from civicloom.catalogue.capabilities import CapabilityTerms, contract_breaks
from civicloom.catalogue.context import CatalogueContext
from civicloom.catalogue.formcheck import check_form
from civicloom.catalogue.graph import StepGraph
from civicloom.catalogue.ownership import ownership_problems
from civicloom.catalogue.refs import Ref, RefError, Root, expression_refs, refs_in
from civicloom.catalogue.spec import (
    Blueprint,
    PublishableBlueprint,
    Step,
    StepKind,
    StrictPrecheck,
)
from civicloom.catalogue.yamlpos import YamlLines, parse_path
from civicloom.kernel import NotFound
from civicloom.rules import DecisionModel, ModelStatus

_ENDING_KINDS = {StepKind.NOTIFY, StepKind.ISSUE_DOCUMENT}


# A function call whose arguments are all literals (strings, numbers, true/false/null).
_CALL = re.compile(r"\b[A-Za-z_]\w*\s*\(([^()]*)\)")
_STRING = re.compile(r"'[^']*'|\"[^\"]*\"")
_LITERAL_ARGS = re.compile(
    r"^(\s*(-?[0-9][0-9.eE+-]*|true|false|null|\$S)\s*)(,\s*(-?[0-9][0-9.eE+-]*|true|false|null|\$S)\s*)*$"
)


def _zen_error(exc: BaseException) -> str:
    """zen's error without its native stack trace."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    try:
        parsed = json.loads(first)
    except ValueError:
        return first[:200]
    return str(parsed.get("source", first))[:200] if isinstance(parsed, dict) else first[:200]


def poison_calls(expression: str) -> list[tuple[str, str]]:
    """Calls on literals that fail whatever the case holds (``number('many')``, ``len(5)``):
    the expression can never be evaluated once it reaches them."""
    found = []
    for match in _CALL.finditer(expression):
        args = _STRING.sub("$S", match.group(1))
        if not _LITERAL_ARGS.match(args):
            continue
        try:
            zen.evaluate_expression(match.group(0), {})
        except RuntimeError as exc:
            found.append((match.group(0), _zen_error(exc)))
    return found


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a blueprint: where (file, line, path), which rule, and why."""

    file: str
    line: int
    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message} [{self.rule}]"


class Checker:
    """Collects problems for one blueprint document."""

    def __init__(self, file: str, text: str, context: CatalogueContext) -> None:
        self.file = file
        self.lines = YamlLines(text)
        self.context = context
        self.problems: list[Problem] = []

    def report(self, path: str, rule: str, message: str) -> None:
        """Record a problem at a path of the document."""
        self.problems.append(
            Problem(self.file, self.lines.line(parse_path(path)), path, rule, message)
        )

    # -- references -------------------------------------------------------------------------
    def model(self, ref: str, path: str) -> DecisionModel | None:
        """The published model a blueprint refers to, or a problem."""
        try:
            model = self.context.rulebook.resolve(ref, include_drafts=True)
        except NotFound as exc:
            self.report(path, "unknown-model", exc.detail)
            return None
        if model.metadata.status is not ModelStatus.PUBLISHED and "@" not in ref:
            self.report(path, "unpublished-model", f"{ref} has no published version")
        return model

    def check_ref(
        self, spec: Blueprint, graph: StepGraph, ref: Ref, known: frozenset[str], path: str
    ) -> None:
        """Check what one parsed ``data.…``/``steps.…``/``decisions.…`` reference points at."""
        text = ".".join(ref.path)
        if ref.field is not None:
            if ref.field not in (spec.form.json_schema.get("properties") or {}):
                self.report(path, "unknown-field", f"{text!r}: the form has no field {ref.field!r}")
            return
        target = ref.names[0]
        if ref.root is Root.DECISIONS and target == "fees":
            model = self.model(spec.fees.model, "fees.model") if spec.fees else None
            if spec.fees is None:
                self.report(path, "unknown-decision", f"{text!r}: the blueprint declares no fees")
            elif model and ref.output and ref.output not in model.output_fields():
                self.report(
                    path,
                    "unknown-output",
                    f"{text!r}: {model.ref.key} has no output {ref.output!r}",
                )
            return
        step = graph.steps.get(target)
        if step is None:
            self.report(path, "unknown-step", f"{text!r}: there is no step {target!r}")
            return
        if target not in known:
            self.report(
                path, "not-yet-known", f"{text!r}: step {target!r} has not finished at this point"
            )
        if ref.root is Root.STEPS:
            cap = self.context.capabilities.get(step.capability or "")
            if cap and ref.output and ref.output not in cap.output_fields():
                self.report(
                    path, "unknown-output", f"{text!r}: {cap.id} has no output {ref.output!r}"
                )
            return
        if step.decision is None:
            self.report(path, "unknown-decision", f"{text!r}: step {target!r} evaluates no model")
            return
        model = self.model(step.decision.model, f"{path}")
        if model and ref.output and ref.output not in model.output_fields():
            self.report(
                path, "unknown-output", f"{text!r}: {model.ref.key} has no output {ref.output!r}"
            )

    def check_inputs(
        self, spec: Blueprint, graph: StepGraph, value: Any, known: frozenset[str], path: str
    ) -> None:
        """Check every ``$.…`` reference inside an input mapping."""
        for where, ref in refs_in(value, path):
            if isinstance(ref, RefError):
                self.report(where, "bad-reference", str(ref))
            else:
                self.check_ref(spec, graph, ref, known, where)

    def check_condition(
        self, spec: Blueprint, graph: StepGraph, expression: str, known: frozenset[str], path: str
    ) -> None:
        """Syntax of a zen expression, and each reference in it."""
        invalid = zen.validate_expression(expression)
        if invalid:
            self.report(
                path, "bad-expression", f"{expression!r}: {invalid['type']} {invalid['source']}"
            )
            return
        for ref in expression_refs(expression):
            if isinstance(ref, RefError):
                self.report(path, "bad-reference", str(ref))
            else:
                self.check_ref(spec, graph, ref, known, path)
        for call, error in poison_calls(expression):
            self.report(
                path,
                "poison-expression",
                f"{expression!r}: {call} fails on every case ({error}); a step whose "
                "condition cannot be evaluated is dead-lettered",
            )

    def check_template(self, template: str, path: str) -> None:
        """Both language files exist and parse as Jinja."""
        env = jinja2.Environment(autoescape=True)
        for file in self.context.template_files(template):
            if not file.exists():
                self.report(
                    path,
                    "missing-template",
                    f"template file {file.name} of {template!r} is missing",
                )
                continue
            try:
                env.parse(file.read_text(encoding="utf-8"))
            except jinja2.TemplateSyntaxError as exc:
                self.report(path, "bad-template", f"{file.name} line {exc.lineno}: {exc.message}")

    def check_holder(self, spec: Blueprint, graph: StepGraph) -> None:
        """The certificate's holder is read from the answers: only ``$.data`` references."""
        certificate = spec.outputs.certificate
        if certificate is None or certificate.holder is None:
            return
        declared = certificate.holder.model_dump(exclude_none=True)
        for where, ref in refs_in(declared, "outputs.certificate.holder"):
            if isinstance(ref, RefError):
                self.report(where, "bad-reference", str(ref))
            elif ref.root is not Root.DATA:
                self.report(
                    where, "holder-reference", f"{ref.text!r}: the holder is read from $.data"
                )
            else:
                self.check_ref(spec, graph, ref, frozenset(graph.steps), where)

    # -- steps and graph ---------------------------------------------------------------------
    def check_step(self, spec: Blueprint, graph: StepGraph, i: int, step: Step) -> None:
        """Department, capability, role, template and references of one step."""
        path = f"steps[{i}]"
        if step.kind not in self.context.step_kinds:
            known = ", ".join(sorted(self.context.step_kinds))
            self.report(
                f"{path}.kind",
                "unknown-step-kind",
                f"no handler for step kind {str(step.kind)!r} (known kinds: {known})",
            )
        dept = self.context.departments.get(step.department or "")
        needs_dept = step.kind in (StepKind.AUTOMATED, StepKind.OFFICER_REVIEW, StepKind.PAYMENT)
        if step.department and dept is None:
            self.report(
                f"{path}.department", "unknown-department", f"no department {step.department!r}"
            )
        elif needs_dept and not step.department:
            self.report(path, "department-required", f"a {step.kind} step names its department")
        if step.kind is StepKind.AUTOMATED:
            cap = self.context.capabilities.get(step.capability or "")
            if not step.capability:
                self.report(path, "capability-required", "an automated step calls a capability")
            elif cap is None:
                self.report(
                    f"{path}.capability",
                    "unknown-capability",
                    f"no department declares {step.capability!r}",
                )
            elif cap.department != step.department:
                self.report(
                    f"{path}.capability",
                    "capability-department",
                    f"{cap.id} belongs to {cap.department}, not {step.department}",
                )
            else:
                required = set(cap.input_schema.get("required") or [])
                if missing := sorted(required - set(step.input)):
                    self.report(
                        f"{path}.input", "missing-input", f"{cap.id} needs {', '.join(missing)}"
                    )
        if step.kind is StepKind.OFFICER_REVIEW:
            if not step.role:
                self.report(path, "role-required", "an officer review names the role that does it")
            elif dept is not None and step.role not in dept.roles:
                self.report(f"{path}.role", "unknown-role", f"{dept.id} has no role {step.role!r}")
        if step.kind in (StepKind.NOTIFY, StepKind.APPLICANT_ACTION) and not step.template:
            self.report(path, "template-required", f"a {step.kind} step names its template")
        if step.kind is StepKind.TIMER and step.duration is None:
            self.report(path, "duration-required", "a timer step declares its duration")
        if step.kind is StepKind.PAYMENT and spec.fees is None:
            self.report(path, "fees-required", "a payment step needs the blueprint's fees model")
        if step.kind is StepKind.ISSUE_DOCUMENT and not (step.template or spec.outputs.certificate):
            self.report(
                path, "template-required", "issue_document needs outputs.certificate or a template"
            )
        if step.template:
            self.check_template(step.template, f"{path}.template")
        before = graph.ancestors(step.id)
        self.check_inputs(spec, graph, step.input, before, f"{path}.input")
        if step.when:
            self.check_condition(spec, graph, step.when, before, f"{path}.when")
        after_self = before | {step.id}
        if step.decision:
            self.model(step.decision.model, f"{path}.decision.model")
            self.check_inputs(
                spec, graph, step.decision.input, after_self, f"{path}.decision.input"
            )
        if step.reject_when:
            self.check_condition(spec, graph, step.reject_when, after_self, f"{path}.reject_when")

    def check_graph(self, spec: Blueprint, graph: StepGraph) -> None:
        """Unique ids, known predecessors, no cycles, nothing unreachable, no dead ends."""
        index = {s.id: i for i, s in enumerate(spec.steps)}
        seen: set[str] = set()
        for i, step in enumerate(spec.steps):
            if step.id in seen:
                self.report(
                    f"steps[{i}].id", "duplicate-step", f"step id {step.id!r} is used twice"
                )
            seen.add(step.id)
            for j, dep in enumerate(step.after):
                if dep not in graph.steps:
                    self.report(
                        f"steps[{i}].after[{j}]", "unknown-step", f"there is no step {dep!r}"
                    )
                elif dep == step.id:
                    self.report(f"steps[{i}].after[{j}]", "cycle", f"{step.id!r} waits for itself")
        for cycle in graph.cycles():
            if len(cycle) > 2:
                self.report(
                    f"steps[{index[cycle[0]]}].after",
                    "cycle",
                    "steps wait for each other: " + " → ".join(cycle),
                )
        if not graph.roots():
            self.report(
                "steps", "no-start", "no step starts on submission (every step has 'after')"
            )
        ordered = set(graph.topological_order())
        for sid, i in index.items():
            if sid not in ordered:
                self.report(
                    f"steps[{i}]",
                    "unreachable",
                    f"step {sid!r} can never start (it waits on a cycle or an unknown step)",
                )
        for sid in graph.leaves():
            step = graph.steps[sid]
            if step.kind not in _ENDING_KINDS and not step.end:
                self.report(
                    f"steps[{index[sid]}]", "dead-end",
                    f"nothing follows {step.kind} step {sid!r}: its result is never used "
                    "(add a following step, or mark it 'end: true')",
                )  # fmt: skip

    # -- the rest ----------------------------------------------------------------------------
    def check(self, spec: PublishableBlueprint) -> None:
        """Every check on a structurally valid blueprint."""
        graph = StepGraph({s.id: s for s in spec.steps})
        if spec.owner not in self.context.departments:
            self.report("owner", "unknown-department", f"no department {spec.owner!r}")
        if not self.context.calendar_path(spec.calendar).exists():
            self.report("calendar", "unknown-calendar", f"no holiday calendar {spec.calendar!r}")
        self.check_graph(spec, graph)
        for i, step in enumerate(spec.steps):
            self.check_step(spec, graph, i, step)
        if spec.fees:
            self.model(spec.fees.model, "fees.model")
            self.check_inputs(spec, graph, spec.fees.input, frozenset(graph.steps), "fees.input")
        for i, note in enumerate(spec.notifications):
            self.check_template(note.template, f"notifications[{i}].template")
        if spec.outputs.certificate:
            self.check_template(spec.outputs.certificate.template, "outputs.certificate.template")
            self.check_holder(spec, graph)
        check_form(self, spec, graph)
        for problem in ownership_problems(spec, frozenset(self.context.departments)):
            self.report(problem.path, problem.rule, problem.message)
        self.check_precheck(spec)
        self.check_contracts(spec)
        self.check_deemed_approval(spec)

    def check_deemed_approval(self, spec: PublishableBlueprint) -> None:
        """A deemed approval closes the case and cancels every open step: a service with a fee,
        a licence or a check that can refuse would be approved unpaid, without its licence, or
        over a refusal (ADR 0053, found by the attack review); such services escalate instead."""
        rule = spec.deadline_passed
        if rule is None or rule.action.value != "deemed_approval":
            return
        for step in spec.steps:
            refuses = step.reject_when is not None
            if step.kind in (StepKind.PAYMENT, StepKind.ISSUE_DOCUMENT) or refuses:
                why = "can refuse" if refuses else f"is a {step.kind} step"
                self.report(
                    "deadline_passed.action",
                    "deemed-approval-unsafe",
                    f"deemed approval would cancel step {step.id!r}, which {why}: use"
                    " `escalate` (or `mark_overdue`) for this service",
                )
                return

    def check_contracts(self, spec: PublishableBlueprint) -> None:
        """Inputs a capability does not take, or takes with another type, and inputs a prefill
        leaves out (ADR 0051); a step's missing inputs and unknown outputs, and a prefill's
        output, are reported by ``check_step``, ``check_ref`` and ``check_form``."""
        contracts = {
            c.id: CapabilityTerms.model_construct(
                id=c.id, input_schema=c.input_schema, output_schema=c.output_schema
            )
            for c in self.context.capabilities.values()
        }
        index = {s.id: i for i, s in enumerate(spec.steps)}
        for found in contract_breaks(contracts, [spec]):
            kind, name = found.use.split(" ", 1)
            if kind == "step" and found.rule in ("input-removed", "input-retyped"):
                path = f"steps[{index[name]}].input.{found.field}"
            elif kind == "prefill" and found.rule != "output-removed":
                path = f"form.schema.properties.{name}.x-prefill.input"
            else:
                continue
            self.report(path, found.rule, found.message)

    def check_precheck(self, spec: PublishableBlueprint) -> None:
        """``form.ui.precheck`` has only the keys the portal reads."""
        raw = spec.form.ui.get("precheck")
        if raw is None:
            return
        try:
            StrictPrecheck.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(part) for part in err["loc"])
                path = "form.ui.precheck" + (f".{where}" if where else "")
                self.report(path, "bad-precheck", err["msg"])


def validate_blueprint_text(text: str, file: str, context: CatalogueContext) -> list[Problem]:
    """All problems of one blueprint document (an empty list means it is valid)."""
    checker = Checker(file, text, context)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return [Problem(file, line, "", "yaml", str(exc).splitlines()[0])]
    try:
        spec = PublishableBlueprint.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            path = ""
            for part in err["loc"]:
                path += (
                    f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
                )
            checker.report(path, err["type"], err["msg"])
        return checker.problems
    checker.check(spec)
    return checker.problems


def validate_blueprint_file(path: Path, context: CatalogueContext) -> list[Problem]:
    """All problems of one blueprint file."""
    return validate_blueprint_text(path.read_text(encoding="utf-8"), str(path), context)
