"""Registration BB conformance, against a running GovStack listener with the fixtures loaded.

Written from ../shared/specs/govstack/registration and from what the published suite
(GovStackWorkingGroup/bb-registration ``test/openAPI``) checks: paths, methods, status codes,
content types, field names, filters and error bodies. Each test names the published scenario
it stands for. Like the published suite, the calls name the suite's subsystem in the
``Information-Mediator-Client`` header and send no key: the listener ``make conformance``
starts trusts that header (as behind an IM security server), and the fixtures register the
subsystem to a local-admin machine client holding ``applications:read``,
``applications:write`` and ``tasks:read`` (``govstack/fixtures/registration.py``).

Where civicloom deliberately answers otherwise (ADR 0047), the test asserts civicloom's answer
and says so: the suite reads and completes tasks and uploads documents with no credentials at
all, which the platform refuses (401), and ``PUT /applications/{fileId}`` (an operator
rewriting the applicant's answers) is not offered (405).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

IM = {"Information-Mediator-Client": "eGovStack/GOV/90000009/eregistrations-dev"}
MOTHER_AND_CHILD = "f7d33db0-2809-484e-a780-76b7ccd4ecbf"
GOOD_HEALTH = "P2c9280957e579ad7017e58a3399f0068"
FIXTURE_FILE = "81c4445c-bff6-11ed-afa1-0242ac120002"
SERVICE_KEYS = {"id", "name", "version", "type", "isExecutable", "isClosed", "description"}
EFORM_KEYS = {"eFormId", "name", "description", "version", "latest"}
STATUS_CODES = {"PENDING", "APPROVED", "SENDBACK", "REJECTED"}


@pytest.fixture
def key() -> dict[str, str]:
    """The suite's front office: its subsystem in the IM header, as the suite sends it."""
    return dict(IM)


def json_of(response: httpx.Response) -> Any:
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def assert_service(item: dict[str, Any]) -> None:
    assert set(item) == SERVICE_KEYS  # the suite's schema allows no other property
    assert item["type"] in {"None", "Private", "Public"}
    assert isinstance(item["version"], str)
    assert isinstance(item["isExecutable"], bool)


def assert_file(item: dict[str, Any]) -> None:
    assert isinstance(item["fileId"], str)
    assert item["status"]["code"] in STATUS_CODES
    assert isinstance(item["ended"], bool)
    data = item["applicationData"]
    assert isinstance(data["applicantId"], str)
    assert isinstance(data["formData"]["data"], dict)
    assert isinstance(data["documentUrls"], list)


# -- GET /services (services_services.feature: 1 smoke + 3 examples) --------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Register Mother and Child",
        "Good Health and Well-Being",
        "Industry and Infrastructure",
        "Zero Hunger",
    ],
)
def test_services_by_name(gs: httpx.Client, name: str) -> None:
    response = gs.get("/services", params={"name": name})
    assert response.status_code == 200
    listed = json_of(response)
    assert isinstance(listed, list)
    for item in listed:
        assert_service(item)
    if name != "Register Mother and Child":  # not a title: no service is named so
        assert [s["name"] for s in listed] == [name]


# -- GET /services/{serviceId} (services_serviceid.feature) -----------------------------------


def test_one_service(gs: httpx.Client) -> None:
    response = gs.get(f"/services/{GOOD_HEALTH}", headers=IM)
    assert response.status_code == 200
    item = json_of(response)
    assert_service(item)  # an object, as the spec's ``service`` schema says
    assert item["id"] == "p2c9280957e579ad7017e58a3399f0068"
    assert item["name"] == "Good Health and Well-Being"
    assert gs.get("/services/n0t-ex1st1ng-serv1ce").status_code == 404


# -- GET /services/{serviceId}/eForms, /eForms/{eFormId} --------------------------------------


def test_service_eforms(gs: httpx.Client) -> None:
    response = gs.get(f"/services/{GOOD_HEALTH}/eForms")
    assert response.status_code == 200
    [form] = json_of(response)
    assert set(form) == EFORM_KEYS
    assert form["eFormId"] == "w12a205a-679b-xx34-823d-7a32a391e744"
    assert form["latest"] is True


def test_eform_by_id(gs: httpx.Client) -> None:
    response = gs.get("/eForms/d98a205a-679b-485b-823d-7a32a391e744")
    assert response.status_code == 200
    form = json_of(response)
    assert form["eFormId"] == "d98a205a-679b-485b-823d-7a32a391e744"
    assert form["schema"]["type"] == "object"
    assert set(form["schema"]["properties"]) == {"full_name", "birth_date"}


def test_eform_not_found(gs: httpx.Client) -> None:
    response = gs.get("/eForms/n0t-ex1st1ng-eForm-1d")
    assert response.status_code == 404
    assert json_of(response)["status"] == 404


# -- POST /services/{serviceId}/applications (1 smoke + 3 examples + 1 negative) ---------------


