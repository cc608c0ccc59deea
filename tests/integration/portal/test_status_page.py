"""The application page in a citizen's words (issue 19, status page), over the real app, the
real case engine and the real database: steps in the blueprint's order, a timeline built from
the blueprint's step titles and the departments' names (en and zh-Hans), "Payment due" while
the fee waits, and no "Cancelled" steps after a refusal."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import select

from civicloom.applications import OfficerDecision, StepRunner, decide_task
from civicloom.applications.tables import TaskRow
from civicloom.departments import CapabilityCall, InProcessGateway
from civicloom.kernel import Principal
from civicloom.runtime import Container
from tests.integration.portal.test_journey import ALICE, fill, start, submit

OLIVIA = Principal(
    subject="olivia",
    display_name="Olivia Grant",
    roles=frozenset({"officer", "licensing-officer"}),
    department="local-admin",
    authenticated_by="dev-login",
)
ZH = {**ALICE, "Cookie": "civicloom_lang=zh-Hans"}


def departments() -> InProcessGateway:
    """The four departments' answers for Golden Dragon Kitchen (as the simulators give them)."""

    def answer(output: dict[str, Any]) -> Any:
        async def call(_: CapabilityCall) -> dict[str, Any]:
            return output

        return call

    return InProcessGateway(
        {
            "local-admin.business_lookup": answer(
                {
                    "name": "Golden Dragon Kitchen Ltd",
                    "status": "active",
                    "director_name": "Alice Chen",
                    "registered_address": "12 Harbour Street, Riverton",
                }
            ),
            "local-admin.zoning_check": answer({"zone": "commercial", "allowed": True}),
            "tax.clearance_check": answer({"status": "cleared"}),
            "environment.screening": answer({"outcome": "cleared"}),
            "labour.register_employer": answer({"status": "registered", "employer_id": "EMP-1"}),
            "local-admin.register_activity": answer({"status": "registered"}),
        }
    )


async def sent_and_checked(container: Container, client: httpx.AsyncClient) -> str:
    """Alice sends an application; the departments' automated checks run; returns its id."""
    draft = await start(client)
    await fill(client, draft)
    app_id = await submit(client, draft)
    runner = StepRunner(container, departments())
    for _ in range(50):
        if await runner.run_once("test-worker") == 0:
            break
    return app_id


async def review_task(container: Container, app_id: str) -> str:
    async with container.uow() as uow:
        task = await uow.session.scalar(
            select(TaskRow).where(
                TaskRow.application_id == app_id, TaskRow.step_id == "licensing_review"
            )
        )
    assert task is not None
    assert task.state == "awaiting_officer", task.state
    return task.id


def step_order(html: str) -> list[str]:
    return re.findall(r'data-step="([a-z_]+)"', html)


def timeline(html: str) -> str:
    found = re.search(r'<ol class="civicloom-timeline" id="timeline"[^>]*>(.*?)</ol>', html, re.S)
    assert found, html[-3000:]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found[1]))


def status_tag(html: str) -> str:
    found = re.search(r'id="state">.*?<strong[^>]*>([^<]+)</strong>', html, re.S)
    assert found
    return found[1].strip()


def step_cell(html: str, step: str) -> str:
    found = re.search(rf'data-step="{step}">(.*?)</tr>', html, re.S)
    assert found, step
    return found[1]


async def test_steps_in_blueprint_order_and_a_timeline_in_words(
    container: Container, client: httpx.AsyncClient
) -> None:
    app_id = await sent_and_checked(container, client)
    page = await client.get(f"/applications/{app_id}", headers=ALICE)
    assert page.status_code == 200
    order = step_order(page.text)
    assert order.index("licensing_review") < order.index("payment") < order.index("licence")
    assert order[:3] == ["business", "zoning", "tax"]
    text = timeline(page.text)
    assert "You sent your application" in text
    assert "Tax Authority completed: Tax clearance" in text
    assert "Local Administration completed: Zoning check" in text
    assert "Local Administration is reviewing: Licensing decision" in text
    assert "tax: tax done" not in text
    assert "local-admin" not in text
    assert "licensing_review" not in text
    assert not re.search(r"\b[a-z]+(?:[-_][a-z]+)*: [a-z_]+ done\b", text)

    zh = await client.get(f"/applications/{app_id}", headers=ZH)
    zh_text = timeline(zh.text)
    assert "您已提交申请" in zh_text
    assert "税务局已完成：税务清缴证明" in zh_text
    assert "completed" not in zh_text
    assert "You sent" not in zh_text


async def test_payment_due_while_the_fee_waits_with_a_link_to_pay(
    container: Container, client: httpx.AsyncClient
) -> None:
    app_id = await sent_and_checked(container, client)
    before = await client.get(f"/applications/{app_id}", headers=ALICE)
    assert status_tag(before.text) == "In progress"
    await decide_task(
        container.uow(),
        container.clock,
        OLIVIA,
        await review_task(container, app_id),
        OfficerDecision.APPROVE,
        None,
    )
    page = await client.get(f"/applications/{app_id}", headers=ALICE)
    assert status_tag(page.text) == "Payment due"
    fee = step_cell(page.text, "payment")
    assert "Waiting for your payment" in fee
    assert "With the department" not in fee
    assert 'href="#fee"' in fee
    assert 'id="fee"' in page.text
    assert "Local Administration completed: Licensing decision" in timeline(page.text)

    zh = await client.get(f"/applications/{app_id}", headers=ZH)
    assert status_tag(zh.text) == "待付款"
    assert "等待您付款" in step_cell(zh.text, "payment")


async def test_no_cancelled_steps_after_a_refusal(
    container: Container, client: httpx.AsyncClient
) -> None:
    app_id = await sent_and_checked(container, client)
    await decide_task(
        container.uow(),
        container.clock,
        OLIVIA,
        await review_task(container, app_id),
        OfficerDecision.REJECT,
        "The kitchen plan does not show a grease trap.",
    )
    page = await client.get(f"/applications/{app_id}", headers=ALICE)
    assert status_tag(page.text) == "Refused"
    assert "Cancelled" not in page.text
    for step in ("payment", "register_activity", "licence"):
        assert "Not needed" in step_cell(page.text, step), step
    assert "Your application was refused: The kitchen plan does not show a grease trap." in (
        timeline(page.text)
    )
    zh = await client.get(f"/applications/{app_id}", headers=ZH)
    assert "已取消" not in zh.text
    assert "无需办理" in step_cell(zh.text, "payment")
