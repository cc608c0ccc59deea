"""The pages of a review of a refusal (ADR 0059): the citizen's form with its errors beside the
fields (the typed reason kept, nothing stored), the supporting document through the documents
module's checks, the window that closes, and the reviewer's page with the document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from civicloom.applications import StepRunner
from civicloom.applications.tables import ApplicationRow, ReviewRow
from civicloom.audit.tables import AuditEntryRow
from civicloom.documents import DOCUMENTS_RUNTIME, Upload, discard_review_document, upload_document
from civicloom.documents.tables import DocumentRow
from civicloom.kernel import NotFound
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.refusal import refused
from tests.integration.backoffice.world import persona, submit, task_of

ALICE = {**as_persona("alice"), "Accept": "text/html"}


async def _one(content: bytes) -> AsyncIterator[bytes]:
    yield content


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def _counts(container: Container, app_id: str) -> tuple[int, int]:
    async with container.uow() as uow:
        reviews = await uow.session.scalar(
            select(func.count()).select_from(ReviewRow).where(ReviewRow.application_id == app_id)
        )
        documents = await uow.session.scalar(
            select(func.count())
            .select_from(DocumentRow)
            .where(DocumentRow.application_id == app_id)
        )
    return int(reviews or 0), int(documents or 0)


async def _document_reads(container: Container, app_id: str) -> int:
    async with container.uow() as uow:
        found = await uow.session.scalar(
            select(func.count())
            .select_from(AuditEntryRow)
            .where(AuditEntryRow.subject_id == app_id, AuditEntryRow.action == "document.read")
        )
    return int(found or 0)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_form_keeps_the_reason_and_explains_errors_beside_the_fields(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id = await refused(container, runner, "rp-errors")
    status = await client.get(f"/applications/{app_id}", headers=ALICE)
    assert status.status_code == 200
    assert f'href="/applications/{app_id}/review"' in status.text
    assert "If you disagree with the decision" in status.text

    empty = await client.post(f"/applications/{app_id}/review", data={"reason": " "}, headers=ALICE)
    assert empty.status_code == 400
    assert "Enter why the decision should be looked at again" in empty.text
    assert 'href="#reason"' in empty.text  # the summary links to the field

    long = "The zoning map is out of date. " * 70  # 2170 characters
    too_long = await client.post(
        f"/applications/{app_id}/review", data={"reason": long}, headers=ALICE
    )
    assert too_long.status_code == 400
    assert "Your reason must be 2000 characters or fewer" in too_long.text
    assert long.strip() in too_long.text  # the typed reason is still in the field

    bad_file = await client.post(
        f"/applications/{app_id}/review",
        data={"reason": "The zoning map is out of date."},
        files={"document": ("plan.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")},
        headers=ALICE,
    )
    assert bad_file.status_code == 400
    assert 'id="document-error"' in bad_file.text
    assert "The zoning map is out of date." in bad_file.text
    assert await _counts(container, app_id) == (0, 0)  # nothing was stored

    asked = await client.post(
        f"/applications/{app_id}/review",
        data={"reason": "The zoning map is out of date."},
        files={"document": ("zoning.pdf", PDF, "application/pdf")},
        headers=ALICE,
    )
    assert asked.status_code == 303
    assert asked.headers["location"] == f"/applications/{app_id}?review=asked"
    assert await _counts(container, app_id) == (1, 1)
    again = await client.post(
        f"/applications/{app_id}/review", data={"reason": "Again"}, headers=ALICE
    )
    assert again.status_code == 303  # back to the page, which says a review is under way
    assert await _counts(container, app_id) == (1, 1)
    page = await client.get(f"/applications/{app_id}", headers=ALICE)
    assert "You asked for a review on" in page.text
    assert "You asked for a review of the decision" in page.text  # the timeline, in words

    async with container.uow() as uow:
        review_id = await uow.session.scalar(
            select(ReviewRow.id).where(ReviewRow.application_id == app_id)
        )
    assert review_id is not None
    nora = await client.get("/backoffice/reviews", headers=as_persona("nora"))
    assert f"/backoffice/reviews/{review_id}" in nora.text
    assert (await client.get("/backoffice/reviews", headers=as_persona("elena"))).text.count(
        "/backoffice/reviews/"
    ) == 0
    opened = await client.get(
        f"/backoffice/reviews/{review_id}/document", headers=as_persona("nora")
    )
    assert opened.status_code == 200
    assert opened.content == PDF
    reads_before = await _document_reads(container, app_id)
    other = await client.get(
        f"/backoffice/reviews/{review_id}/document", headers=as_persona("elena")
    )
    assert other.status_code == 404
    assert await _document_reads(container, app_id) == reads_before  # a refused read: no entry
    shown = await client.get(f"/backoffice/reviews/{review_id}", headers=as_persona("nora"))
    task = await task_of(container, app_id, "licensing_review")
    assert f'href="/backoffice/tasks/{task.id}"' in shown.text
    case = await client.get(f"/backoffice/tasks/{task.id}", headers=as_persona("nora"))
    assert case.status_code == 200  # the case as it was decided, for the reviewer
    # from the refused step's task page, the review and its document (the same audited route)
    assert f'href="/backoffice/reviews/{review_id}"' in case.text
    assert f'href="/backoffice/reviews/{review_id}/document"' in case.text
    assert "Open the applicant's supporting document" in case.text
    elsewhere = await client.get(f"/backoffice/tasks/{task.id}", headers=as_persona("elena"))
    assert elsewhere.status_code == 404
    assert f"/backoffice/reviews/{review_id}" not in elsewhere.text
    olivia = await client.get(f"/backoffice/reviews/{review_id}", headers=as_persona("olivia"))
    assert "another officer of your department decides the review" in olivia.text
    assert 'name="decision"' not in olivia.text

    missing = await client.post(
        f"/backoffice/reviews/{review_id}",
        data={"decision": "uphold", "reason": ""},
        headers=as_persona("nora"),
    )
    assert missing.status_code == 422
    assert "Say why, in words the applicant will read" in missing.text
    upheld = await client.post(
        f"/backoffice/reviews/{review_id}",
        data={"decision": "uphold", "reason": "The parcel is residential in the plan"},
        headers=as_persona("nora"),
    )
    assert upheld.status_code == 303
    decided = await client.get(f"/backoffice/tasks/{task.id}", headers=as_persona("nora"))
    assert "Refusal upheld" in decided.text.split('id="step-reviews"')[1].split("</ul>")[0]
    final = await client.get(f"/applications/{app_id}", headers=ALICE)
    assert "it stays as it was" in final.text
    assert "The parcel is residential in the plan" in final.text
    assert "Administrative Court" in final.text


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_after_the_window_the_page_names_the_next_avenue(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id = await refused(container, runner, "rp-late")
    async with container.uow() as uow:  # test set-up only: the refusal was 40 days ago
        app = await uow.session.get(ApplicationRow, app_id)
        assert app is not None
        assert app.decided_at is not None
        app.decided_at -= timedelta(days=40)
        await uow.commit()
    page = await client.get(f"/applications/{app_id}", headers=ALICE)
    assert "The time to ask for a review ended on" in page.text
    assert "you can appeal to the Administrative Court" in page.text
    assert f'href="/applications/{app_id}/review"' not in page.text
    late = await client.post(
        f"/applications/{app_id}/review", data={"reason": "Please"}, headers=ALICE
    )
    assert late.status_code == 303
    assert await _counts(container, app_id) == (0, 0)
    zh = await client.get(
        f"/applications/{app_id}/review", headers={**ALICE, "Accept-Language": "zh-Hans"}
    )
    assert "申请复核的期限已于" in zh.text


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_document_whose_review_request_was_refused_is_not_kept(
    container: Container, runner: StepRunner
) -> None:
    """Attack review: when a request for a review loses a race after its file was stored (a
    second click, the window closing meanwhile), the file is deleted and its row tombstoned,
    audited; another citizen cannot discard anything and other documents are left alone."""
    app_id = await refused(container, runner, "rp-discard")
    runtime = container.get(DOCUMENTS_RUNTIME)
    alice = persona(container, "alice")
    ref = await upload_document(
        container.uow(),
        runtime,
        container.clock,
        alice,
        app_id,
        "review-evidence",
        Upload("zoning.pdf", _one(PDF)),
        for_review=True,
    )
    with pytest.raises(NotFound):
        await discard_review_document(
            container.uow(), runtime, container.clock, persona(container, "bob"), app_id, ref.id
        )
    await discard_review_document(container.uow(), runtime, container.clock, alice, app_id, ref.id)
    async with container.uow() as uow:
        row = await uow.session.get(DocumentRow, ref.id)
        assert row is not None
        assert row.purged_at is not None
        key = row.storage_key
        actions = list(
            await uow.session.scalars(
                select(AuditEntryRow.purpose).where(
                    AuditEntryRow.subject_id == app_id,
                    AuditEntryRow.action == "document.purged",
                )
            )
        )
    assert actions == ["review request refused"]
    assert not await runtime.store.exists(key)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_applicants_page_names_document_types_in_her_language(
    container: Container, client: httpx.AsyncClient
) -> None:
    app_id = await submit(container, "rp-types")
    await upload_document(
        container.uow(),
        container.get(DOCUMENTS_RUNTIME),
        container.clock,
        persona(container, "alice"),
        app_id,
        "floor_plan",
        Upload("plan.pdf", _one(PDF)),
    )
    english = await client.get(f"/applications/{app_id}", headers=ALICE)
    listed = english.text.split('id="document-list"')[1].split("</ul>")[0]
    assert "(Floor plan of the premises, 1 KB)" in listed
    assert "floor_plan" not in listed
    assert "floor plan" not in listed
    chinese = await client.get(
        f"/applications/{app_id}", headers={**ALICE, "Accept-Language": "zh-Hans"}
    )
    assert "(经营场所平面图, 1 KB)" in chinese.text
