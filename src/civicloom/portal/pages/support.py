"""The pages every public service needs around its journeys: help, contact, privacy, cookies,
feedback from the Beta banner, and the applicant's receipt for a paid fee."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from civicloom.departments import list_departments
from civicloom.kernel import PathId, ValidationFailed
from civicloom.notifications import Preferences, read_preferences, set_preferences
from civicloom.payments import application_receipt, format_minor
from civicloom.portal.feedback import MAX_COMMENT, RATINGS, record_feedback, return_path
from civicloom.portal.pages.account import INBOX_SEEN_COOKIE
from civicloom.portal.pages.common import APPLICANT_PAGE, OWN_OBJECT_PAGE, page
from civicloom.portal.queries import department_names
from civicloom.web import (
    CSRF_COOKIE,
    LOCALE_COOKIE,
    OIDC_COOKIE,
    SESSION_COOKIE,
    ContainerDep,
    CurrentPrincipal,
    OptionalPrincipal,
    negotiate_locale,
    page_gettext,
    public_route,
    see_other,
)

support_router = APIRouter(include_in_schema=False)


@support_router.get("/help", dependencies=[public_route()])
async def help_page(request: Request, principal: OptionalPrincipal) -> HTMLResponse:
    """How applying works, what to have ready, and where to go when something goes wrong."""
    return page(request, "portal/help.html", principal)


@support_router.get("/contact", dependencies=[public_route()])
async def contact(
    request: Request, container: ContainerDep, principal: OptionalPrincipal
) -> HTMLResponse:
    """Who to contact about what: every department's part, by name, with its opening hours."""
    locale = negotiate_locale(request)
    async with container.uow() as uow:
        departments = await list_departments(uow.session)
    contacts = [
        {
            "id": d.id,
            "name": d.name.get(locale),
            "handles": d.contact.handles.get(locale),
            "email": d.contact.email,
            "phone": d.contact.phone,
            "hours": d.contact.hours.get(locale),
        }
        for d in sorted(departments, key=lambda d: d.name.get(locale))
        if d.contact is not None
    ]
    return page(request, "portal/contact.html", principal, contacts=contacts)


@support_router.get("/privacy", dependencies=[public_route()])
async def privacy(request: Request, principal: OptionalPrincipal) -> HTMLResponse:
    """The privacy notice: who controls the data, why it is used, for how long, your rights."""
    return page(request, "portal/privacy.html", principal)


def cookie_table(request: Request) -> list[dict[str, str]]:
    """Every cookie the service sets (all strictly necessary: there is no analytics cookie)."""
    _ = page_gettext(request)
    return [
        {
            "name": SESSION_COOKIE,
            "purpose": _("Keeps you signed in."),
            "expires": _("When you sign out, or after a period without activity"),
        },
        {
            "name": CSRF_COOKIE,
            "purpose": _("Protects the forms you send against forgery by other websites."),
            "expires": _("When you close your browser"),
        },
        {
            "name": OIDC_COOKIE,
            "purpose": _("Remembers your sign-in while you are at the identity provider."),
            "expires": _("After 10 minutes"),
        },
        {
            "name": LOCALE_COOKIE,
            "purpose": _("Remembers the language you chose."),
            "expires": _("After 1 year"),
        },
        {
            "name": INBOX_SEEN_COOKIE,
            "purpose": _("Remembers which of your messages you have already seen."),
            "expires": _("After 400 days"),
        },
    ]


@support_router.get("/cookies", dependencies=[public_route()])
async def cookies(request: Request, principal: OptionalPrincipal) -> HTMLResponse:
    """The cookies the service sets and why; none is optional, so there is nothing to accept."""
    return page(request, "portal/cookies.html", principal, cookies=cookie_table(request))


