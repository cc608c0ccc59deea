"""Pages after sending: my applications, the application page (one timeline across
departments), documents, answering a request for information, withdrawing, data use."""

from __future__ import annotations

import contextlib
import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from civicloom.applications import (
    answer_information_request,
    applicant_review,
    clock_of,
    timeline_cursors,
    withdraw_application,
)
from civicloom.catalogue import CALENDARS, list_current_blueprints
from civicloom.documents import (
    DocumentsRuntime,
    DocumentsRuntimeDep,
    data_use_of_citizen,
    rules_from_blueprint,
    upload_document,
)
from civicloom.kernel import (
    Conflict,
    DomainError,
    InvalidCursor,
    PathId,
    Principal,
    ValidationFailed,
    normalise_text,
    text_problem,
)
from civicloom.notifications import inbox as portal_inbox
from civicloom.payments import PaymentProviderDep, latest_payment, start_or_resume_payment
from civicloom.portal.forms import form_pages
from civicloom.portal.pages.common import APPLICANT_PAGE, OWN_OBJECT_PAGE, page, upload_from_form
from civicloom.portal.pages.status import (
    document_type_words,
    payment_due,
    refusal_reason,
    step_lines,
    timeline_lines,
)
from civicloom.portal.queries import (
    ApplicationPage,
    application_page,
    check_owner,
    department_names,
    my_applications,
)
from civicloom.portal.services import check_acting_for, current_agreements, list_drafts
from civicloom.registries import agreement_purposes, purpose_in_words
from civicloom.web import (
    ContainerDep,
    CurrentPrincipal,
    GatewayDep,
    OptionalPrincipal,
    large_body,
    negotiate_locale,
    page_gettext,
    public_route,
    see_other,
)

account_router = APIRouter(include_in_schema=False)
INBOX_SEEN_COOKIE = "civicloom_inbox_seen"  # "<subject digest>.<newest message seen, µs>"
INBOX_SEEN_MAX_AGE = 400 * 24 * 3600


