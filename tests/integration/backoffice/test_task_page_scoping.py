"""The officer task page shows only what the task's department may see (issue 16).

Elena (environment) and Olivia (local-admin) work the same application. Each page is checked
against a hand-written list of what it must and must not show: fields, documents' decisions,
other departments' free text on the timeline (questions to the applicant, planned inspection
dates), their notes and who of them read the case (audit history).
"""

from __future__ import annotations

from datetime import timedelta

import httpx

from civicloom.applications import StepRunner
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.world import drain, submit, task_of

ELENA_ASKS = "Send the extraction hood maintenance record"
ELENA_NOTES = "Hood looked greasy on the photos"
OLIVIA_ASKS = "Upload the lease signed by both parties"
OLIVIA_NOTES = "Lease clause 4 checked"

# What Olivia's licensing review page (local-admin) must show / must not show.
OLIVIA_SEES = [
    'data-field="contact_email"',  # local-admin's own field
    "Zoning eligibility",  # her department's decision model, by its title
    "Environment Department completed: Premises inspection",  # another department's progress
    OLIVIA_NOTES,
]
OLIVIA_DOES_NOT_SEE = [
    ELENA_ASKS,  # environment's question to the applicant
    ELENA_NOTES,  # environment's internal note
    "An inspection of the premises is planned",  # environment's appointment (stored words)
    "will inspect the premises",  # ... and as the page words it
    "Inspection routing",  # environment's decision model
    "dev-login:elena",  # who in environment read the case
    "Elena Rossi",
    "Inspection scheduled",  # environment's action in the history
]
# What Elena's inspection page (environment) must show / must not show.
ELENA_SEES = [
    'data-field="seating"',
    "Inspection routing",
    ELENA_NOTES,
    "Environment Department will inspect the premises on",  # her appointment, in words
]
ELENA_DOES_NOT_SEE = [
    'data-field="contact_email"',
    "alice@example.org",
    "Zoning eligibility",
    OLIVIA_ASKS,
    OLIVIA_NOTES,
    "dev-login:olivia",
    "Olivia Grant",
]


async def test_each_department_sees_only_its_part_of_the_case(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id = await submit(container, "scope-1", seating=60)
    await drain(runner)
    inspection = (await task_of(container, app_id, "inspection")).id
    elena, olivia, alice = as_persona("elena"), as_persona("olivia"), as_persona("alice")

    asked = await client.post(
        f"/api/v1/tasks/{inspection}/information-requests",
        json={"message": ELENA_ASKS},
        headers=elena,
    )
    assert asked.status_code == 200, asked.text
    answered = await client.post(
        f"/api/v1/applications/{app_id}/information", json={"answer": "Attached"}, headers=alice
    )
    assert answered.status_code == 204, answered.text
    day = (container.clock.now() + timedelta(days=3)).date().isoformat()
    for path, data in (
        ("inspections", {"planned_on": day}),
        ("notes", {"note": ELENA_NOTES}),
        ("decision", {"decision": "approve"}),
    ):
        done = await client.post(f"/backoffice/tasks/{inspection}/{path}", data=data, headers=elena)
        assert done.status_code == 303, (path, done.text)
    await drain(runner)

    review = await task_of(container, app_id, "licensing_review")
    assert review.state == "awaiting_officer"
    noted = await client.post(
        f"/backoffice/tasks/{review.id}/notes", data={"note": OLIVIA_NOTES}, headers=olivia
    )
    assert noted.status_code == 303
    asked = await client.post(
        f"/backoffice/tasks/{review.id}/information-request",
        data={"message": OLIVIA_ASKS},
        headers=olivia,
    )
    assert asked.status_code == 303

    page = await client.get(f"/backoffice/tasks/{review.id}", headers=olivia)
    assert page.status_code == 200
    for shown in OLIVIA_SEES:
        assert shown in page.text, shown
    for hidden in OLIVIA_DOES_NOT_SEE:
        assert hidden not in page.text, hidden

    page = await client.get(f"/backoffice/tasks/{inspection}", headers=elena)
    assert page.status_code == 200
    for shown in ELENA_SEES:
        assert shown in page.text, shown
    for hidden in ELENA_DOES_NOT_SEE:
        assert hidden not in page.text, hidden
