"""The operator sees refused completions (ADR 0032), in English and Chinese; others do not.

Each names the sender department, the step and the application in words (issue 19): "Environment
Department" / "环境局", "Licensing decision" / "许可决定" and the application's reference, never
``environment``, ``licensing_review`` or the application's database id."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from civicloom.applications import StepRunner, complete_external_step
from civicloom.applications.tables import ApplicationRow
from civicloom.departments import ExternalCompletion
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.english import english_runs, step_ids_in, visible_text
from tests.integration.backoffice.world import drain, submit, task_of


async def test_priya_sees_a_forged_payment_completion(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id = await submit(container, "refused-1")
    await drain(runner)
    priya = {**as_persona("priya"), "Accept": "text/html"}
    calm = await client.get("/backoffice/operations", headers=priya)
    assert calm.status_code == 200
    assert 'id="no-refused-completions"' in calm.text

    review = await task_of(container, app_id, "licensing_review")
    forged = ExternalCompletion(review.idempotency_key, {"decision": "approve"}, "environment")
    assert (await complete_external_step(container, forged)).refusal == "wrong-department"

    page = await client.get("/backoffice/operations", headers=priya)
    assert page.status_code == 200
    assert "Refused completions" in page.text
    assert 'data-refusal="wrong-department"' in page.text
    assert "Another department's task" in page.text.replace("&#39;", "'")
    async with container.uow() as uow:
        reference = await uow.session.scalar(
            select(ApplicationRow.reference).where(ApplicationRow.id == app_id)
        )
    assert reference is not None
    refused = _table(page.text)
    assert "Environment Department" in refused  # the sender
    assert "Licensing decision" in refused  # the step's title
    assert reference in refused
    assert "licensing_review" not in refused
    assert app_id not in refused
    assert ">environment<" not in refused
    assert review.idempotency_key not in page.text  # only its first characters are shown
    assert f"<code>{review.idempotency_key[:12]}…</code>" in page.text

    zh = await client.get("/backoffice/operations", headers={**priya, "Accept-Language": "zh-Hans"})
    assert "被拒绝的完成回复" in zh.text
    assert "其他部门的任务" in zh.text
    refused = _table(zh.text)
    assert "环境局" in refused
    assert "许可决定" in refused
    assert reference in refused
    assert step_ids_in(refused) == []
    assert english_runs(refused) == []

    for persona in ("olivia", "alice", "ada"):
        denied = await client.get(
            "/backoffice/operations", headers={**as_persona(persona), "Accept": "text/html"}
        )
        assert denied.status_code in (403, 404), persona
        assert "licensing_review" not in denied.text


def _table(html: str) -> str:
    """The visible text of the refused completions' table."""
    return visible_text(html.split('id="refused-completions"', 1)[1].split("</table>", 1)[0])