@account_router.get("/applications", dependencies=[APPLICANT_PAGE])
async def applications(
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    saved: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> HTMLResponse:
    """My applications (a page of them, newest first) and my unsent drafts."""
    try:
        sent = await my_applications(container.uow(), principal, cursor)
    except ValidationFailed:
        sent = await my_applications(container.uow(), principal)
        return page(
            request,
            "portal/applications.html",
            principal,
            status_code=400,
            applications=sent.items,
            pages=sent,
            drafts=await list_drafts(container.uow(), principal),
            saved=None,
            bad_cursor=True,
        )
    drafts = await list_drafts(container.uow(), principal)
    return page(
        request,
        "portal/applications.html",
        principal,
        applications=sent.items,
        pages=sent,
        drafts=drafts,
        service_titles=await service_titles(container) if drafts else {},
        saved=saved,
        bad_cursor=False,
    )


async def service_titles(container: Any) -> dict[str, Any]:
    """Each published service's title (a draft is named by its service, in words)."""
    async with container.uow() as uow:
        return {
            p.blueprint.id: p.blueprint.title for p in await list_current_blueprints(uow.session)
        }


async def _application(
    documents: DocumentsRuntime,
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    application_id: str,
    status_code: int = 200,
    cursor: str | None = None,
    **context: object,
) -> HTMLResponse:
    try:
        view: ApplicationPage = await application_page(
            container.uow,
            container.clock,
            principal,
            application_id,
            timeline_cursors(container.settings.secret_key.get_secret_value()),
            cursor,
        )
    except InvalidCursor:  # only once the application is known to be the reader's
        return page(
            request,
            "portal/timeline_link_invalid.html",
            principal,
            status_code=400,
            application_id=application_id,
        )
    runtime = documents
    rules = rules_from_blueprint(
        view.blueprint.document_sections(), runtime.max_bytes, runtime.retention_days
    )
    steps = view.blueprint.step_documents()
    app = view.status.application
    deadline = clock_of(
        container.get(CALENDARS),
        view.blueprint,
        app.deadline_at,
        app.clock_stopped_at,
        container.clock.now(),
    )
    last_payment = await latest_payment(container, principal, application_id)
    review = await applicant_review(container.uow(), container.clock, principal, application_id)
    locale = negotiate_locale(request)
    return page(
        request,
        "portal/application.html",
        principal,
        status_code=status_code,
        app=view.status.application,
        view=view,
        steps=steps,
        deadline=deadline,
        document_specs=view.blueprint.document_sections(),
        rules=rules,
        payments_enabled=True,
        last_payment=last_payment,
        step_lines=step_lines(view, locale),
        timeline=timeline_lines(view, locale, page_gettext(request)),
        refusal=refusal_reason(view, locale),
        payment_due=payment_due(view),
        review=review,
        document_types=document_type_words(view, locale, page_gettext(request)),
        **context,
    )


@account_router.get("/applications/{application_id}", dependencies=[OWN_OBJECT_PAGE])
async def application(
    documents: DocumentsRuntimeDep,
    application_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> HTMLResponse:
    """One application: every department's step, its state and expected date, and a page of the
    timeline, newest first ("Show older entries" carries a signed cursor; an altered one, or
    another application's, is a 400 page)."""
    return await _application(
        documents, request, container, principal, application_id, cursor=cursor or None
    )


@account_router.get("/applications/{application_id}/confirmation", dependencies=[OWN_OBJECT_PAGE])
async def confirmation(
    application_id: PathId, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """Application sent: the reference number and what happens next."""
    view = await application_page(container.uow, container.clock, principal, application_id)
    return page(
        request, "portal/confirmation.html", principal, app=view.status.application, view=view
    )


@account_router.post(
    "/applications/{application_id}/documents", dependencies=[OWN_OBJECT_PAGE, large_body()]
)
async def add_document(
    documents: DocumentsRuntimeDep,
    application_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    gateway: GatewayDep,
) -> Response:
    """Upload a document from a plain HTML form; a refused file is explained next to the field."""
    _ = page_gettext(request)
    runtime = documents
    # Ownership first: another citizen's upload is refused before a byte of it is read (the
    # platform has already bounded the body and checked the CSRF token of the form's URL).
    await check_owner(container.uow(), principal, application_id)
    await check_acting_for(container.uow, gateway, container.clock, principal, application_id)
    document_type, error = await upload_from_form(
        request,
        lambda kind, upload: upload_document(
            container.uow(),
            runtime,
            container.clock,
            principal,
            application_id,
            kind,
            upload,
        ),
        _,
    )
    if error:
        errors = {"file": error}
        return await _application(
            documents,
            request,
            container,
            principal,
            application_id,
            status_code=400,
            errors=errors,
            error_document_type=document_type,
            error_summary=[{"text": error, "href": f"#file-{document_type or 'upload'}"}],
        )
    return see_other(f"/applications/{application_id}?uploaded={document_type}#documents")


@account_router.post("/applications/{application_id}/information", dependencies=[OWN_OBJECT_PAGE])
async def answer(
    documents: DocumentsRuntimeDep,
    application_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    gateway: GatewayDep,
) -> Response:
    """Answer a department's request for more information."""
    _ = page_gettext(request)
    await check_owner(container.uow(), principal, application_id)
    await check_acting_for(container.uow, gateway, container.clock, principal, application_id)
    form = await request.form()
    text = str(form.get("answer") or "")
    step = str(form.get("step") or "") or None
    if not text.strip() or len(text) > 5000 or text_problem(text) is not None:
        if not text.strip():
            message = _("Enter your answer")
        elif len(text) > 5000:
            message = _("Your answer must be 5000 characters or fewer")
        else:
            message = _("Your answer must not contain control or hidden formatting characters")
        return await _application(
            documents,
            request,
            container,
            principal,
            application_id,
            status_code=400,
            errors={"answer": message},
            error_summary=[{"text": message, "href": f"#answer-{step}" if step else "#answer"}],
            typed_answer=text,  # kept in the field: the applicant shortens it, not retypes it
            answered_step=step,
        )
    await answer_information_request(
        container.uow(),
        container.clock,
        principal,
        application_id,
        normalise_text(text, "answer"),
        step,
    )
    return see_other(f"/applications/{application_id}?answered=1")


@account_router.post("/applications/{application_id}/payment", dependencies=[OWN_OBJECT_PAGE])
async def pay(
    documents: DocumentsRuntimeDep,
    psp: PaymentProviderDep,
    application_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    gateway: GatewayDep,
) -> Response:
    """Pay the fee (or try again after a decline or a cancel): off to the provider's hosted
    page, which sends the applicant back here. A second click while the payment is open goes
    to the same payment; a new attempt supersedes the old one, which can then never pay."""
    _ = page_gettext(request)
    await check_owner(container.uow(), principal, application_id)
    await check_acting_for(container.uow, gateway, container.clock, principal, application_id)
    back = f"{container.settings.effective_public_url.rstrip('/')}/applications/{application_id}"
    try:
        payment, _created = await start_or_resume_payment(
            container, psp, principal, application_id, return_url=f"{back}?paid=1"
        )
    except DomainError as failed:
        if failed.status >= 500 or failed.status in (401, 403, 404):
            message = _("Payment is not available right now. Try again in a few minutes.")
        else:
            message = failed.detail
        return await _application(
            documents,
            request,
            container,
            principal,
            application_id,
            status_code=503 if failed.status >= 500 else 409,
            error_summary=[{"text": message, "href": "#fee"}],
        )
    if not payment.next_url:
        return see_other(f"/applications/{application_id}?paid=1")
    return see_other(payment.next_url)


@account_router.get("/applications/{application_id}/pay", dependencies=[OWN_OBJECT_PAGE])
async def pay_link(
    application_id: str, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """The fee e-mail's link: the application's fee section, where the applicant pays (a
    signed-out browser signs in first and comes back here; anyone else's id is not found)."""
    await check_owner(container.uow(), principal, application_id)
    return see_other(f"/applications/{application_id}#fee")


@account_router.get("/applications/{application_id}/withdraw", dependencies=[OWN_OBJECT_PAGE])
async def withdraw_page(
    application_id: PathId, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """Ask before withdrawing."""
    view = await application_page(container.uow, container.clock, principal, application_id)
    return page(request, "portal/withdraw.html", principal, app=view.status.application, view=view)


@account_router.post("/applications/{application_id}/withdraw", dependencies=[OWN_OBJECT_PAGE])
async def withdraw(
    application_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    gateway: GatewayDep,
) -> Response:
    """Withdraw the application: every department stops working on it."""
    await check_owner(container.uow(), principal, application_id)
    await check_acting_for(container.uow, gateway, container.clock, principal, application_id)
    form = await request.form()
    if form.get("confirm") != "yes":
        return see_other(f"/applications/{application_id}")
    with contextlib.suppress(Conflict):  # already final (a second click): the page says so
        await withdraw_application(container.uow(), container.clock, principal, application_id)
    return see_other(f"/applications/{application_id}")


@account_router.get("/data-use", dependencies=[APPLICANT_PAGE])
async def data_use(
    request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """Who used my data: every read of my personal data, by whom and why."""
    uses = await data_use_of_citizen(container.uow(), principal)
    names = await department_names(container.uow())
    locale = negotiate_locale(request)
    async with container.uow() as uow:
        current = await list_current_blueprints(uow.session)
    labels: dict[str, str] = {}
    for published in current:
        for form_page in form_pages(published.blueprint, locale):
            for f in form_page.fields:
                labels.setdefault(f.name, f.label)
    _ = page_gettext(request)
    purposes = {
        **agreement_purposes(await current_agreements(container.uow()), locale),
        "an officer reviews the application": _("An officer reviewed your application"),
        "application document": _("An officer opened a document you uploaded"),
        "apply for service": _("Your application was received"),
        "issue licence": _("Your licence was issued"),
        "act for a business": _("Checking that you may act for the business"),
        "prefill the applicant's form (once-only)": _(
            "Fill in the applicant's form from registers (once-only)"
        ),
    }

    def why(purpose: str | None) -> tuple[str, bool]:
        """The purpose in the reader's language; else as recorded (``True``: in English)."""
        said = purpose_in_words(purpose, purposes)
        if said is not None:
            return said, False
        if (purpose or "").startswith("review "):
            return str(_("An officer reviewed your application")), False
        if (purpose or "").startswith("Digital Registries"):
            return str(_("A department's system read the licence register")), False
        return purpose or "", True

    return page(
        request,
        "portal/data_use.html",
        principal,
        uses=uses,
        departments=names,
        field_label=lambda name: labels.get(name, name.replace("_", " ")),
        why=why,
    )


def _seen_marker(principal: Principal) -> str:
    return hashlib.sha256(principal.subject.encode()).hexdigest()[:16]


def _last_seen(request: Request, principal: Principal) -> datetime | None:
    """When this person last opened the inbox in this browser (None: never)."""
    owner, _sep, stamp = request.cookies.get(INBOX_SEEN_COOKIE, "").partition(".")
    if owner != _seen_marker(principal) or not stamp.isdigit():
        return None
    return datetime.fromtimestamp(int(stamp) / 1_000_000, UTC)


@account_router.get("/inbox", dependencies=[APPLICANT_PAGE])
async def inbox(
    request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """Messages about my applications, newest first; those since my last visit marked new."""
    messages = await portal_inbox(container, principal)
    seen = _last_seen(request, principal)
    unread = {m.id for m in messages if seen is None or m.at.astimezone(UTC) > seen}
    response = page(request, "portal/inbox.html", principal, messages=messages, unread=unread)
    if messages:
        newest = max(m.at.astimezone(UTC) for m in messages)
        micros = int(newest.timestamp() * 1_000_000)
        response.set_cookie(
            INBOX_SEEN_COOKIE,
            f"{_seen_marker(principal)}.{micros}",
            max_age=INBOX_SEEN_MAX_AGE,
            path="/inbox",
            httponly=True,
            samesite="lax",
            secure=container.settings.session_cookie_secure,
        )
    return response


@account_router.get("/accessibility", dependencies=[public_route()])
async def accessibility(request: Request, principal: OptionalPrincipal) -> HTMLResponse:
    """The accessibility statement."""
    return page(request, "portal/accessibility.html", principal)