def test_submit_smoke(gs: httpx.Client, key: dict[str, str]) -> None:
    response = gs.post(
        f"/services/{MOTHER_AND_CHILD}/applications",
        json={"applicantId": "42962de0-bdb2-11ed-9397-0242ac120004"},
        headers=key,
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("application_name", "applicant_id", "created"),
    [
        ("Amya Yuko", "sgh123h5-bdb2-11ed-9397-fdae352dfa10", "2022-10-21T00:00:00.000Z"),
        ("Application name", "fdae352d-9397-bdb2-11ed-11ed9397bdb2", "2022-11-22T00:00:00.000Z"),
        ("Application", "11ed9397-11ed-9397-bdb2-sgh123h511ed", "2022-12-23T00:00:00.000Z"),
    ],
)
def test_submit(
    gs: httpx.Client, key: dict[str, str], application_name: str, applicant_id: str, created: str
) -> None:
    response = gs.post(
        f"/services/{MOTHER_AND_CHILD}/applications",
        json={"applicationName": application_name, "applicantId": applicant_id, "created": created},
        headers=key,
    )
    assert response.status_code == 200, response.text
    filed = json_of(response)
    assert_file(filed)
    assert filed["serviceId"] == MOTHER_AND_CHILD
    assert filed["applicationData"]["applicantId"] == applicant_id
    assert filed["status"] == {"code": "PENDING", "title": "Pending"}


def test_submit_to_an_unknown_service(gs: httpx.Client, key: dict[str, str]) -> None:
    response = gs.post(
        "/services/n0t-ex1st1ng-serv1ce-1d/applications",
        json={"applicantId": "23qwef41-bdb2-11ed-qwef-efg4345aqwef"},
        headers=key,
    )
    assert response.status_code == 404


# -- GET /applications (applicant_applications.feature: 6 scenarios) --------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"serviceId": "0b4e529c-fe1a-11ed-be56-0242ac120002"},
        {"applicantId": "11962de0-11b2-11cc-9390-0242ac121114"},
        {
            "serviceId": "99be529c-fe1a-11ed-be56-0242ac120555",
            "applicantId": "99b62de0-11b2-11cc-9390-0242ac121555",
            "firstResult": "2",
            "maxResult": "20",
            "sortBy": "created",
            "sortOrder": "asc",
        },
    ],
)
def test_list_files(gs: httpx.Client, key: dict[str, str], params: dict[str, str]) -> None:
    response = gs.get("/applications", params=params, headers=key)
    assert response.status_code == 200
    listed = json_of(response)
    assert isinstance(listed, list)
    for item in listed:
        assert item["status"]["code"] in STATUS_CODES
        assert isinstance(item["fileId"], str)
    if not params:
        assert FIXTURE_FILE in [f["fileId"] for f in listed]


@pytest.mark.parametrize(
    "params",
    [{"serviceId": "n0t-ex1st1ng-serv1ce#-1d"}, {"applicantId": "n0t-ex1st1ng-applicant#-1d"}],
)
def test_list_files_of_nothing(
    gs: httpx.Client, key: dict[str, str], params: dict[str, str]
) -> None:
    response = gs.get("/applications", params=params, headers=key)
    assert response.status_code == 200
    assert json_of(response) == []


# -- GET /applications/{fileId} (2 scenarios) -------------------------------------------------


def test_read_file(gs: httpx.Client, key: dict[str, str]) -> None:
    response = gs.get(f"/applications/{FIXTURE_FILE}", headers=key)
    assert response.status_code == 200
    filed = json_of(response)
    assert_file(filed)
    assert filed["fileId"] == FIXTURE_FILE
    assert filed["serviceId"] == MOTHER_AND_CHILD


def test_read_unknown_file(gs: httpx.Client, key: dict[str, str]) -> None:
    assert gs.get("/applications/n0t-ex1st1ng-serv1ce-1d", headers=key).status_code == 404


def test_update_file_is_not_offered(gs: httpx.Client, key: dict[str, str]) -> None:
    """operator_applications_update.feature: civicloom does not let an operator rewrite the
    applicant's answers (ADR 0047); the operator asks, the applicant answers."""
    response = gs.put(f"/applications/{FIXTURE_FILE}", json={"applicantId": "x"}, headers=key)
    assert response.status_code == 405


# -- POST /documents (3 scenarios) ------------------------------------------------------------


def test_documents_need_a_caller(gs: httpx.Client) -> None:
    """The suite uploads with no credentials: civicloom refuses (401, a problem body)."""
    response = gs.post("/documents", files={"file": ("a.pdf", b"%PDF-1.4\n", "application/pdf")})
    assert response.status_code == 401
    assert response.json()["status"] == 401


def test_documents_without_a_file_are_a_bad_request(gs: httpx.Client, key: dict[str, str]) -> None:
    response = gs.post("/documents", headers=key)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["fileId", "documentType"]


