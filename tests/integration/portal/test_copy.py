"""Copy a citizen reads (issue 19): the accessibility statement, the yes/no error, the pre-check's
outcome names and verdict, and "Who used my data" without the citizen's own page views."""

from __future__ import annotations

import re

import httpx

from civicloom.applications import read_officer_task
from civicloom.departments import CapabilityCall
from civicloom.runtime import Container
from tests.integration.portal.test_eligibility import URL, row, zoning_calls  # noqa: F401
from tests.integration.portal.test_journey import ALICE, BUSINESS, location
from tests.integration.portal.test_status_page import OLIVIA, review_task, sent_and_checked

HTML = {"Accept": "text/html"}
ZH_COOKIE = {"Cookie": "civicloom_lang=zh-Hans"}


async def test_accessibility_statement_says_400_percent_in_both_languages(
    client: httpx.AsyncClient,
) -> None:
    en = await client.get("/accessibility", headers=HTML)
    assert en.status_code == 200
    assert "zoomed to 400% and on a small screen" in en.text
    assert "{}" not in en.text
    zh = await client.get("/accessibility", headers={**HTML, **ZH_COOKIE})
    assert zh.status_code == 200
    assert "放大至 400%、在小屏幕上" in zh.text


async def test_a_missing_yes_no_answer_asks_select_yes_if(client: httpx.AsyncClient) -> None:
    target = location(await client.post("/services/open-a-restaurant/apply", headers=ALICE))
    draft = target.split("/")[2]
    await client.post(f"/drafts/{draft}/pages/business", data=BUSINESS, headers=ALICE)
    answers = {"parcel_id": "P-0042-117", "premises_address": "12 Harbour Street", "seating": "40"}
    page = await client.post(f"/drafts/{draft}/pages/premises", data=answers, headers=ALICE)
    assert page.status_code == 400
    assert "Select yes if a grease trap is installed" in page.text
    assert "Select a grease trap is installed" not in page.text
    zh = await client.post(
        f"/drafts/{draft}/pages/premises", data=answers, headers={**ALICE, **ZH_COOKIE}
    )
    assert "请选择是否已安装隔油池" in zh.text


async def test_precheck_names_the_safety_review_and_does_not_contradict_itself(
    client: httpx.AsyncClient,
    zoning_calls: list[CapabilityCall],  # noqa: F811 - the fixture
) -> None:
    query = {"check": "1", "parcel_id": "P-0042-305", "seating": "12", "staff_count": "3"}
    page = await client.get(URL, params=query, headers=HTML)
    assert page.status_code == 200
    employer = row(page.text, "employer")
    assert employer.startswith("Workplace safety review"), employer
    assert "Employer registration" not in page.text
    assert "unlikely to be able to apply" not in page.text.lower()
    assert "The department is likely to refuse an application with these answers" in page.text
    assert "You can still apply" in page.text
    zh = await client.get(URL, params=query, headers={**HTML, **ZH_COOKIE})
    assert row(zh.text, "employer").startswith("工作场所安全审查")
    assert "按这些回答提交的申请很可能会被部门拒绝" in zh.text


async def test_who_used_my_data_leaves_out_my_own_page_views(
    container: Container, client: httpx.AsyncClient
) -> None:
    app_id = await sent_and_checked(container, client)
    await read_officer_task(
        container.uow(), container.clock, OLIVIA, await review_task(container, app_id)
    )
    for _ in range(3):
        assert (await client.get(f"/applications/{app_id}", headers=ALICE)).status_code == 200
    page = await client.get("/data-use", headers=ALICE)
    assert page.status_code == 200
    assert "applicant views status" not in page.text
    assert "dev-login:alice" not in page.text
    # the officer's read is still listed, once
    assert len(re.findall(r"<td[^>]*>Local Administration</td>", page.text)) == 1
    # in words: why, and which answers by their questions (not ids, not the audit's English)
    assert '<td class="govuk-table__cell">An officer reviewed your application</td>' in page.text
    assert "an officer reviews the application" not in page.text
    assert "contact_email" not in page.text
    zh = await client.get("/data-use", headers={**ALICE, **ZH_COOKIE})
    assert "一位官员审查了您的申请" in zh.text
    assert "地方行政局" in zh.text
    api = await client.get("/api/v1/me/data-use", headers={"Authorization": ALICE["Authorization"]})
    assert api.status_code == 200
    assert api.json() != []
    assert all(not str(u.get("actor", "")).endswith(":alice") for u in api.json())
