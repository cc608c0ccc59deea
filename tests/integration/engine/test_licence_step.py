"""The issue_document step issues the licence once, and announces it for notifications."""

from __future__ import annotations

from sqlalchemy import func, select

from civicloom.applications import OfficerDecision, decide_task
from civicloom.applications.tables import TaskRow
from civicloom.catalogue import OutputsSpec, StepKind
from civicloom.documents import build_documents_runtime, licence_step_handler
from civicloom.documents.tables import LicenceRow
from civicloom.outbox.tables import OutboxRow
from tests.integration.engine.conftest import OLIVIA, Engine, engine_blueprint


async def test_the_licence_is_issued_once_and_announced(engine: Engine) -> None:
    runtime = build_documents_runtime(engine.container.settings)
    handler = licence_step_handler(engine.container, runtime)
    engine.runner.kinds = engine.runner.kinds.with_executors({StepKind.ISSUE_DOCUMENT: handler})
    licence_step = {
        "id": "licence",
        "kind": "issue_document",
        "department": "local-admin",
        "after": ["notify"],
    }
    outputs = OutputsSpec.model_validate(
        {
            "certificate": {
                "template": "open-a-restaurant/licence",
                "title": {"en": "Stall licence", "zh-Hans": "摊位许可证"},
                "holder": {
                    "name": "$.data.registration_number",
                    "registration_number": "$.data.registration_number",
                    "address": "$.data.parcel_id",
                },
            }
        }
    )
    blueprint = engine_blueprint(version=2, extra_steps=[licence_step])
    await engine.publish(blueprint.model_copy(update={"outputs": outputs}))
    app_id = await engine.submit()
    await engine.drain()
    async with engine.container.uow() as uow:
        review = await uow.session.scalar(
            select(TaskRow.id).where(TaskRow.application_id == app_id, TaskRow.step_id == "review")
        )
    assert review is not None
    await decide_task(
        engine.container.uow(), engine.clock, OLIVIA, review, OfficerDecision.APPROVE, None
    )
    assert await engine.drain() == 1

    async with engine.container.uow() as uow:
        licences = list(
            await uow.session.scalars(select(LicenceRow).where(LicenceRow.application_id == app_id))
        )
        task = await uow.session.scalar(
            select(TaskRow).where(TaskRow.application_id == app_id, TaskRow.step_id == "licence")
        )
        events = list(
            await uow.session.scalars(
                select(OutboxRow).where(OutboxRow.topic == "civicloom.licence.issued")
            )
        )
    assert len(licences) == 1
    # whom the licence names comes from the blueprint's outputs.certificate.holder
    assert licences[0].holder == {
        "name": "BR-2019-004211",
        "registration_number": "BR-2019-004211",
    }
    assert licences[0].premises == "P-0042-117"
    assert licences[0].activity == "Stall licence"
    assert task is not None
    assert task.state == "completed"
    assert task.output is not None
    assert task.output["licence_id"] == licences[0].id
    assert [e.payload["data"]["licence_number"] for e in events] == [licences[0].id]
    assert (
        events[0].payload["data"]["document_url"].endswith(f"/api/v1/licences/{licences[0].id}.pdf")
    )

    # A retry after a crash (same step again) returns the same licence, issues no second one.
    from civicloom.applications import ClaimedStep
    from civicloom.catalogue import RetryPolicy

    again = await handler(
        ClaimedStep(
            task_id=task.id,
            application_id=app_id,
            step_id="licence",
            kind="issue_document",
            department="local-admin",
            capability=None,
            input={},
            idempotency_key=task.idempotency_key,
            attempts=2,
            retry=RetryPolicy(),
        )
    )
    assert again.output["licence_id"] == licences[0].id
    async with engine.container.uow() as uow:
        count = await uow.session.scalar(
            select(func.count()).select_from(LicenceRow).where(LicenceRow.application_id == app_id)
        )
    assert count == 1
