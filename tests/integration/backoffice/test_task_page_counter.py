"""Officers see on the task page that an application was made at a service counter, by whom,
and which identity document was seen (issue 17, ADR 0044) — never the whole number."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from civicloom.applications import StepRunner
from civicloom.applications.tables import ApplicationRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.world import drain, task_of
from tests.integration.portal.test_counter import FORM, MEI, RESTAURANT, WEI_CHECK


async def test_the_task_page_says_the_counter_applied_on_the_applicants_behalf(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    form = await client.get(FORM, headers=MEI)
    counter_id = re.search(r'name="counter_id" value="([^"]+)"', form.text)
    assert counter_id
    sent = await client.post(
        FORM, data={**WEI_CHECK, **RESTAURANT, "counter_id": counter_id[1]}, headers=MEI
    )
    assert sent.status_code == 200, sent.text[:2000]
    async with container.uow() as uow:
        application_id = await uow.session.scalar(
            select(ApplicationRow.id).where(
                ApplicationRow.applicant_id == f"counter:{counter_id[1]}"
            )
        )
    assert application_id is not None
    await drain(runner)
    task = await task_of(container, application_id, "licensing_review")
    page = await client.get(f"/backoffice/tasks/{task.id}", headers=as_persona("olivia"))
    assert page.status_code == 200
    channel = re.search(r'id="on-behalf">(.*?)</dd>', page.text, re.S)
    assert channel
    assert "Applied at a service counter by mei on the applicant's behalf" in channel[1]
    assert "Identity document seen: National identity card •••678" in channel[1]
    assert "12345678" not in page.text
    assert 'data-capacity="director"' in page.text
    zh = await client.get(
        f"/backoffice/tasks/{task.id}", headers={**as_persona("olivia"), "Accept-Language": "zh-CN"}
    )
    assert "由 mei 在服务窗口代申请人办理" in zh.text
