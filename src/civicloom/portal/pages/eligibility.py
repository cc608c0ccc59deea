"""Eligibility pre-check: a few questions, the departments' own decision models, the outcome
and the rule that decided it — before anyone signs in or applies.

What is asked and evaluated comes from the blueprint: ``form.ui.precheck.questions`` (form
fields) and ``form.ui.precheck.lookups`` (steps whose register lookup the pre-check may ask,
e.g. the zoning check of a parcel). A decision model is evaluated when every input it reads is
known from the answers or a lookup; the fee model too. Nothing is stored; see ADR 0022.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jsonschema import Draft202012Validator, FormatChecker

from civicloom.catalogue import (
    Blueprint,
    Ref,
    Root,
    is_ref,
    list_current_blueprints,
    parse_ref,
    refs_in,
)
from civicloom.departments import CallOutcome, CapabilityCall, CapabilityGateway
from civicloom.kernel import FieldError, NotFound, PathId
from civicloom.portal.forms import (
    FormField,
    form_pages,
    parse_field,
    required_message,
    schema_message,
)
from civicloom.portal.pages.common import page
from civicloom.rules import Decision, RuleBook, evaluate
from civicloom.web import (
    ContainerDep,
    GatewayDep,
    OptionalPrincipal,
    RuleBookDep,
    error_list,
    negotiate_locale,
    page_gettext,
    public_route,
)

log = structlog.get_logger(__name__)
eligibility_router = APIRouter(include_in_schema=False)
LOOKUP_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Check:
    """One decision model the pre-check can evaluate, and where each of its inputs comes from."""

    key: str  # the step id, or "fees"
    model: str
    title: Any  # the step's {en, zh-Hans} title; None for the fee
    inputs: Mapping[str, Any]  # the blueprint's decision input mapping
    lookup: Mapping[str, Any] | None = None  # the step whose register lookup feeds the model


@dataclass(frozen=True)
class Outcome:
    """What one model decided for these answers, and why."""

    check: Check
    decision: Decision | None
    unavailable: bool = False  # the department's register did not answer
    reasons: tuple[str, ...] = ()  # the department's words for each rule that fired
    band: str = ""  # the fee's band in the reader's words


def _outcome(check: Check, decision: Decision, book: RuleBook, locale: str) -> Outcome:
    """What a model decided, in the reader's language (the model's own words, ADR 0070)."""
    reasons = tuple(
        book.say(decision.model, r.description or r.node_name, locale) for r in decision.rules
    )
    band = decision.output.get("band")
    words = book.say(decision.model, band, locale) if isinstance(band, str) and band else ""
    return Outcome(check, decision, reasons=reasons, band=words)


@dataclass(frozen=True)
class Precheck:
    """The questions of a service's pre-check and the models they feed."""

    questions: tuple[FormField, ...]
    checks: tuple[Check, ...]
    lookups: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def _step_output_ref(ref: Ref, step_id: str) -> bool:
    return ref.root is Root.STEPS and ref.target == step_id and ref.output is not None


def _refs(mapping: Mapping[str, Any]) -> list[Ref]:
    return [ref for _, ref in refs_in(dict(mapping), "input") if isinstance(ref, Ref)]


def precheck_of(blueprint: Blueprint, locale: str) -> Precheck:
    """The pre-check the blueprint declares (or, by default, every model fed by answers alone)."""
    declared = blueprint.form.precheck
    allowed_lookups = set(declared.lookups if declared else [])
    written = blueprint.step_documents()
    candidates: list[Check] = []
    for step in blueprint.steps:
        if step.decision is None:
            continue
        lookup = written[step.id] if step.id in allowed_lookups and step.capability else None
        # A decision that only says whether a later step is needed (the employer check decides
        # the workplace safety review) is shown under that later step's title.
        needed = next(
            (s for s in blueprint.steps if s.when and f"decisions.{step.id}." in s.when), step
        )
        shown = needed.title or step.title
        title = shown.model_dump(by_alias=True) if shown else None
        candidates.append(Check(step.id, step.decision.model, title, step.decision.input, lookup))
    if blueprint.fees is not None:
        fees = blueprint.fees
        candidates.append(Check("fees", fees.model, None, fees.input))

    def needs(check: Check) -> set[str] | None:
        names: set[str] = set()
        for ref in _refs(check.inputs):
            if ref.field is not None:
                names.add(ref.field)
            elif check.lookup is None or not _step_output_ref(ref, check.key):
                return None  # depends on something only known after applying
        if check.lookup is not None:
            for ref in _refs(check.lookup.get("input") or {}):
                if ref.field is None:
                    return None
                names.add(ref.field)
        return names

    wanted = list(declared.questions if declared else [])
    checks: list[Check] = []
    for check in candidates:
        names = needs(check)
        if names is None or (declared and declared.questions and not names <= set(wanted)):
            continue
        checks.append(check)
        wanted += [n for n in sorted(names) if n not in wanted]
    fields = {f.name: f for p in form_pages(blueprint, locale) for f in p.fields}
    questions = tuple(fields[n] for n in wanted if n in fields)
    lookups = {c.key: c.lookup for c in checks if c.lookup is not None}
    return Precheck(questions, tuple(checks), lookups)


