"""Alice's portal in Simplified Chinese shows no English (issue 19).

Alice has three applications driven through the real case engine: one in progress, one the
licensing officer asked more information about, one the zoning rule refused; her inbox holds
the messages the platform sent her about them. Every page she reads about them, and the pages
every citizen reads (help, privacy, cookies, contact, the licence check's result, the start of
an application), is requested in Chinese over the ASGI client: its visible text (not scripts,
styles, attribute values or a quotation marked English) must hold no run of English words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from civicloom.applications import StepRunner, request_information
from civicloom.notifications import plan_notifications
from civicloom.notifications.tables import DeliveryRow, PreferenceRow
from civicloom.notifications.templates import TemplateLibrary
from civicloom.outbox import EventType
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.english import english_runs, visible_text
from tests.integration.backoffice.world import Departments, drain, persona, submit, task_of

ZH = {**as_persona("alice"), "Accept": "text/html", "Accept-Language": "zh-Hans"}
# What Alice typed stays as she typed it.
HER_WORDS = ("Send the lease of the premises.",)


async def alices_applications(container: Container) -> dict[str, str]:
    """In progress, information requested, refused by the zoning rule: their ids."""
    gateway = Departments().gateway()
    runner = StepRunner(container, gateway)
    ids = {"in_progress": await submit(container, "zh-pages-1", seating=40)}
    ids["asked"] = await submit(container, "zh-pages-2", seating=40)
    await drain(runner)
    review = await task_of(container, ids["asked"], "licensing_review")
    olivia = persona(container, "olivia")
    await request_information(container.uow(), container.clock, olivia, review.id, HER_WORDS[0])

    async def residential(_call: Any) -> dict[str, Any]:
        return {"zone": "residential", "allowed": False}

    gateway.functions["local-admin.zoning_check"] = residential
    ids["refused"] = await submit(container, "zh-pages-3", seating=40)
    await drain(runner)
    async with container.uow() as uow:  # she reads Chinese
        now = container.clock.now()
        uow.session.add(
            PreferenceRow(subject="alice", locale="zh-Hans", channels=["portal"], updated_at=now)
        )
        await uow.commit()
    library = TemplateLibrary(Path("blueprints/templates"))
    sent = [
        (EventType.APPLICATION_SUBMITTED, ids["in_progress"], {}),
        (EventType.INFORMATION_REQUESTED, ids["asked"], {"task_id": review.id}),
        (
            EventType.APPLICATION_REJECTED,
            ids["refused"],
            {"reason": "Zoning check did not allow the application"},
        ),
    ]
    for kind, app_id, data in sent:
        event = {
            "id": f"zh-{kind.value}",
            "type": kind.value,
            "data": {"application_id": app_id, **data},
        }
        assert await plan_notifications(container, library, event) > 0
    return ids


async def test_alices_pages_in_chinese_show_no_english(
    container: Container, client: httpx.AsyncClient
) -> None:
    ids = await alices_applications(container)
    async with container.uow() as uow:
        inbox = list(
            await uow.session.scalars(select(DeliveryRow).where(DeliveryRow.channel == "portal"))
        )
    assert len(inbox) == 3
    started = await client.post("/services/open-a-restaurant/apply", headers=ZH)
    assert started.status_code == 303
    paths = [
        "/applications",
        *(f"/applications/{i}" for i in ids.values()),
        f"/applications/{ids['refused']}/review",
        "/inbox",
        "/data-use",
        "/consents",
        "/account",
        "/mandates",
        "/help",
        "/privacy",
        "/cookies",
        "/contact",
        "/accessibility",
        "/services",
        "/services/open-a-restaurant",
        "/services/open-a-restaurant/eligibility?check=1&parcel_id=P-0042-117&seating=40"
        "&staff_count=8&business_registration_number=BR-2019-004211",
        started.headers["location"],  # the prefill consent, or the first question
    ]
    found: dict[str, list[str]] = {}
    texts: dict[str, str] = {}
    for path in paths:
        page = await client.get(path, headers=ZH)
        texts[path] = visible_text(page.text)
        assert page.status_code == 200, (path, page.status_code)
        assert '<html lang="zh-Hans"' in page.text, path
        if runs := english_runs(visible_text(page.text), HER_WORDS):
            shown = path.split("?")[0]
            for state, app_id in ids.items():
                shown = shown.replace(app_id, f"<{state}>")
            found[shown] = runs
    assert found == {}
    refused = texts[f"/applications/{ids['refused']}"]
    assert "您的申请被拒绝：分区核查未准许该申请" in refused  # the timeline, in her words
    assert "关于您的申请" in texts["/inbox"]  # the refusal's message, in Chinese
