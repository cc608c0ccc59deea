"""The public data catalogue (ADR 0050): every field, document type and register field with its
owner department by name, data class, legal basis and retention, in English and Chinese, as a
page and as JSON. Anyone may read it; it must show no one's data and write nothing. Expected
texts are written by hand from the demo blueprints, the data catalogue file and the Chinese
catalogue."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from civicloom.audit.tables import AuditEntryRow
from civicloom.runtime import Container
from tests.integration.documents.helpers import ALICE, new_application
from tests.querycount import counting

HTML = {"Accept": "text/html"}
ZH = {**HTML, "Cookie": "civicloom_lang=zh-Hans"}


def row(page: str, field: str, scope: str) -> str:
    """The text of one table row (tags removed), within the scope's table."""
    table = page.split(f'data-scope="{scope}"', 1)[1].split("</table>", 1)[0]
    cells = table.split(f'data-field="{field}">', 1)[1].split("</tr>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", cells).split())


async def audit_entries(container: Container) -> int:
    async with container.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(AuditEntryRow)) or 0)


async def test_the_catalogue_page_lists_every_field_with_owner_class_basis_and_retention(
    client: httpx.AsyncClient, container: Container
) -> None:
    await new_application(client)  # Alice's answers exist: none of them may appear
    home = await client.get("/services", headers=HTML)
    assert 'href="/data-catalogue"' in home.text  # every page's footer leads to it
    before = await audit_entries(container)

    page = await client.get("/data-catalogue", headers=HTML)  # nobody signed in
    assert page.status_code == 200
    assert "govuk-template" in page.text
    assert '<h1 class="govuk-heading-xl">Data catalogue</h1>' in page.text
    assert row(page.text, "director_name", "open-a-restaurant") == (
        "Director Form question · director_name Local Administration Personal data "
        "Food Business Licensing Act 2019, s. 12(3) (person responsible) "
        "2 years after the application closes"
    )
    assert row(page.text, "tax_id", "open-a-restaurant") == (
        "Tax identification number Form question · tax_id Tax Authority Business data "
        "Tax Administration Act 2011, s. 88 6 years after the application closes"
    )
    assert row(page.text, "lease", "open-a-restaurant") == (
        "Lease or title deed Document · lease Local Administration Personal data "
        "Food Business Licensing Act 2019, s. 12 2 years after the application closes"
    )
    assert row(page.text, "licence", "open-a-restaurant") == (
        "Restaurant licence Document · licence Local Administration Business data "
        "Food Business Licensing Act 2019, s. 14 1 year after the licence expires"
    )
    assert row(page.text, "director_person_id", "local-admin.business_lookup") == (
        "Person id of the director Register field · director_person_id Local Administration "
        "Personal data Business Registration Act 2015, s. 7 (directors) "
        "6 years after the record ends"
    )
    assert row(page.text, "effective_date", "change-of-business-address") == (
        "Date of the move Form question · effective_date Local Administration Business data "
        "Business Registration Act 2015, s. 30 6 years after the application closes"
    )
    assert page.text.count('data-field="') == 15 + 4 + 14  # two services, three registers
    assert "An application you have not sent is kept 30 days after the last change" in page.text
    for personal in ("Alice Chen", "alice@example.org", "Golden Dragon", "BR-2019-004211"):
        assert personal not in page.text
    assert await audit_entries(container) == before  # a read of no one's data: nothing written


async def test_the_catalogue_page_in_chinese(client: httpx.AsyncClient) -> None:
    page = await client.get("/data-catalogue", headers=ZH)
    assert page.status_code == 200
    assert '<html lang="zh-Hans"' in page.text
    assert "数据目录" in page.text
    assert row(page.text, "director_name", "open-a-restaurant") == (
        "董事 表单问题 · director_name 地方行政局 个人数据 "
        "Food Business Licensing Act 2019, s. 12(3) (person responsible) 申请结束后保存2 年"
    )
    assert row(page.text, "zone", "local-admin.parcel_lookup") == (
        "规划分区 登记簿字段 · zone 地方行政局 非个人数据 Land Registration Act 2002, s. 3 "
        "记录终止后保存99 年"
    )
    assert "尚未提交的申请：最后一次修改后保存30 天" in page.text
    assert "Kind of data" not in page.text


async def test_the_catalogue_as_json(client: httpx.AsyncClient, container: Container) -> None:
    before = await audit_entries(container)
    response = await client.get("/api/v1/data-catalogue")
    assert response.status_code == 200
    body = response.json()
    assert body["drafts"] == {
        "retention": "P30D",
        "counted_from": "last-change",
        "legal_basis": "Applicant's request to save an unfinished application and continue later",
    }
    entries = {(e["scope"], e["name"]): e for e in body["entries"]}
    assert len(entries) == 33
    assert entries[("open-a-restaurant", "contact_email")] == {
        "kind": "form-field",
        "scope": "open-a-restaurant",
        "name": "contact_email",
        "title": {"en": "Contact email", "zh-Hans": "联系邮箱"},
        "owner": "local-admin",
        "owner_name": {"en": "Local Administration", "zh-Hans": "地方行政局"},
        "data_class": "personal",
        "legal_basis": "Food Business Licensing Act 2019, s. 12 (correspondence)",
        "retention": "P1Y",
        "counted_from": "application-closed",
    }
    assert entries[("tax.taxpayer_lookup", "tax_id")]["owner_name"]["en"] == "Tax Authority"
    assert entries[("tax.taxpayer_lookup", "tax_id")]["counted_from"] == "record-ended"
    refused = await client.post("/api/v1/data-catalogue", json={}, headers=ALICE)
    assert refused.status_code == 405  # read-only
    assert await audit_entries(container) == before


async def test_the_catalogue_costs_two_queries_however_many_services(
    client: httpx.AsyncClient, container: Container
) -> None:
    with counting(container) as statements:
        page = await client.get("/data-catalogue", headers=HTML)
    assert page.status_code == 200
    # the published services and the department names; nothing per field or per service
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2