def check_answers(
    precheck: Precheck, form: Mapping[str, Any], _: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed answers and, per question, the message of a missing or wrong answer."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for question in precheck.questions:
        value, error = parse_field(question, form, _)
        if error is None and value is None:
            error = required_message(question, _)
        if error is None:
            validator = Draft202012Validator(question.schema, format_checker=FormatChecker())
            broken = next(iter(validator.iter_errors(value)), None)
            if broken is not None:
                rule = FieldError(question.name, str(broken.validator), broken.message)
                error = schema_message(question, rule, _)
        if error:
            errors[question.name] = error
        else:
            answers[question.name] = value
    return answers, errors


def _resolve(
    mapping: Mapping[str, Any], answers: Mapping[str, Any], output: Mapping[str, Any]
) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for key, value in mapping.items():
        ref = parse_ref(value) if is_ref(value) else None
        if ref is None:
            resolved[key] = value
        elif ref.root is Root.STEPS:  # the lookup step's output (see needs() in precheck_of)
            resolved[key] = output.get(ref.output) if ref.output else None
        else:
            resolved[key] = ref.resolve({"data": answers})
    return resolved


async def _look_up(
    gateway: CapabilityGateway | None,
    service_id: str,
    step: Mapping[str, Any],
    answers: Mapping[str, Any],
) -> dict[str, Any] | None:
    """Ask the department's register (a read); None when it cannot answer now."""
    if gateway is None:
        return None
    query = _resolve(step.get("input") or {}, answers, {})
    digest = hashlib.sha256(repr(sorted(query.items())).encode()).hexdigest()[:24]
    try:
        result = await gateway.call(
            CapabilityCall(
                department=step["department"],
                capability=step["capability"],
                input=query,
                idempotency_key=f"precheck:{service_id}:{step['id']}:{digest}",
                timeout_seconds=LOOKUP_TIMEOUT_SECONDS,
            )
        )
    except Exception as exc:  # a register that is down must not break a public page
        log.warning(
            "precheck_lookup_unavailable", capability=step["capability"], error=type(exc).__name__
        )
        return None
    return dict(result.output) if result.outcome is CallOutcome.COMPLETED else None


async def run_precheck(
    blueprint: Blueprint,
    precheck: Precheck,
    answers: Mapping[str, Any],
    gateway: CapabilityGateway | None,
    book: RuleBook,
    on: date,
    locale: str = "en",
) -> list[Outcome]:
    """Evaluate each model of the pre-check (the version in effect ``on``) on the answers,
    asking a register where declared."""
    outcomes: list[Outcome] = []
    for check in precheck.checks:
        output: dict[str, Any] = {}
        if check.lookup is not None:
            looked_up = await _look_up(gateway, blueprint.id, check.lookup, answers)
            if looked_up is None:
                outcomes.append(Outcome(check, None, unavailable=True))
                continue
            output = looked_up
        decision = evaluate(check.model, _resolve(check.inputs, answers, output), book=book, on=on)
        outcomes.append(_outcome(check, decision, book, locale))
    return outcomes


async def service_blueprint(container: Any, service_id: str) -> Blueprint:
    """The published blueprint of a service in effect now."""
    async with container.uow() as uow:
        published = await list_current_blueprints(uow.session)
    for p in published:
        if p.blueprint.id == service_id:
            return p.blueprint
    raise NotFound(f"no published service {service_id!r}")


@eligibility_router.get("/services/{service_id}/eligibility", dependencies=[public_route()])
async def eligibility(
    book: RuleBookDep,
    gateway: GatewayDep,
    service_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: OptionalPrincipal,
) -> HTMLResponse:
    """Check before applying: a few questions, the departments' rules, the outcome and why."""
    _ = page_gettext(request)
    try:
        blueprint = await service_blueprint(container, service_id)
    except NotFound:
        return page(request, "portal/not_found.html", principal, status_code=404)
    locale = negotiate_locale(request)
    precheck = precheck_of(blueprint, locale)
    form = dict(request.query_params)
    submitted = form.pop("check", None) is not None
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    outcomes: list[Outcome] = []
    if submitted:
        answers, errors = check_answers(precheck, form, _)
        if not errors:
            outcomes = await run_precheck(
                blueprint, precheck, answers, gateway, book, container.clock.now().date(), locale
            )
    ids = {q.name: q.input_id for q in precheck.questions}
    return page(
        request,
        "portal/eligibility.html",
        principal,
        status_code=400 if errors else 200,
        service=blueprint,
        precheck=precheck,
        answers=answers,
        raw=form,
        errors=errors,
        outcomes=outcomes,
        error_summary=error_list(errors, ids) if errors else None,
    )
