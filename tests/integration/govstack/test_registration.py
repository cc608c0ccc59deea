"""The Registration BB facade reaches the platform's own use cases, and refuses the wrong
caller with nothing written (ADR 0047), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import select

from civicloom.applications import request_information
from civicloom.applications.tables import ApplicationRow, TaskRow
from civicloom.demo import RESTAURANT_ANSWERS
from civicloom.documents.tables import DocumentRow
from civicloom.identity import RateLimiter, load_personas, principal_for_persona
from civicloom.kpis import refresh_service_days
from civicloom.runtime import Container
from civicloom.web import IDENTITY_RUNTIME
from civicloom.web.session import STATISTICS_PER_MINUTE
from tests.conftest import as_persona
from tests.integration.govstack.registration_world import (
    FIXTURE_FILE,
    IM,
    MOTHER_AND_CHILD,
    World,
    open_world,
)
from tests.unit.documents import samples

OLIVIA = as_persona("olivia")  # local-admin officer, licensing-officer
FELIX = as_persona("felix")  # local-admin officer without licensing-officer
TARIQ = as_persona("tariq")  # tax officer
BOB = as_persona("bob")  # citizen
ALICE = as_persona("alice")  # citizen, director of Golden Dragon Kitchen (BR-2019-004211)


@pytest.fixture
async def world(container: Container) -> AsyncIterator[World]:
    """The GovStack listener with the Registration fixtures loaded."""
    async with open_world(container) as opened:
        yield opened


# -- services and eForms (public, from the catalogue) -----------------------------------------


async def test_services_and_eforms_come_from_published_blueprints(world: World) -> None:
    listed = await world.http.get("/services", params={"name": "zero hunger"})
    assert listed.status_code == 200
    assert listed.json() == [
        {
            "id": "dec9280007e579ad7017e58a3399k5528",
            "name": "Zero Hunger",
            "version": "1",
            "type": "Public",
            "isExecutable": True,
            "isClosed": False,
            "description": "Zero Hunger (GovStack Registration conformance service)",
        }
    ]
    everything = (await world.http.get("/services")).json()
    assert "open-a-restaurant" in [s["id"] for s in everything]  # the demo's services too

    one = await world.http.get("/services/P2c9280957e579ad7017e58a3399f0068")
    assert one.status_code == 200
    assert one.json()["name"] == "Good Health and Well-Being"
    assert (await world.http.get("/services/no-such-service")).status_code == 404

    forms = await world.http.get(f"/services/{MOTHER_AND_CHILD}/eForms")
    assert forms.json() == [
        {
            "eFormId": "d98a205a-679b-485b-823d-7a32a391e744",
            "name": "Mother and Child Registration",
            "description": "Mother and Child Registration (GovStack Registration conformance "
            "service)",
            "version": "1",
            "latest": True,
        }
    ]
    form = await world.http.get("/eForms/d98a205a-679b-485b-823d-7a32a391e744")
    assert form.status_code == 200
    assert sorted(form.json()["schema"]["properties"]) == ["birth_date", "full_name"]
    restaurant = (await world.http.get("/services/open-a-restaurant/eForms")).json()
    assert restaurant[0]["eFormId"] == "open-a-restaurant.v5"  # no $id: service and version

    missing = await world.http.get("/eForms/n0t-ex1st1ng-eForm")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/json"
    assert missing.json()["detail"] == "no eForm 'n0t-ex1st1ng-eForm'"


# -- submitting a file -------------------------------------------------------------------------


async def test_a_machine_client_submits_through_the_native_use_case(world: World) -> None:
    system = await world.client("applications:write", "applications:read")
    body = {"applicantId": "mother-0001", "formData": {"data": {"full_name": "Amya Yuko"}}}
    headers = {**system.headers, "Idempotency-Key": "registration-0001"}

    response = await world.http.post(
        f"/services/{MOTHER_AND_CHILD}/applications", json=body, headers=headers
    )
    assert response.status_code == 200, response.text
    filed = response.json()
    assert filed["serviceId"] == MOTHER_AND_CHILD
    assert filed["status"] == {"code": "PENDING", "title": "Pending"}
    assert filed["ended"] is False
    assert filed["applicationData"]["applicantId"] == "mother-0001"
    assert filed["applicationData"]["formData"] == {
        "data": {"full_name": "Amya Yuko"},
        "eFormId": "d98a205a-679b-485b-823d-7a32a391e744",
    }

    async with world.container.uow() as uow:
        row = await uow.session.get(ApplicationRow, filed["fileId"])
    assert row is not None
    assert row.applicant_id == f"{system.subject}/mother-0001"  # namespaced by the client
    assert row.data == {"full_name": "Amya Yuko"}
    assert (await world.review_task(row.id)).state == "awaiting_officer"  # the case started
    assert await world.audit_of(row.id) == [
        ("application.submitted", f"api-key:{system.subject}/mother-0001"),
        ("application.read", f"api-key:{system.subject}/mother-0001"),
    ]

    before = await world.written()
    again = await world.http.post(
        f"/services/{MOTHER_AND_CHILD}/applications", json=body, headers=headers
    )
    assert again.json()["fileId"] == filed["fileId"]  # the idempotent replay
    assert (await world.written()).applications == before.applications


async def test_wrong_callers_and_bad_bodies_submit_nothing(world: World) -> None:
    reader = await world.client("applications:read")
    writer = await world.client("applications:write")
    url = f"/services/{MOTHER_AND_CHILD}/applications"
    valid = {"applicantId": "mother-0002"}
    before = await world.written()

    assert (await world.http.post(url, json=valid)).status_code == 401
    assert (await world.http.post(url, json=valid, headers=IM)).status_code == 401
    assert (await world.http.post(url, json=valid, headers=reader.headers)).status_code == 403
    assert (await world.http.post(url, json=valid, headers=OLIVIA)).status_code == 403
    unknown = await world.http.post(
        "/services/n0t-ex1st1ng-serv1ce-1d/applications", json=valid, headers=writer.headers
    )
    assert unknown.status_code == 404

    extra = {"applicantId": "mother-0002", "formData": {"data": {"favourite_colour": "red"}}}
    invalid = await world.http.post(url, json=extra, headers=writer.headers)
    assert invalid.status_code == 422
    assert [e["field"] for e in invalid.json()["errors"]] == ["data"]

    slash = await world.http.post(url, json={"applicantId": "a/b"}, headers=writer.headers)
    assert slash.status_code == 422
    assert slash.json()["errors"][0]["field"] == "applicantId"

    someone_else = await world.http.post(url, json={"applicantId": "alice"}, headers=BOB)
    assert someone_else.status_code == 422
    assert someone_else.json()["errors"][0] == {
        "field": "applicantId",
        "rule": "self",
        "message": "a person applies as themselves: send your id",
    }

    # The mandate check of the native API: a machine client acts for no business.
    move = {
        "applicantId": "director-1",
        "formData": {
            "data": {
                "business_registration_number": "BR-2019-004211",
                "new_parcel_id": "P-0042-117",
                "new_address": "1 Harbour Street, Riverton",
                "effective_date": "2027-01-15",
            }
        },
    }
    business = await world.http.post(
        "/services/change-of-business-address/applications", json=move, headers=writer.headers
    )
    assert business.status_code == 422
    assert business.json()["errors"][0]["rule"] == "may-act-for"
    after = await world.written()
    assert after == replace(before, denials=before.denials + 2)  # the two 403s, audited

    # The director herself, through the same route, passes the same check.
    move["applicantId"] = "alice"
    director = await world.http.post(
        "/services/change-of-business-address/applications", json=move, headers=ALICE
    )
    assert director.status_code == 200, director.text
    assert (await world.written()).applications == before.applications + 1


# -- reading files -----------------------------------------------------------------------------


async def test_each_caller_reads_only_the_files_it_may_see(world: World) -> None:
    mine = await world.client("applications:write", "applications:read")
    other = await world.client("applications:write", "applications:read", department="tax")
    filed = await world.http.post(
        f"/services/{MOTHER_AND_CHILD}/applications",
        json={"applicantId": "mother-0003"},
        headers=mine.headers,
    )
    file_id = filed.json()["fileId"]
    before = await world.written()

    # Another department's system, another department's officer, another citizen: 404.
    for stranger in (other.headers, TARIQ, BOB):
        assert (
            await world.http.get(f"/applications/{file_id}", headers=stranger)
        ).status_code == 404
    assert await world.written() == before  # refused reads are not audited as reads
    listed = await world.http.get("/applications", headers=other.headers)
    assert file_id not in [f["fileId"] for f in listed.json()]
    assert (await world.http.get("/applications", headers=IM)).status_code == 401

    own = await world.http.get(f"/applications/{file_id}", headers=mine.headers)
    assert own.status_code == 200
    assert own.json()["applicationData"]["applicantId"] == "mother-0003"

    # The department whose registrar reviews the file reads it (its officer and its system).
    officer = await world.http.get(f"/applications/{FIXTURE_FILE}", headers=OLIVIA)
    assert officer.status_code == 200
    # Staff see a pseudonym, never the applicant's own id (a person's is their national number).
    assert officer.json()["applicationData"]["applicantId"].startswith("anon-")
    assert "govstack-conformance-applicant" not in officer.text
    assert (await world.audit_of(FIXTURE_FILE))[-1] == ("application.read", "dev-login:olivia")

    by_applicant = await world.http.get(
        "/applications", params={"applicantId": "mother-0003"}, headers=mine.headers
    )
    assert [f["fileId"] for f in by_applicant.json()] == [file_id]
    # Nobody asks "does this person have a file here?" about someone else's applicant.
    probe = await world.http.get(
        "/applications", params={"applicantId": "govstack-conformance-applicant"}, headers=OLIVIA
    )
    assert probe.status_code == 200
    assert probe.json() == []
    by_service = await world.http.get(
        "/applications",
        params={"serviceId": MOTHER_AND_CHILD, "sortOrder": "desc"},
        headers=mine.headers,
    )
    assert [f["fileId"] for f in by_service.json()] == [file_id, FIXTURE_FILE]
    nothing = await world.http.get(
        "/applications", params={"serviceId": "n0t-ex1st1ng"}, headers=mine.headers
    )
    assert nothing.json() == []


async def test_staff_read_only_their_departments_fields(world: World) -> None:
    restaurant = dict(RESTAURANT_ANSWERS)
    filed = await world.http.post(
        "/services/open-a-restaurant/applications",
        json={"applicantId": "alice", "formData": {"data": restaurant}},
        headers=ALICE,
    )
    assert filed.status_code == 200, filed.text
    file_id = filed.json()["fileId"]
    assert filed.json()["applicationData"]["formData"]["data"] == restaurant  # her own file

    tax = await world.http.get(f"/applications/{file_id}", headers=TARIQ)
    assert tax.status_code == 200
    assert tax.json()["applicationData"]["formData"]["data"] == {
        "business_registration_number": "BR-2019-004211"
    }
    system = await world.client("applications:read", department="tax")
    machine = await world.http.get(f"/applications/{file_id}", headers=system.headers)
    assert machine.json()["applicationData"]["formData"]["data"] == {}
    assert (await world.audit_of(file_id))[-2:] == [
        ("application.read", "dev-login:tariq"),
        ("application.read", f"api-key:{system.subject}"),
    ]


# -- tasks -------------------------------------------------------------------------------------


async def test_tasks_are_the_departments_human_tasks(world: World) -> None:
    task = await world.review_task(FIXTURE_FILE)
    system = await world.client("tasks:read")
    for caller in (OLIVIA, system.headers):
        listed = await world.http.get("/tasks", params={"fileId": FIXTURE_FILE}, headers=caller)
        assert [t["taskId"] for t in listed.json()] == [task.id]
    same = await world.http.get("/tasks", params={"mainTaskId": FIXTURE_FILE}, headers=OLIVIA)
    assert [t["taskId"] for t in same.json()] == [task.id]
    nobody = await world.http.get("/tasks", params={"assigneeId": "nobody"}, headers=OLIVIA)
    assert nobody.json() == []
    assert (await world.http.get("/tasks", headers=TARIQ)).json() == []  # not tax's

    read = await world.http.get(f"/tasks/{task.id}", headers=OLIVIA)
    assert read.status_code == 200
    assert read.json()["taskName"] == "Registrar's review"
    assert read.json()["fileId"] == FIXTURE_FILE
    assert (await world.http.get(f"/tasks/{task.id}", headers=TARIQ)).status_code == 404
    assert (await world.http.get(f"/tasks/{task.id}")).status_code == 401


async def test_only_an_officer_with_the_steps_role_completes_a_review(world: World) -> None:
    task = await world.review_task(FIXTURE_FILE)
    url = f"/tasks/{task.id}/complete"
    approve = {"data": {"decision": "approve"}}
    system = await world.client("applications:write", "tasks:read")
    before = await world.written()

    assert (await world.http.post(url, json=approve)).status_code == 401
    refused = await world.http.post(url, json=approve, headers=system.headers)
    assert refused.status_code == 403  # a machine never decides a human review (ADR 0034)
    assert refused.json()["detail"] == "a machine client does not decide an officer's review"
    assert (await world.http.post(url, json=approve, headers=BOB)).status_code == 404
    assert (await world.http.post(url, json=approve, headers=TARIQ)).status_code == 404
    assert (await world.http.post(url, json=approve, headers=FELIX)).status_code == 403
    no_decision = await world.http.post(url, json={"data": {}}, headers=OLIVIA)
    assert no_decision.status_code == 422
    assert no_decision.json()["errors"][0]["field"] == "data.decision"
    assert await world.written() == before
    assert (await world.review_task(FIXTURE_FILE)).state == "awaiting_officer"

    done = await world.http.post(url, json=approve, headers=OLIVIA)
    assert done.status_code == 200, done.text
    assert done.json() == {
        "taskId": task.id,
        "fileId": FIXTURE_FILE,
        "serviceId": MOTHER_AND_CHILD,
        "status": {"code": "APPROVED", "title": "Approved"},
        "variables": {},
    }
    completed = await world.review_task(FIXTURE_FILE)
    assert completed.state == "completed"
    assert completed.assignee == "olivia"
    assert ("task.approved", "dev-login:olivia") in await world.audit_of(FIXTURE_FILE)
    again = await world.http.post(url, json=approve, headers=OLIVIA)
    assert again.status_code == 409

    await refresh_service_days(world.container.uow())  # the worker's periodic job
    stats = await world.http.get(
        "/data/statistics/1.0",
        params={"registrationName": "Mother and Child Registration"},
        headers=IM,
    )
    assert stats.status_code == 200
    assert stats.headers["content-type"] == "application/json; charset=utf-8"
    [row] = stats.json()
    assert (row["processed"], row["approved"], row["sentBack"], row["rejected"]) == (1, 1, 0, 0)


async def test_the_applicant_answers_a_question_and_nobody_else(world: World) -> None:
    # A front office of another department: it sees its applicants' questions, not the review.
    scopes = ("applications:write", "applications:read", "tasks:read")
    applicant = await world.client(*scopes, department="tax")
    colleague = await world.client(*scopes)  # the reviewing department's own system
    stranger = await world.client(*scopes, department="labour")
    filed = await world.http.post(
        f"/services/{MOTHER_AND_CHILD}/applications",
        json={"applicantId": "mother-0004"},
        headers=applicant.headers,
    )
    file_id = filed.json()["fileId"]
    task = await world.review_task(file_id)
    olivia = principal_for_persona(load_personas(world.container.settings.blueprints_dir)["olivia"])
    await request_information(
        world.container.uow(), world.container.clock, olivia, task.id, "Date of birth, please"
    )
    url = f"/tasks/{task.id}/complete"
    answer = {"data": {"answer": "2023-03-09"}}
    before = await world.written()

    assert (await world.http.post(url, json=answer, headers=stranger.headers)).status_code == 404
    for staff in (OLIVIA, colleague.headers):  # they see the task, and do not answer for her
        refused = await world.http.post(url, json=answer, headers=staff)
        assert refused.status_code == 403
        assert refused.json()["detail"] == "only the applicant answers a question put to them"
    assert await world.written() == before

    waiting = await world.http.get("/tasks", headers=applicant.headers)
    assert [t["taskId"] for t in waiting.json()] == [task.id]
    assert (await world.http.get("/tasks", headers=stranger.headers)).json() == []
    sent_back = await world.http.get(f"/applications/{file_id}", headers=applicant.headers)
    assert sent_back.json()["status"] == {"code": "SENDBACK", "title": "Sent back"}

    done = await world.http.post(url, json=answer, headers=applicant.headers)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == {"code": "PENDING", "title": "Pending"}
    async with world.container.uow() as uow:
        row = await uow.session.scalar(select(TaskRow).where(TaskRow.id == task.id))
    assert row is not None
    assert row.state == "awaiting_officer"  # back with the registrar
    assert row.output is not None
    assert row.output["answers"][0]["answer"] == "2023-03-09"
    # the answer is chained at once; the applicant's read before it joins the chain when the
    # worker folds it, so after the answer (ADR 0073)
    assert (await world.audit_of(file_id))[-2:] == [
        ("information.provided", f"api-key:{applicant.subject}/mother-0004"),
        ("application.read", f"api-key:{applicant.subject}"),  # the file read as the system
    ]


# -- statistics --------------------------------------------------------------------------------


async def test_statistics_need_the_im_header_and_a_known_registration(world: World) -> None:
    assert (await world.http.get("/data/statistics/1.0")).status_code == 400
    unversioned = await world.http.get(
        "/data/statistics", params={"registrationName": "Zero Hunger"}, headers=IM
    )
    assert unversioned.status_code == 200  # the spec's path; the suite adds the version
    assert unversioned.json()[0]["references"]["registrationName"] == "Zero Hunger"
    unknown = await world.http.get(
        "/data/statistics/1.0", params={"registrationName": "n0tex1st"}, headers=IM
    )
    assert unknown.status_code == 404
    week = await world.http.get(
        "/data/statistics/1.0",
        params={
            "registrationName": "zero hunger",
            "startDate": "2021-01-30",
            "endDate": "2021-02-06",
            "operator": "Ingmar Vali",
            "role": "Handler",
            "timeframe": "week",
        },
        headers=IM,
    )
    assert week.json() == [
        {
            "processed": 0,
            "approved": 0,
            "sentBack": 0,
            "rejected": 0,
            "references": {
                "startDate": "2021-01-30",
                "endDate": "2021-02-06",
                "registrationName": "Zero Hunger",
                "operator": "Ingmar Vali",
                "role": "Handler",
                "timeframeDay": False,
                "timeframeWeek": True,
                "timeframeMonth": False,
                "timeframeYear": False,
            },
        }
    ]


# -- documents ---------------------------------------------------------------------------------


async def test_documents_go_to_the_applicants_own_file(world: World) -> None:
    applicant = await world.client("applications:write", "applications:read")
    other = await world.client("applications:write", department="tax")
    filed = await world.http.post(
        f"/services/{MOTHER_AND_CHILD}/applications",
        json={"applicantId": "mother-0005"},
        headers=applicant.headers,
    )
    file_id = filed.json()["fileId"]
    pdf = samples.pdf("Birth certificate")

    async def upload(headers: dict[str, str] | None = None, **params: str) -> httpx.Response:
        files = {"file": ("Birth certificate.pdf", pdf, "application/pdf")}
        return await world.http.post("/documents", params=params, files=files, headers=headers)

    before = await world.written()
    query = {"fileId": file_id, "documentType": "birth-certificate"}
    assert (await upload(**query)).status_code == 401
    assert (await upload(other.headers, **query)).status_code == 404
    assert (await upload(OLIVIA, **query)).status_code == 403
    not_its_own = await upload(applicant.headers, fileId=FIXTURE_FILE, documentType="x")
    assert not_its_own.status_code == 404  # not this client's applicant's file
    incomplete = await upload(applicant.headers)
    assert incomplete.status_code == 400
    assert [e["field"] for e in incomplete.json()["errors"]] == ["fileId", "documentType"]
    assert (await world.written()).audit == before.audit

    stored = await upload(applicant.headers, **query)
    assert stored.status_code == 200, stored.text
    body = stored.json()
    assert body["code"] == 200
    assert body["type"] == "birth-certificate"
    assert body["url"].startswith(f"/api/v1/applications/{file_id}/documents/")
    async with world.container.uow() as uow:
        [row] = list(
            await uow.session.scalars(
                select(DocumentRow).where(DocumentRow.application_id == file_id)
            )
        )
    assert row.document_type == "birth-certificate"
    assert row.media_type == "application/pdf"
    assert row.uploaded_by == f"api-key:{applicant.subject}/mother-0005"
    assert (await world.audit_of(file_id))[-1][0] == "document.stored"


async def test_statistics_are_rate_limited_per_caller_address(world: World) -> None:
    """A scraper is slowed down: the 61st request of a minute from one address is 429, before
    any figure is computed, on either path (the time stands still: no token comes back)."""
    runtime = world.container.get(IDENTITY_RUNTIME)
    still = RateLimiter(
        world.container.database, {"statistics": STATISTICS_PER_MINUTE}, now=lambda: 1020.0
    )
    world.container.provide(IDENTITY_RUNTIME, replace(runtime, rate_limiter=still))
    params = {"registrationName": "Zero Hunger"}
    answers = [
        (await world.http.get("/data/statistics/1.0", params=params, headers=IM)).status_code
        for _ in range(60)
    ]
    assert answers == [200] * 60
    limited = await world.http.get("/data/statistics/1.0", params=params, headers=IM)
    assert limited.status_code == 429
    assert limited.json()["type"].endswith("/too-many-requests")
    other_path = await world.http.get("/data/statistics", params=params, headers=IM)
    assert other_path.status_code == 429


async def test_an_order_the_facade_does_not_keep_is_refused_not_ignored(world: World) -> None:
    client = await world.client("applications:read", "tasks:read")
    for path in ("/applications", "/tasks"):
        kept = await world.http.get(
            path, params={"sortBy": "created", "sortOrder": "desc"}, headers=client.headers
        )
        assert kept.status_code == 200
        refused = await world.http.get(
            path, params={"sortBy": "priority", "sortOrder": "asc"}, headers=client.headers
        )
        assert refused.status_code == 400
        assert [e["field"] for e in refused.json()["errors"]] == ["sortBy"]


async def test_statistics_read_aggregates_the_worker_recounts_for_changed_days(
    world: World,
) -> None:
    """The figures come from the KPI aggregates: a submission counts once the worker's job has
    recounted its day, and a run with nothing changed recounts nothing."""
    params = {"registrationName": "Mother and Child Registration"}

    async def processed() -> int:
        answer = await world.http.get("/data/statistics/1.0", params=params, headers=IM)
        return int(answer.json()[0]["processed"])

    assert await refresh_service_days(world.container.uow()) >= 1  # the fixtures' file's day
    assert await processed() == 1
    assert await refresh_service_days(world.container.uow()) == 1  # the newest change again
    client = await world.client("applications:write", "applications:read")
    filed = await world.http.post(
        f"/services/{MOTHER_AND_CHILD}/applications",
        json={"applicantId": "p-77", "formData": {"data": {"full_name": "Kai Tamm"}}},
        headers=client.headers,
    )
    assert filed.status_code == 200, filed.text
    assert await processed() == 1  # not recounted yet: nothing is computed per request
    assert await refresh_service_days(world.container.uow()) == 1
    assert await processed() == 2
