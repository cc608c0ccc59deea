"""The public data catalogue (ADR 0050): what the services ask for and the registers they read,
who owns each piece, what kind of data it is, why it is held and how long it is kept.

Anyone may read it, signed in or not. It describes data and holds none: no answer, no record,
no person's name.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civicloom.catalogue import (
    DataCatalogueEntry,
    DataClass,
    EntryKind,
    Retention,
    RetentionStart,
    read_data_catalogue,
)
from civicloom.portal.pages.common import page
from civicloom.web import (
    ContainerDep,
    OptionalPrincipal,
    negotiate_locale,
    page_gettext,
    public_route,
    translations_for,
)

data_catalogue_router = APIRouter(include_in_schema=False)


def period_text(request: Request, period: Retention) -> str:
    """``P1Y6M`` as "1 year and 6 months" in the reader's language."""
    words = translations_for(negotiate_locale(request))
    parts = [
        words.ngettext(one, many, count) % {"num": count}
        for one, many, count in (
            ("%(num)d year", "%(num)d years", period.years),
            ("%(num)d month", "%(num)d months", period.months),
            ("%(num)d day", "%(num)d days", period.days),
        )
        if count
    ]
    if len(parts) == 1:
        return parts[0]
    joined = words.gettext("%(first)s and %(last)s")
    return joined % {"first": words.gettext(", ").join(parts[:-1]), "last": parts[-1]}


def labels(request: Request) -> dict[str, Any]:
    """The words of the page that depend on an entry's kind, class and start of retention."""
    _ = page_gettext(request)
    return {
        "classes": {
            DataClass.NONE: _("No personal data"),
            DataClass.BUSINESS: _("Business data"),
            DataClass.PERSONAL: _("Personal data"),
            DataClass.SPECIAL_CATEGORY: _("Special category personal data"),
        },
        "starts": {
            RetentionStart.APPLICATION_CLOSED: _("%(period)s after the application closes"),
            RetentionStart.VALIDITY_ENDED: _("%(period)s after the licence expires"),
            RetentionStart.RECORD_ENDED: _("%(period)s after the record ends"),
            RetentionStart.LAST_CHANGE: _("%(period)s after the last change"),
        },
        "kinds": {
            EntryKind.FORM_FIELD: _("Form question"),
            EntryKind.DOCUMENT: _("Document"),
            EntryKind.REGISTER_FIELD: _("Register field"),
        },
    }


def kept_for(request: Request, entry: DataCatalogueEntry, words: dict[str, Any]) -> str:
    """How long an entry is kept, and from when, in the reader's language."""
    period = period_text(request, entry.ownership.retention)
    return str(words["starts"][entry.counted_from] % {"period": period})


@data_catalogue_router.get("/data-catalogue", dependencies=[public_route()])
async def data_catalogue_page(
    request: Request, container: ContainerDep, principal: OptionalPrincipal
) -> HTMLResponse:
    """Every field, document type and register field with its owner, class, basis and
    retention."""
    catalogue = await read_data_catalogue(container.uow(), container.settings.blueprints_dir)
    words = labels(request)
    scopes = [
        {
            "id": scope,
            "title": title,
            "register": items[0].kind is EntryKind.REGISTER_FIELD,
            "rows": [
                {
                    "name": e.name,
                    "title": e.title,
                    "kind": words["kinds"][e.kind],
                    "owner": catalogue.departments.get(e.ownership.owner),
                    "owner_id": e.ownership.owner,
                    "data_class": e.ownership.data_class.value,
                    "class_label": words["classes"][e.ownership.data_class],
                    "legal_basis": e.ownership.legal_basis,
                    "kept_for": kept_for(request, e, words),
                }
                for e in items
            ],
        }
        for scope, title, items in catalogue.scopes()
    ]
    drafts = str(
        words["starts"][RetentionStart.LAST_CHANGE]
        % {"period": period_text(request, catalogue.draft_retention)}
    )
    return page(
        request,
        "portal/data_catalogue.html",
        principal,
        scopes=scopes,
        drafts_kept_for=drafts,
        drafts_basis=catalogue.draft_legal_basis,
    )
