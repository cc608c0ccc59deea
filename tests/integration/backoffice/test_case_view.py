"""The one case view (issue 19, ADR 0063): every department's outcome on one page, within what
the viewer's department may read. Expected words are written by hand."""

from __future__ import annotations

import httpx

from civicloom.applications import StepRunner
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.test_case_search import audit_count
from tests.integration.backoffice.world import drain, submit, task_of
from tests.unit.documents import samples

ELENA_ASKS = "Send the extraction hood maintenance record"
ALICE_ANSWERS = "Serviced in May by Hoodclean"
OLIVIA_REFUSES = "The lease ends before the opening date"


def section(text: str, step: str) -> str:
    """The summary card of one step on the case page."""
    start = text.index(f'data-step="{step}"')
    return text[start : text.index("</li>", start)]


async def test_the_licensing_officer_sees_every_department_in_words(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id = await submit(container, "case-view-1", seating=60)
    await drain(runner)
    inspection = (await task_of(container, app_id, "inspection")).id
    elena, olivia, alice = as_persona("elena"), as_persona("olivia"), as_persona("alice")
    asked = await client.post(
        f"/backoffice/tasks/{inspection}/information-request",
        data={"message": ELENA_ASKS},
        headers=elena,
    )
    assert asked.status_code == 303
    answered = await client.post(
        f"/api/v1/applications/{app_id}/information", json={"answer": ALICE_ANSWERS}, headers=alice
    )
    assert answered.status_code == 204, answered.text
    for path, data in (("claim", {}), ("decision", {"decision": "approve"})):
        done = await client.post(f"/backoffice/tasks/{inspection}/{path}", data=data, headers=elena)
        assert done.status_code == 303, (path, done.text)
    await drain(runner)
    review = (await task_of(container, app_id, "licensing_review")).id
    reads = await audit_count(container, "application.read", app_id)

    page = await client.get(f"/backoffice/cases/{app_id}", headers=olivia)
    assert page.status_code == 200, page.text
    text = page.text
    order = [
        "business", "zoning", "tax", "screening", "employer", "inspection", "labour_review",
        "licensing_review", "payment", "register_activity", "licence",
    ]  # fmt: skip
    assert [s.split('"')[0] for s in text.split('data-step="')[1:]] == order
    assert "Environment Department" in section(text, "inspection")
    assert "Premises inspection" in section(text, "inspection")
    assert "Approved" in section(text, "inspection")
    assert "Elena Rossi" not in text  # who decided in another department: not Olivia's to read
    # environment's question and Alice's answer: dates only, the text stays with environment
    assert ELENA_ASKS not in text
    assert ALICE_ANSWERS not in text
    assert section(text, "inspection").count("Only the department that asked reads it") == 2
    # rule outcomes in words, never JSON
    assert "Inspection routing" in section(text, "screening")
    assert "Zoning eligibility" in section(text, "zoning")
    assert "{" not in section(text, "zoning")
    assert "Not needed" in section(text, "labour_review")
    assert "Waiting for an officer" in section(text, "licensing_review")
    assert f'href="/backoffice/tasks/{review}"' in section(text, "licensing_review")
    assert "Tax Authority" in section(text, "tax")
    assert 'data-field="contact_email"' in text  # local-admin's own answer
    assert await audit_count(container, "application.read", app_id) == reads + 1

    # Elena reads her own department's exchange in full, and nobody's contact e-mail.
    page = await client.get(f"/backoffice/cases/{app_id}", headers=elena)
    assert page.status_code == 200
    assert ELENA_ASKS in page.text
    assert ALICE_ANSWERS in page.text
    assert "alice@example.org" not in page.text
    assert 'data-field="seating"' in page.text

    # Olivia refuses: the reason the applicant reads is every department's to read.
    for path, data in (
        ("claim", {}),
        ("decision", {"decision": "reject", "reason": OLIVIA_REFUSES}),
    ):
        done = await client.post(f"/backoffice/tasks/{review}/{path}", data=data, headers=olivia)
        assert done.status_code == 303, (path, done.text)
    page = await client.get(f"/backoffice/cases/{app_id}", headers=elena)
    assert OLIVIA_REFUSES in section(page.text, "licensing_review")
    assert "Refused" in page.text
    assert "No fee is due" in page.text or "Not due yet" in page.text


async def test_in_chinese_the_case_reads_in_chinese(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id = await submit(container, "case-view-2")
    await drain(runner)
    page = await client.get(
        f"/backoffice/cases/{app_id}",
        headers={**as_persona("olivia"), "Accept-Language": "zh-Hans"},
    )
    assert page.status_code == 200
    for words in ("开设餐馆", "分区核查", "税务局", "许可决定", "每个部门的步骤"):
        assert words in page.text, words
    search = await client.get(
        "/backoffice/cases",
        params={"q": "x"},
        headers={**as_persona("olivia"), "Accept-Language": "zh-Hans"},
    )
    assert "请至少输入 2 个字符" in search.text


async def test_an_auditor_reads_every_case_but_opens_no_document_link(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id = await submit(container, "case-view-3")
    await drain(runner)
    page = await client.get(f"/backoffice/cases/{app_id}", headers=as_persona("ada"))
    assert page.status_code == 200
    assert "/backoffice/tasks/" not in page.text
    found = await client.get(
        "/backoffice/cases", params={"q": "Golden Dragon"}, headers=as_persona("ada")
    )
    assert f'data-application="{app_id}"' in found.text


async def test_documents_link_only_where_the_viewer_may_open_them(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id = await submit(container, "case-view-4", seating=60)
    await drain(runner)
    ids = {}
    for kind in ("floor_plan", "lease"):
        sent = await client.post(
            f"/api/v1/applications/{app_id}/documents",
            data={"document_type": kind},
            files={"file": (f"{kind}-golden.pdf", samples.pdf())},
            headers=as_persona("alice"),
        )
        assert sent.status_code == 201, sent.text
        ids[kind] = sent.json()["id"]
    inspection = (await task_of(container, app_id, "inspection")).id

    page = await client.get(f"/backoffice/cases/{app_id}", headers=as_persona("elena"))
    assert page.status_code == 200
    # the floor plan is shared with environment: named, and opened through Elena's own task
    link = f'href="/backoffice/tasks/{inspection}/documents/{ids["floor_plan"]}"'
    assert link in page.text
    opened = await client.get(
        f"/backoffice/tasks/{inspection}/documents/{ids['floor_plan']}", headers=as_persona("elena")
    )
    assert opened.status_code == 200
    # the lease is local-admin's: listed by its type, without its file name or a link
    assert "Lease or title deed" in page.text
    assert "lease-golden.pdf" not in page.text
    assert ids["lease"] not in page.text

    page = await client.get(f"/backoffice/cases/{app_id}", headers=as_persona("ada"))
    assert "lease-golden.pdf" in page.text
    assert "/documents/" not in page.text