@support_router.get("/applications/{application_id}/receipt", dependencies=[OWN_OBJECT_PAGE])
async def receipt(
    application_id: PathId, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """The payer's receipt for the fee of one of their applications, printable."""
    found = await application_receipt(container, principal, application_id)
    names = await department_names(container.uow())
    locale = negotiate_locale(request)
    department = names.get(found.department)
    _ = page_gettext(request)
    lines = [
        {
            "text": _("Licence fee, paid") if line.kind == "fee" else _("Refund"),
            "date": line.on.date().isoformat() if line.on else "",
            "amount": ("-" if line.amount_minor < 0 else "")
            + f"{format_minor(abs(line.amount_minor))} {found.currency}",
        }
        for line in found.lines
    ]
    return page(
        request,
        "portal/receipt.html",
        principal,
        receipt=found,
        lines=lines,
        department=department.get(locale) if department else found.department,
        balance=f"{format_minor(found.balance_minor)} {found.currency}",
    )


def rating_labels(request: Request) -> dict[str, str]:
    """The five answers to "how did you feel about this service?", best first."""
    _ = page_gettext(request)
    labels = {
        "very-satisfied": _("Very satisfied"),
        "satisfied": _("Satisfied"),
        "neither": _("Neither satisfied nor dissatisfied"),
        "dissatisfied": _("Dissatisfied"),
        "very-dissatisfied": _("Very dissatisfied"),
    }
    return {key: labels[key] for key in RATINGS}


def _feedback_form(
    request: Request,
    principal: OptionalPrincipal,
    came: str,
    rating: str = "",
    comment: str = "",
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    return page(
        request,
        "portal/feedback.html",
        principal,
        status_code=400 if errors else 200,
        rating_items=[
            {"value": key, "text": text, "checked": key == rating}
            for key, text in rating_labels(request).items()
        ],
        error_list=[{"text": text, "href": f"#{field}"} for field, text in (errors or {}).items()],
        came_from=came,
        rating=rating,
        comment=comment,
        errors=errors or {},
        max_comment=MAX_COMMENT,
    )


@support_router.get("/feedback", dependencies=[public_route()])
async def feedback_form(
    request: Request,
    principal: OptionalPrincipal,
    from_page: Annotated[str | None, Query(alias="from", max_length=300)] = None,
) -> HTMLResponse:
    """Tell us what you think: five answers and a comment, no sign-in, nothing that names you."""
    return _feedback_form(request, principal, return_path(from_page))


@support_router.post("/feedback", dependencies=[public_route(rate_limit="feedback")])
async def send_feedback(
    request: Request, container: ContainerDep, principal: OptionalPrincipal
) -> HTMLResponse:
    """Store the visitor's feedback and thank them; a missing answer is shown beside the field."""
    _ = page_gettext(request)
    form = await request.form(max_files=0, max_fields=5)
    rating = str(form.get("rating") or "")
    comment = str(form.get("comment") or "")
    came = return_path(str(form.get("from") or ""))
    try:
        await record_feedback(
            container.uow(),
            container.clock,
            rating=rating,
            comment=comment,
            page=came,
            locale=negotiate_locale(request),
        )
    except ValidationFailed as exc:
        messages = {
            ("rating", "required"): _("Select how you feel about this service"),
            ("comment", "max-length"): _(
                "Your comment must be %(max)s characters or fewer", max=MAX_COMMENT
            ),
        }
        errors = {
            e.field: messages.get((e.field, e.rule), _("Remove the characters that cannot be sent"))
            for e in exc.errors
        }
        return _feedback_form(request, principal, came, rating, comment, errors)
    return page(request, "portal/feedback_sent.html", principal, came_from=came)


CHANNELS = ("email", "sms", "portal")


def _account_page(
    request: Request,
    principal: CurrentPrincipal,
    wanted: Preferences,
    errors: dict[str, str] | None = None,
    saved: bool = False,
) -> HTMLResponse:
    _ = page_gettext(request)
    labels = {"email": _("Email"), "sms": _("Text message (SMS)"), "portal": _("Messages here")}
    return page(
        request,
        "portal/account.html",
        principal,
        status_code=400 if errors else 200,
        person_name=principal.display_name,
        wanted=wanted,
        channel_items=[
            {"value": c, "text": labels[c], "checked": c in wanted.channels} for c in CHANNELS
        ],
        locale_items=[
            {"value": "en", "text": "English", "checked": wanted.locale == "en"},
            {"value": "zh-Hans", "text": "简体中文", "checked": wanted.locale == "zh-Hans"},
        ],
        errors=errors or {},
        error_list=[{"text": text, "href": f"#{field}"} for field, text in (errors or {}).items()],
        saved=saved,
    )


@support_router.get("/account", dependencies=[APPLICANT_PAGE])
async def account(
    request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """Your account: how and in which language we contact you, and links to what you manage."""
    wanted = await read_preferences(container, principal)
    saved = request.query_params.get("saved") == "1"
    return _account_page(request, principal, wanted, saved=saved)


@support_router.post("/account", dependencies=[APPLICANT_PAGE])
async def save_account(
    request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Change where and in which language messages reach you (checked; audited)."""
    _ = page_gettext(request)
    form = await request.form(max_files=0, max_fields=10)
    wanted = Preferences(
        email=str(form.get("email") or "").strip() or None,
        phone=str(form.get("phone") or "").replace(" ", "") or None,
        locale=str(form.get("locale") or ""),
        channels=[str(c) for c in form.getlist("channels")],
    )
    try:
        await set_preferences(container, principal, wanted)
    except ValidationFailed as exc:
        messages = {
            ("email", "pattern"): _(
                "Enter an email address in the correct format, like name@example.org"
            ),
            ("email", "required"): _("Enter an email address to get messages by email"),
            ("phone", "pattern"): _("Enter a phone number with its country code, like +4915550100"),
            ("phone", "required"): _("Enter a phone number to get text messages"),
            ("channels", "enum"): _("Select how you want to get messages"),
            ("locale", "enum"): _("Select the language of your messages"),
        }
        errors: dict[str, str] = {}
        for e in exc.errors:
            errors.setdefault(e.field, messages.get((e.field, e.rule), e.message))
        return _account_page(request, principal, wanted, errors)
    return see_other("/account?saved=1")
