"""The public licence check page (issue 19): by number and by PDF, styled and translated.

Who must not be fooled: a reader holding an altered PDF (the token inside decides, not the
printed text), a PDF from elsewhere, a made-up number. Nothing is written by a check. Expected
texts are written by hand from the templates and the Chinese catalogue.
"""

from __future__ import annotations

import json

import httpx
from sqlalchemy import func, select

from civicloom.audit import b64url
from civicloom.audit.tables import AuditEntryRow
from civicloom.runtime import Container
from tests.integration.documents.helpers import ALICE, new_application
from tests.integration.documents.test_licences import claims_of, issue

HTML = {"Accept": "text/html"}
ZH = {**HTML, "Cookie": "civicloom_lang=zh-Hans"}


async def audit_entries(container: Container) -> int:
    async with container.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(AuditEntryRow)) or 0)


async def upload(
    client: httpx.AsyncClient, data: bytes, name: str = "licence.pdf"
) -> httpx.Response:
    return await client.post(
        "/licences/check",
        files={"licence_pdf": (name, data, "application/pdf")},
        headers=HTML,
    )


async def test_a_licence_number_leads_to_its_styled_result_in_both_languages(
    client: httpx.AsyncClient, container: Container
) -> None:
    ref = await issue(container, await new_application(client))
    home = await client.get("/services", headers=HTML)
    assert 'href="/licences/check"' in home.text  # every page's footer leads to the check
    form = await client.get("/licences/check", headers=HTML)
    assert form.status_code == 200
    assert "govuk-template" in form.text
    assert 'name="number"' in form.text
    assert 'name="licence_pdf"' in form.text

    asked = await client.get(f"/licences/check?number={ref.id}", headers=HTML)
    assert asked.status_code == 303
    assert asked.headers["location"] == f"/verify/{ref.id}"

    page = await client.get(f"/verify/{ref.id}", headers=HTML)
    assert page.status_code == 200
    assert "govuk-template" in page.text
    assert 'data-status="valid"' in page.text
    assert "This licence is valid" in page.text
    assert "Golden Dragon Kitchen Ltd" in page.text
    assert "Local Administration" in page.text  # the department's name, not "local-admin"
    assert ">local-admin<" not in page.text

    zh = await client.get(f"/verify/{ref.id}", headers=ZH)
    assert zh.status_code == 200
    assert "此许可证有效" in zh.text
    assert "This licence is valid" not in zh.text


async def test_the_number_is_checked_beside_the_field(client: httpx.AsyncClient) -> None:
    empty = await client.get("/licences/check?number=", headers=HTML)
    assert empty.status_code == 400
    assert "There is a problem" in empty.text
    assert "Enter the licence number" in empty.text
    assert 'href="#number"' in empty.text
    odd = await client.get("/licences/check?number=%3Cscript%3E", headers=HTML)
    assert odd.status_code == 400
    assert "<script>" not in odd.text
    unknown = await client.get("/verify/LIC-2026-NOSUCH00", headers=HTML)
    assert unknown.status_code == 404
    assert "No licence with this number was issued" in unknown.text
    assert "govuk-template" in unknown.text


async def test_the_pdf_decides_by_its_signature_and_nothing_is_written(
    client: httpx.AsyncClient, container: Container
) -> None:
    ref = await issue(container, await new_application(client))
    pdf = (await client.get(f"/api/v1/licences/{ref.id}.pdf", headers=ALICE)).content
    before = await audit_entries(container)

    genuine = await upload(client, pdf)
    assert genuine.status_code == 200, genuine.text
    assert 'data-status="valid"' in genuine.text
    assert ref.id in genuine.text

    # The printed premises unchanged, the signed token altered: not genuine, no facts shown.
    head, _payload, signature = ref.token.split(".")
    claims = {**claims_of(ref.token), "premises": "99 Elsewhere Road"}
    altered = f"{head}.{b64url(json.dumps(claims).encode())}.{signature}"
    forged = await upload(client, pdf.replace(ref.token.encode(), altered.encode()))
    assert forged.status_code == 200
    assert 'data-status="forged"' in forged.text
    assert "This licence is not genuine" in forged.text
    assert "99 Elsewhere Road" not in forged.text

    assert await audit_entries(container) == before


async def test_a_file_that_is_not_a_licence_is_explained_beside_the_field(
    client: httpx.AsyncClient,
) -> None:
    nothing = await client.post(
        "/licences/check", files={"licence_pdf": ("", b"", "application/pdf")}, headers=HTML
    )
    assert nothing.status_code == 400
    assert "Select the licence PDF" in nothing.text
    text = await upload(client, b"just some text", "notes.pdf")
    assert text.status_code == 400
    assert "The file must be a PDF" in text.text
    other = await upload(client, b"%PDF-1.4\n% someone else's document\n%%EOF\n")
    assert other.status_code == 400
    assert "holds no signature" in other.text
    # The size message has a placeholder: it crashed (500) before page_gettext took keywords.
    huge = await upload(client, b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024))
    assert huge.status_code == 400
    assert "The file must be smaller than 5 MB" in huge.text
    assert 'href="#licence_pdf"' in other.text
    zh = await client.post(
        "/licences/check",
        files={"licence_pdf": ("notes.pdf", b"just some text", "application/pdf")},
        headers=ZH,
    )
    assert zh.status_code == 400
    assert "文件必须是 PDF" in zh.text
