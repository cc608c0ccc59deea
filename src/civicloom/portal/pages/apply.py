"""Pages for finding a service and applying: catalogue, service page, form pages, check, send."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from civicloom.catalogue import (
    Blueprint,
    data_ref,
    list_current_blueprints,
    load_register_catalogue,
    validate_form_data,
)
from civicloom.kernel import Conflict, NotFound, PathId, ValidationFailed
from civicloom.portal.forms import (
    FormPage,
    display_value,
    form_pages,
    page_errors,
    parse_field,
    parse_page,
)
from civicloom.portal.pages.common import APPLICANT_PAGE, OWN_OBJECT_PAGE, page
from civicloom.portal.pages.consent import asked_questions, consent_view
from civicloom.portal.queries import department_names
from civicloom.portal.services import (
    Draft,
    apply_prefill,
    current_agreements,
    discard_draft,
    get_draft,
    prefill_plans,
    save_answers,
    start_draft,
    submit_draft,
)
from civicloom.registries import (
    Consent,
    agreement_purposes,
    list_consents,
    purpose_in_words,
    revoke_consent,
)
from civicloom.rules import RuleBook, evaluate
from civicloom.web import (
    ContainerDep,
    CurrentPrincipal,
    GatewayDep,
    OptionalPrincipal,
    RuleBookDep,
    error_list,
    negotiate_locale,
    page_gettext,
    public_route,
    see_other,
)

apply_router = APIRouter(include_in_schema=False)


def _departments_of(blueprint: Blueprint) -> list[str]:
    seen: list[str] = []
    for step in blueprint.steps:
        if step.department and step.department not in seen:
            seen.append(step.department)
    return seen


def _matches(blueprint: Blueprint, query: str) -> bool:
    text = " ".join(
        [
            blueprint.id,
            blueprint.title.en,
            blueprint.title.zh_hans,
            (blueprint.description.en if blueprint.description else ""),
            (blueprint.description.zh_hans if blueprint.description else ""),
        ]
    ).lower()
    return all(word in text for word in query.lower().split())


@apply_router.get("/", dependencies=[public_route()])
@apply_router.get("/services", dependencies=[public_route()])
async def catalogue(
    request: Request,
    container: ContainerDep,
    principal: OptionalPrincipal,
    q: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    """The service catalogue, with search."""
    async with container.uow() as uow:
        published = await list_current_blueprints(uow.session)
    services = [p.blueprint for p in published if not q.strip() or _matches(p.blueprint, q)]
    return page(request, "portal/catalogue.html", principal, services=services, q=q)


async def _service(container: Any, service_id: str) -> Blueprint:
    async with container.uow() as uow:
        published = await list_current_blueprints(uow.session)
    for p in published:
        if p.blueprint.id == service_id:
            return p.blueprint
    raise NotFound(f"no published service {service_id!r}")


@apply_router.get("/services/{service_id}", dependencies=[public_route()])
async def service_page(
    service_id: PathId, request: Request, container: ContainerDep, principal: OptionalPrincipal
) -> HTMLResponse:
    """What the service is, what you need, the fee, how long it takes, who is involved."""
    try:
        blueprint = await _service(container, service_id)
    except NotFound:
        return page(request, "portal/not_found.html", principal, status_code=404)
    names = await department_names(container.uow())
    return page(
        request,
        "portal/service.html",
        principal,
        service=blueprint,
        departments=[names[d] for d in _departments_of(blueprint) if d in names],
        pages=form_pages(blueprint, negotiate_locale(request)),
    )


@apply_router.post("/services/{service_id}/apply", dependencies=[APPLICANT_PAGE])
async def start(
    gateway: GatewayDep,
    service_id: PathId,
    container: ContainerDep,
    principal: CurrentPrincipal,
    request: Request,
) -> Response:
    """Begin an application (a draft saved as you go)."""
    draft = await start_draft(container.uow(), container.clock, principal, service_id)
    plans = prefill_plans(
        draft.blueprint, principal, draft.data, await current_agreements(container.uow())
    )
    if gateway and any(not p.needs for p in plans):
        return see_other(f"/drafts/{draft.id}/prefill")
    first = form_pages(draft.blueprint, "en")[0].id
    return see_other(f"/drafts/{draft.id}/pages/{first}")


def _first_page(draft: Draft) -> str:
    return form_pages(draft.blueprint, "en")[0].id


@apply_router.get("/drafts/{draft_id}/prefill", dependencies=[OWN_OBJECT_PAGE])
async def prefill_page(
    draft_id: PathId, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """Ask before using what the government already holds (once-only)."""
    draft = await get_draft(container.uow(), principal, draft_id)
    return await consent_view(request, container, principal, draft, {}, {})


@apply_router.get("/consents", dependencies=[APPLICANT_PAGE])
async def consents_page(
    request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """Your consents: what you let us read, from whom and why; revoke any of them."""
    consents = await list_consents(container.uow(), principal)
    names = await department_names(container.uow())
    locale = negotiate_locale(request)
    terms = {a.id: a for a in await current_agreements(container.uow())}
    purposes = agreement_purposes(terms.values(), locale)
    registers = load_register_catalogue(container.settings.blueprints_dir)

    def why(consent: Consent) -> tuple[list[str], bool]:
        """Each agreement's purpose in the reader's language; else the recorded purpose in
        words, or as recorded (``True``: it is the agreement's English)."""
        found = [terms[a].purpose.get(locale) for a in consent.agreements if a in terms]
        if len(found) == len(consent.agreements) and found:
            return found, False
        said = purpose_in_words(consent.purpose, purposes)
        return ([said], False) if said is not None else ([consent.purpose], True)

    def what(consent: Consent) -> list[str]:
        """The fields consented to, by the data catalogue's titles (not the field names)."""
        titles: dict[str, str] = {}
        for agreement in (terms[a] for a in consent.agreements if a in terms):
            register = registers.register(agreement.capability)
            for name, spec in (register.fields if register else {}).items():
                titles.setdefault(name, spec.title.get(locale))
        return [titles.get(f, f.replace("_", " ")) for f in consent.fields]

    return page(
        request,
        "portal/consents.html",
        principal,
        consents=consents,
        departments=names,
        now=container.clock.now(),
        why=why,
        what=what,
    )


@apply_router.post("/consents/{consent_id}/revoke", dependencies=[OWN_OBJECT_PAGE])
async def revoke(
    consent_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Revoke a consent: nothing more is read under it (audited)."""
    await revoke_consent(container.uow(), container.clock, principal, consent_id)
    return see_other("/consents?revoked=1")


@apply_router.post("/drafts/{draft_id}/prefill", dependencies=[OWN_OBJECT_PAGE])
async def prefill(
    gateway: GatewayDep,
    draft_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> Response:
    """Record the consent (and what the registers are asked by); fill from them when given."""
    _ = page_gettext(request)
    form = await request.form()
    raw = {k: form.get(k) for k in form}
    consent = form.get("consent")
    draft = await get_draft(container.uow(), principal, draft_id)
    plans = prefill_plans(
        draft.blueprint, principal, draft.data, await current_agreements(container.uow())
    )
    asked = asked_questions(draft, plans, negotiate_locale(request))
    given: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field_ in asked.fields if consent == "yes" else ():
        value, error = parse_field(field_, raw, _)
        if error:
            errors[field_.name] = error
        elif value is not None:
            given[field_.name] = value
    try:
        validate_form_data(
            draft.blueprint, {**draft.data, **given}, today=container.clock.now().date()
        )
    except ValidationFailed as failed:
        errors = {**page_errors(asked, failed.errors, _, include_required=False), **errors}
    if consent not in ("yes", "no"):
        errors = {"consent": _("Select yes if we may use the information we already hold")}
    if errors:
        return await consent_view(request, container, principal, draft, errors, raw)
    if gateway is not None:
        await apply_prefill(
            container.uow(),
            container.clock,
            gateway,
            principal,
            draft_id,
            consent == "yes",
            answers=given,
        )
    return see_other(f"/drafts/{draft_id}/pages/{_first_page(draft)}")


def _page_of(draft: Draft, page_id: str, locale: str) -> tuple[FormPage, list[FormPage]]:
    pages = form_pages(draft.blueprint, locale)
    for form_page in pages:
        if form_page.id == page_id:
            return form_page, pages
    raise NotFound(f"no page {page_id!r} in this form")


def _form_context(
    draft: Draft, form_page: FormPage, pages: list[FormPage], names: dict[str, Any]
) -> dict[str, Any]:
    index = pages.index(form_page)
    return {
        "draft": draft,
        "form_page": form_page,
        "step_number": index + 1,
        "step_count": len(pages),
        "back_url": f"/drafts/{draft.id}/pages/{pages[index - 1].id}" if index else None,
        "departments": names,
    }


@apply_router.get("/drafts/{draft_id}/pages/{page_id}", dependencies=[OWN_OBJECT_PAGE])
async def form_page_view(
    draft_id: PathId,
    page_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> HTMLResponse:
    """One page of the form, with the answers saved so far."""
    draft = await get_draft(container.uow(), principal, draft_id)
    if draft.application_id:
        return see_other(f"/applications/{draft.application_id}")  # type: ignore[return-value]
    form_page, pages = _page_of(draft, page_id, negotiate_locale(request))
    names = await department_names(container.uow())
    return page(
        request,
        "portal/form_page.html",
        principal,
        values=draft.data,
        errors={},
        raw={},
        return_to=request.query_params.get("return"),
        **_form_context(draft, form_page, pages, names),
    )


@apply_router.post("/drafts/{draft_id}/pages/{page_id}", dependencies=[OWN_OBJECT_PAGE])
async def form_page_save(
    draft_id: PathId,
    page_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> Response:
    """Check and save a page; then the next page, "check your answers", or save and leave."""
    _ = page_gettext(request)
    draft = await get_draft(container.uow(), principal, draft_id)
    form_page, pages = _page_of(draft, page_id, negotiate_locale(request))
    form = await request.form()
    answers, errors = parse_page(form_page, {k: form.get(k) for k in form}, _)
    candidate = {k: v for k, v in {**draft.data, **answers}.items() if v is not None}
    try:
        validate_form_data(draft.blueprint, candidate, today=container.clock.now().date())
    except ValidationFailed as failed:
        errors = {**page_errors(form_page, failed.errors, _, include_required=False), **errors}
    if form.get("action") == "save":  # keep what is valid; the applicant comes back later
        keep = {k: v for k, v in answers.items() if k not in errors}
        await save_answers(container.uow(), container.clock, principal, draft_id, keep)
        return see_other(f"/applications?saved={draft_id}")
    if errors:
        names = await department_names(container.uow())
        return page(
            request,
            "portal/form_page.html",
            principal,
            status_code=400,
            values={**draft.data, **{k: v for k, v in answers.items() if v is not None}},
            raw={k: form.get(k) for k in form},
            return_to=form.get("return"),
            errors=errors,
            error_summary=error_list(errors, {f.name: f.input_id for f in form_page.fields}),
            **_form_context(draft, form_page, pages, names),
        )
    await save_answers(container.uow(), container.clock, principal, draft_id, answers)
    index = pages.index(form_page)
    if form.get("return") == "check" or index == len(pages) - 1:
        return see_other(f"/drafts/{draft_id}/check")
    return see_other(f"/drafts/{draft_id}/pages/{pages[index + 1].id}")


def estimated_fee(
    blueprint: Blueprint, data: dict[str, Any], book: RuleBook, on: date
) -> dict[str, Any] | None:
    """The fee the owning department's model in effect ``on`` gives for these answers (None if
    it cannot say)."""
    fees = blueprint.fees
    if fees is None:
        return None
    inputs: dict[str, Any] = {}
    for key, value in fees.input.items():
        ref = data_ref(value)
        inputs[key] = ref.resolve({"data": data}) if ref else value
        if ref is not None and inputs[key] is None:
            return None
    try:
        return dict(evaluate(fees.model, inputs, book=book, on=on).output)
    except Exception:  # a model that cannot decide yet: the fee is shown after submission
        return None


@apply_router.get("/drafts/{draft_id}/check", dependencies=[OWN_OBJECT_PAGE])
async def check_answers(
    book: RuleBookDep,
    draft_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> Response:
    """Check your answers before sending."""
    draft = await get_draft(container.uow(), principal, draft_id)
    if draft.application_id:
        return see_other(f"/applications/{draft.application_id}")
    return await _check_page(request, container, book, principal, draft, {}, 200)


async def _check_page(
    request: Request,
    container: Any,
    book: RuleBook,
    principal: Any,
    draft: Draft,
    errors: dict[str, tuple[str, str]],
    status: int,
) -> HTMLResponse:
    _ = page_gettext(request)
    pages = form_pages(draft.blueprint, negotiate_locale(request))
    names = await department_names(container.uow())
    summary = [
        (
            p,
            [
                (f, draft.data.get(f.name), display_value(f, draft.data.get(f.name), _))
                for f in p.fields
            ],
        )
        for p in pages
    ]
    return page(
        request,
        "portal/check.html",
        principal,
        status_code=status,
        draft=draft,
        summary=summary,
        fee=estimated_fee(draft.blueprint, draft.data, book, container.clock.now().date()),
        departments=names,
        errors=errors,
        error_summary=[{"text": m, "href": h} for m, h in errors.values()] or None,
    )


@apply_router.post("/drafts/{draft_id}/submit", dependencies=[OWN_OBJECT_PAGE])
async def submit(
    book: RuleBookDep,
    draft_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    gateway: GatewayDep,
) -> Response:
    """Send the application; a second click (same hidden key) returns the first result."""
    _ = page_gettext(request)
    draft = await get_draft(container.uow(), principal, draft_id)
    form = await request.form()
    if form.get("idempotency_key") != draft.idempotency_key:
        raise Conflict("this form is out of date; open the application again")
    try:
        view = await submit_draft(
            container.uow, container.clock, principal, draft_id, gateway=gateway
        )
    except ValidationFailed as failed:
        errors: dict[str, tuple[str, str]] = {}
        for form_page in form_pages(draft.blueprint, negotiate_locale(request)):
            found = page_errors(form_page, failed.errors, _, include_required=True)
            for name, message in found.items():
                errors[name] = (message, f"/drafts/{draft_id}/pages/{form_page.id}?return=check")
        if not errors:
            raise
        return await _check_page(request, container, book, principal, draft, errors, 400)
    container.metrics.applications_submitted.labels(view.service_id).inc()
    return see_other(f"/applications/{view.id}/confirmation")


@apply_router.post("/drafts/{draft_id}/delete", dependencies=[OWN_OBJECT_PAGE])
async def delete_draft(
    draft_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Throw away a draft."""
    await discard_draft(container.uow(), principal, draft_id)
    return see_other("/applications")
