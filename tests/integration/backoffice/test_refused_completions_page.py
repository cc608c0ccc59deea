"""The operator sees refused completions (ADR 0032), in English and Chinese; others do not."""

from __future__ import annotations

import httpx

from civicloom.applications import StepRunner, complete_external_step
from civicloom.departments import ExternalCompletion
from civicloom.runtime import Container
from tests.conftest import as_persona
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
    assert "licensing_review" in page.text
    assert review.idempotency_key not in page.text  # only its first characters are shown
    assert f"<code>{review.idempotency_key[:12]}…</code>" in page.text

    zh = await client.get("/backoffice/operations", headers={**priya, "Accept-Language": "zh-Hans"})
    assert "被拒绝的完成回复" in zh.text
    assert "其他部门的任务" in zh.text

    for persona in ("olivia", "alice", "ada"):
        denied = await client.get(
            "/backoffice/operations", headers={**as_persona(persona), "Accept": "text/html"}
        )
        assert denied.status_code in (403, 404), persona
        assert "licensing_review" not in denied.text
