"""A department's statement as CSV and PDF (the pages themselves are ``funding/pages.py``)."""

from __future__ import annotations

import csv
import io
import pathlib
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from civicloom.funding.domain import Month, Statement, Tariffs, load_tariffs
from civicloom.funding.pdf import render_statement_pdf
from civicloom.funding.services import FINANCE_OFFICER, PLATFORM_OWNER, read_statement
from civicloom.runtime import Container
from civicloom.web import (
    ContainerDep,
    CurrentPrincipal,
    negotiate_locale,
    require_roles,
    translations_for,
)

FUNDING_ROLES = (FINANCE_OFFICER, PLATFORM_OWNER)
funding_api_router = APIRouter(include_in_schema=False)
DepartmentParam = Annotated[str, Path(max_length=50, pattern=r"^[a-z][a-z0-9-]{1,48}$")]
MonthParam = Annotated[str, Path(max_length=7, pattern=r"^[0-9]{4}-[0-9]{2}$")]


_tariffs: dict[pathlib.Path, tuple[tuple[tuple[str, int], ...], Tariffs]] = {}


def tariffs_of(container: Container) -> Tariffs:
    """Every financial year's tariff, from the blueprints directory: parsed again only when a
    tariff file changed (parsing the YAML was most of a performance page's time; issue 23)."""
    directory = container.settings.blueprints_dir
    stamp = tuple(
        (p.name, p.stat().st_mtime_ns) for p in sorted((directory / "tariffs").glob("*.yaml"))
    )
    cached = _tariffs.get(directory)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    tariffs = load_tariffs(directory)
    _tariffs[directory] = (stamp, tariffs)
    return tariffs


def to_csv(statement: Statement) -> str:
    """The statement's rows as CSV with a header line."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(statement.rows())
    return buffer.getvalue()


def _headers(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


@funding_api_router.get(
    "/backoffice/funding/{department}/{month}/statement.csv",
    dependencies=[require_roles(*FUNDING_ROLES)],
)
async def statement_csv(
    container: ContainerDep,
    principal: CurrentPrincipal,
    department: DepartmentParam,
    month: MonthParam,
) -> Response:
    """The statement as CSV (amounts in minor units); another department's answers 404."""
    statement = await read_statement(
        container.uow(),
        container.clock,
        tariffs_of(container),
        principal,
        department,
        Month.parse(month),
        "csv",
    )
    return Response(
        to_csv(statement),
        media_type="text/csv; charset=utf-8",
        headers=_headers(f"statement-{department}-{month}.csv"),
    )


@funding_api_router.get(
    "/backoffice/funding/{department}/{month}/statement.pdf",
    dependencies=[require_roles(*FUNDING_ROLES)],
)
async def statement_pdf(
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    department: DepartmentParam,
    month: MonthParam,
) -> Response:
    """The statement as a branded PDF in the reader's language."""
    statement = await read_statement(
        container.uow(),
        container.clock,
        tariffs_of(container),
        principal,
        department,
        Month.parse(month),
        "pdf",
    )
    locale = negotiate_locale(request)
    body = render_statement_pdf(statement, translations_for(locale).gettext, locale)
    return Response(
        body, media_type="application/pdf", headers=_headers(f"statement-{department}-{month}.pdf")
    )