# -- GET /tasks (8 scenarios), GET /tasks/{taskId} (2), POST /tasks/{taskId}/complete (2) -----


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"fileId": FIXTURE_FILE},
        {"mainTaskId": FIXTURE_FILE},
        {"assigneeId": "42962de0-bdb2-11ed-9397-0242ac120022"},
        {
            "fileId": "99be529c-fe1a-11ed-be56-0242ac120555",
            "mainTaskId": "42962de0-bdb2-11ed-9397-0242ac120004",
            "assigneeId": "42962de0-bdb2-11ed-9397-0242ac120022",
            "firstResult": "2",
            "maxResult": "20",
            "sortBy": "created",
            "sortOrder": "asc",
        },
    ],
)
def test_list_tasks(gs: httpx.Client, key: dict[str, str], params: dict[str, str]) -> None:
    response = gs.get("/tasks", params=params, headers=key)
    assert response.status_code == 200
    listed = json_of(response)
    assert isinstance(listed, list)
    for task in listed:
        assert {"taskId", "mainTaskId", "fileId", "serviceId", "status"} <= set(task)
    if params in ({"fileId": FIXTURE_FILE}, {"mainTaskId": FIXTURE_FILE}):
        assert [t["fileId"] for t in listed] == [FIXTURE_FILE]


@pytest.mark.parametrize(
    "params",
    [
        {"fileId": "n0t-ex1st1ng-file#-1d"},
        {"mainTaskId": "n0t-ex1st1ng-main-task#-1d"},
        {"assigneeId": "n0t-ex1st1ng-assignee#-1d"},
    ],
)
def test_list_tasks_of_nothing(
    gs: httpx.Client, key: dict[str, str], params: dict[str, str]
) -> None:
    response = gs.get("/tasks", params=params, headers=key)
    assert response.status_code == 200
    assert json_of(response) == []


def _fixture_task(gs: httpx.Client, key: dict[str, str]) -> str:
    [task] = gs.get("/tasks", params={"fileId": FIXTURE_FILE}, headers=key).json()
    return str(task["taskId"])


def test_read_task(gs: httpx.Client, key: dict[str, str]) -> None:
    task_id = _fixture_task(gs, key)
    response = gs.get(f"/tasks/{task_id}", headers=key)
    assert response.status_code == 200
    task = json_of(response)
    assert task["taskId"] == task_id
    assert task["fileId"] == FIXTURE_FILE
    assert task["taskName"] == "Registrar's review"
    assert gs.get("/tasks/n0t-ex1st1ng-task-1d", headers=key).status_code == 404
    assert gs.get(f"/tasks/{task_id}").status_code == 401  # the suite sends no credentials


def test_complete_task(gs: httpx.Client, key: dict[str, str]) -> None:
    """A machine client does not decide a registrar's review (ADR 0034, 0047); an unknown
    task is a 404; without credentials, 401."""
    task_id = _fixture_task(gs, key)
    body: dict[str, Any] = {
        "data": {"additionalProp1": {}, "additionalProp2": {}, "additionalProp3": {}}
    }
    refused = gs.post(f"/tasks/{task_id}/complete", json=body, headers=key)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "a machine client does not decide an officer's review"
    assert (
        gs.post("/tasks/n0t-ex1st1ng-task-1d/complete", json=body, headers=key).status_code == 404
    )
    assert gs.post(f"/tasks/{task_id}/complete", json=body).status_code == 401


# -- GET /data/statistics/1.0 ----------------------------------------------------------------

STAT_KEYS = {"processed", "approved", "sentBack", "rejected", "references"}
REFERENCE_KEYS = {
    "startDate",
    "endDate",
    "registrationName",
    "operator",
    "role",
    "timeframeDay",
    "timeframeWeek",
    "timeframeMonth",
    "timeframeYear",
}


def test_statistics(gs: httpx.Client) -> None:
    response = gs.get("/data/statistics/1.0", headers=IM)
    assert response.status_code == 200
    rows = json_of(response)
    assert rows
    for row in rows:
        assert set(row) == STAT_KEYS
        assert set(row["references"]) == REFERENCE_KEYS


@pytest.mark.parametrize(
    ("start", "end", "timeframe"),
    [
        ("2021-01-30", "2021-01-30", "day"),
        ("2021-01-30", "2021-02-06", "week"),
        ("2020-12-30", "2021-01-30", "month"),
        ("2021-01-30", "2022-01-30", "year"),
    ],
)
def test_statistics_with_parameters(gs: httpx.Client, start: str, end: str, timeframe: str) -> None:
    response = gs.get(
        "/data/statistics/1.0",
        params={
            "startDate": start,
            "endDate": end,
            "registrationName": "Zero Hunger",
            "operator": "Ingmar Vali",
            "role": "Handler",
            "timeframe": timeframe,
        },
        headers=IM,
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    [row] = response.json()
    assert row["references"]["startDate"] == start
    assert row["references"][f"timeframe{timeframe.title()}"] is True
    assert row["processed"] == 0  # nothing was submitted in 2021


@pytest.mark.parametrize("header", [None, "", "''", "invalid_header", "eGovStack/GOV/90000009/"])
def test_statistics_need_a_valid_im_header(gs: httpx.Client, header: str | None) -> None:
    headers = {} if header is None else {"Information-Mediator-Client": header}
    assert gs.get("/data/statistics/1.0", headers=headers).status_code == 400


def test_statistics_of_an_unknown_registration(gs: httpx.Client) -> None:
    response = gs.get("/data/statistics/1.0", params={"registrationName": "n0tex1st"}, headers=IM)
    assert response.status_code == 404
