"""The once-only consent page: which registers would be read, from whom, why, and the answers
a register is asked by (a prefill plan's ``needs``, e.g. the parcel id)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from civicloom.portal.forms import FormPage, form_pages
from civicloom.portal.pages.common import page
from civicloom.portal.queries import department_names
from civicloom.portal.services import Draft, PrefillPlan, current_agreements, prefill_plans
from civicloom.web import error_list, negotiate_locale


def asked_questions(draft: Draft, plans: list[PrefillPlan], locale: str) -> FormPage:
    """The questions a register is asked by (the plans' ``needs``, e.g. the parcel id)."""
    needs = {n for p in plans for n in p.needs}
    pages = form_pages(draft.blueprint, locale)
    asked = tuple(f for pg in pages for f in pg.fields if f.name in needs)
    return FormPage(id="prefill", title="", help="", fields=asked)


async def consent_view(
    request: Request,
    container: Any,
    principal: Any,
    draft: Draft,
    errors: dict[str, str],
    raw: dict[str, Any],
) -> HTMLResponse:
    """The consent page: what will be read, from whom and why, and what a register needs."""
    terms = await current_agreements(container.uow())
    plans = prefill_plans(draft.blueprint, principal, draft.data, terms)
    locale = negotiate_locale(request)
    asked = asked_questions(draft, plans, locale)
    labels = {f.name: f.label for pg in form_pages(draft.blueprint, locale) for f in pg.fields}
    ids = {"consent": "consent", **{f.name: f.input_id for f in asked.fields}}
    return page(
        request,
        "portal/prefill.html",
        principal,
        status_code=400 if errors else 200,
        draft=draft,
        plans=plans,
        # what each look-up fills in, by the form's own labels (not the field names)
        plan_fields=[", ".join(labels.get(n, n) for n in p.fields) for p in plans],
        asked=asked.fields,
        values=draft.data,
        raw=raw,
        departments=await department_names(container.uow()),
        agreements={a.id: a for a in terms},
        errors=errors,
        error_summary=error_list(errors, ids) if errors else None,
    )
