"""Digital Registries BB conformance, against a running GovStack listener (``make conformance``).

Written from ../shared/specs/govstack/digital-registries (Data API 1.3.0) and from what the
published suite (GovStackWorkingGroup/bb-digital-registries, test/openAPI/features) checks:
paths and methods, status codes, ``content-type: application/json; charset=utf-8``, the body
shapes (``content``, ``answer.status``/``answer.message``, ``count``/``results``, the
``no record found`` 404, the PersonalDataUsage fields) and the 400s of MyPersonalDataUsage.

The platform's registers stand where the suite uses its sample person register
(``registryname/111``, which civicloom does not have): ``licences/1.0`` (the platform's own) and
``businesses/1.0`` (the local administration's, read under agreement DSA-2025-101 with Alice's
consent). Needs the registries fixtures loaded, the local administration's system reachable,
and ``GOVSTACK_API_KEY`` a key of a ``local-admin`` client with ``registries:read`` and
``registries:write``. Nothing here changes a licence: revocation is covered by the integration
tests (tests/integration/govstack/test_registries.py).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

JSON = "application/json; charset=utf-8"
IM = {"Information-Mediator-Client": "INSTANCE/CLASS/MEMBER/SUBSYSTEM"}
LICENCES = "/data/licences/1.0"
BUSINESSES = "/data/businesses/1.0"
GOLDEN_DRAGON = "BR-2019-004211"


@pytest.fixture
def key(api_key: str) -> dict[str, str]:
    """The conformance client's headers: GovStack's ``api_key`` and the IM client."""
    assert api_key, "set GOVSTACK_API_KEY to the conformance client's key"
    return {"api_key": api_key, **IM}


@pytest.fixture
def licence(gs: httpx.Client, key: dict[str, str]) -> dict[str, Any]:
    """The fixtures' licence, found by its holder's registration number (its number is not
    fixed: it is generated when the licence is signed)."""
    found = gs.get(LICENCES, params={"query.RegistrationNumber": GOLDEN_DRAGON}, headers=key)
    assert found.status_code == 200, found.text
    results: list[dict[str, Any]] = found.json()["results"]
    assert results, "load the registries fixtures first"
    return results[0]


def by(**content: str) -> dict[str, Any]:
    return {"query": {"content": content}}


# data_list.feature ------------------------------------------------------------------------


def test_list_returns_count_and_results(gs: httpx.Client, key: dict[str, str]) -> None:
    found = gs.get(
        LICENCES,
        params={"query.RegistrationNumber": GOLDEN_DRAGON, "page": 1, "pageSize": 10},
        headers=key,
    )
    assert found.status_code == 200
    assert found.headers["content-type"] == JSON
    body = found.json()
    assert sorted(body) == ["count", "next", "previous", "results"]
    assert body["count"] >= 1
    assert body["results"][0]["HolderName"] == "Golden Dragon Kitchen Ltd"


def test_list_of_a_value_no_record_has_is_empty(gs: httpx.Client, key: dict[str, str]) -> None:
    found = gs.get(LICENCES, params={"search": "no such licence anywhere"}, headers=key)
    assert found.status_code == 200
    assert found.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_list_with_an_invalid_query_is_an_error(gs: httpx.Client, key: dict[str, str]) -> None:
    bad = gs.get(LICENCES, params={"query.FirstName": "John"}, headers=key)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.FirstName"


# data_read.feature ------------------------------------------------------------------------


def test_read_by_id(gs: httpx.Client, key: dict[str, str], licence: dict[str, Any]) -> None:
    read = gs.post(f"{LICENCES}/read", json=by(ID=licence["ID"]), headers=key)
    assert read.status_code == 200
    assert read.headers["content-type"] == JSON
    assert read.json()["content"]["ID"] == licence["ID"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("HolderName", "Golden Dragon Kitchen Ltd"),
        ("RegistrationNumber", "BR-2019-004211"),
        ("IssuingDepartment", "local-admin"),
        ("Premises", "12 Harbour Street, parcel P-0042-117"),
    ],
)
def test_read_by_one_field(gs: httpx.Client, key: dict[str, str], field: str, value: str) -> None:
    read = gs.post(f"{LICENCES}/read", json=by(**{field: value}), headers=key)
    assert read.status_code == 200
    assert read.json()["content"][field] == value


def test_read_by_every_field(
    gs: httpx.Client, key: dict[str, str], licence: dict[str, Any]
) -> None:
    query = {k: licence[k] for k in ("ID", "HolderName", "RegistrationNumber", "Activity")}
    read = gs.post(f"{LICENCES}/read", json=by(**query), headers=key)
    assert read.status_code == 200
    assert {k: read.json()["content"][k] for k in query} == query


def test_read_of_no_record_is_404_no_record_found(gs: httpx.Client, key: dict[str, str]) -> None:
    read = gs.post(f"{LICENCES}/read", json=by(HolderName="NotExist"), headers=key)
    assert read.status_code == 404
    assert read.headers["content-type"] == JSON
    assert read.json() == {"detail": "no record found"}


def test_read_through_a_department_register(gs: httpx.Client, key: dict[str, str]) -> None:
    read = gs.post(
        f"{BUSINESSES}/read",
        json=by(registration_number=GOLDEN_DRAGON, SubjectID="alice"),
        headers=key,
    )
    assert read.status_code == 200, read.text
    assert read.json() == {
        "content": {
            "registration_number": "BR-2019-004211",
            "name": "Golden Dragon Kitchen Ltd",
            "director_name": "Alice Chen",
            "registered_address": "8 Lantern Lane, Riverton",
        }
    }


def test_read_through_without_consent_is_refused(gs: httpx.Client, key: dict[str, str]) -> None:
    read = gs.post(
        f"{BUSINESSES}/read",
        json=by(registration_number=GOLDEN_DRAGON, SubjectID="bob"),
        headers=key,
    )
    assert read.status_code == 403
    assert "consent" in read.json()["detail"]


def test_a_register_whose_records_name_nobody_is_not_read_on_consent(
    gs: httpx.Client, key: dict[str, str]
) -> None:
    read = gs.post(
        "/data/taxpayers/1.0/read",
        json=by(registration_number=GOLDEN_DRAGON, SubjectID="alice"),
        headers=key,
    )
    assert read.status_code == 403


# data_exist.feature -----------------------------------------------------------------------


def test_exists_true(gs: httpx.Client, key: dict[str, str]) -> None:
    found = gs.post(f"{LICENCES}/exists", json=by(RegistrationNumber=GOLDEN_DRAGON), headers=key)
    assert found.status_code == 200
    assert found.headers["content-type"] == JSON
    assert found.json() == {"answer": {"status": True, "message": "Object found from database"}}


@pytest.mark.parametrize("holder", ["Mike", "Thomas", "Brook", "Alice"])
def test_exists_false(gs: httpx.Client, key: dict[str, str], holder: str) -> None:
    found = gs.post(f"{LICENCES}/exists", json=by(HolderName=holder), headers=key)
    assert found.status_code == 200
    assert found.json() == {
        "answer": {"status": False, "message": "Object not found from database"}
    }


# data_read_value.feature ------------------------------------------------------------------


@pytest.mark.parametrize("segment", ["readValue", "read-value"])
def test_read_value(
    gs: httpx.Client, key: dict[str, str], licence: dict[str, Any], segment: str
) -> None:
    value = gs.get(f"{LICENCES}/{licence['ID']}/{segment}/HolderName.json", headers=key)
    assert value.status_code == 200
    assert value.json() == {"value": "Golden Dragon Kitchen Ltd"}


def test_read_value_of_an_empty_field(
    gs: httpx.Client, key: dict[str, str], licence: dict[str, Any]
) -> None:
    value = gs.get(f"{LICENCES}/{licence['ID']}/readValue/RevokedAt.json", headers=key)
    assert value.status_code == 200
    assert value.json() == {"value": None}


def test_read_value_invalid_request(
    gs: httpx.Client, key: dict[str, str], licence: dict[str, Any]
) -> None:
    value = gs.get(f"{LICENCES}/{licence['ID']}/readValue/FirstName.xml", headers=key)
    assert value.status_code == 422
    assert {e["field"] for e in value.json()["errors"]} == {"ext", "field"}


# data_create / data_update_or_create / data_update_entries / data_update / data_delete ------


@pytest.mark.parametrize("path", ["create", "updateOrCreate", "update-or-create"])
def test_licences_are_not_created_through_the_registry(
    gs: httpx.Client, key: dict[str, str], path: str
) -> None:
    body = {"write": {"content": {"ID": "EE34534123", "HolderName": "Zofia Don"}}}
    refused = gs.post(f"{LICENCES}/{path}", json=body, headers=key)
    assert refused.status_code == 405
    assert "issued by the case engine" in refused.json()["detail"]


@pytest.mark.parametrize("path", ["updateEntries", "update-entries"])
def test_licences_are_not_changed_in_bulk(gs: httpx.Client, key: dict[str, str], path: str) -> None:
    body = {"query": {"content": {"HolderName": "Alina"}}, "write": {"content": {"Status": "x"}}}
    refused = gs.put(f"{LICENCES}/{path}", json=body, headers=key)
    assert refused.status_code == 405


def test_a_licences_signed_terms_never_change(
    gs: httpx.Client, key: dict[str, str], licence: dict[str, Any]
) -> None:
    body = {
        "query": {"content": {"ID": licence["ID"]}},
        "write": {"content": {"HolderName": "Jack Black"}},
    }
    refused = gs.put(f"{LICENCES}/update", json=body, headers=key)
    assert refused.status_code == 422
    assert ("write.content.HolderName", "immutable") in {
        (e["field"], e["rule"]) for e in refused.json()["errors"]
    }


def test_delete_of_no_such_licence_is_404(gs: httpx.Client, key: dict[str, str]) -> None:
    gone = gs.delete(f"{LICENCES}/EE378627348834/delete", headers=key)
    assert gone.status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "create"),
        ("POST", "updateOrCreate"),
        ("PUT", "update"),
        ("PUT", "updateEntries"),
        ("DELETE", f"{GOLDEN_DRAGON}/delete"),
    ],
)
def test_a_department_register_is_read_only(
    gs: httpx.Client, key: dict[str, str], method: str, path: str
) -> None:
    body = {"query": {"content": {"registration_number": GOLDEN_DRAGON}}, "write": {"content": {}}}
    refused = gs.request(
        method, f"{BUSINESSES}/{path}", json=None if method == "DELETE" else body, headers=key
    )
    assert refused.status_code == 403
    assert "owned by the department 'local-admin'" in refused.json()["detail"]


def test_an_unknown_registry_is_404(gs: httpx.Client, key: dict[str, str]) -> None:
    missing = gs.post("/data/registryname/111/read", json=by(FirstName="John"), headers=key)
    assert missing.status_code == 404


# data_my_personal_data_usage.feature ------------------------------------------------------

ALICE = {"Authorization": "Bearer dev:alice", **IM}


def test_my_personal_data_usage(gs: httpx.Client, key: dict[str, str]) -> None:
    gs.post(
        f"{BUSINESSES}/read",
        json=by(registration_number=GOLDEN_DRAGON, SubjectID="alice"),
        headers=key,
    )
    usage = gs.get(
        "/data/MyPersonalDataUsage/1.0",
        params={"userID": "alice", "DatabaseID": "BR"},
        headers=ALICE,
    )
    assert usage.status_code == 200, usage.text
    assert usage.headers["content-type"] == JSON
    first = usage.json()[0]
    assert sorted(first) == [
        "fields",
        "id",
        "readerApplicationName",
        "readerId",
        "readerInitials",
        "readerInstitutionId",
        "readerInstitutionName",
        "refrences",
        "searchDateTime",
    ]
    assert first["readerInstitutionName"] == "Local Administration"
    spec_path = gs.get(
        "/data/myPersonalDataUsage", params={"userId": "alice", "databaseId": "BR"}, headers=ALICE
    )
    assert spec_path.json() == usage.json()


def test_my_personal_data_usage_invalid_user_id(gs: httpx.Client) -> None:
    bad = gs.get(
        "/data/MyPersonalDataUsage/1.0", params={"userID": "...", "DatabaseID": "BR"}, headers=ALICE
    )
    assert bad.status_code == 400
    assert [e["field"] for e in bad.json()["errors"]] == ["userId"]


def test_my_personal_data_usage_invalid_database_id(gs: httpx.Client) -> None:
    bad = gs.get(
        "/data/MyPersonalDataUsage/1.0",
        params={"userID": "alice", "DatabaseID": "..."},
        headers=ALICE,
    )
    assert bad.status_code == 400
    assert [e["field"] for e in bad.json()["errors"]] == ["databaseId"]


def test_someone_elses_data_usage_is_refused(gs: httpx.Client, key: dict[str, str]) -> None:
    params = {"userID": "alice", "DatabaseID": "BR"}
    bob = {"Authorization": "Bearer dev:bob", **IM}
    assert gs.get("/data/MyPersonalDataUsage/1.0", params=params, headers=bob).status_code == 403
    assert gs.get("/data/MyPersonalDataUsage/1.0", params=params, headers=key).status_code == 403


# db_list.feature / db_read.feature / db_modify.feature / db_delete.feature ------------------


def test_databases(gs: httpx.Client, key: dict[str, str]) -> None:
    listed = gs.get("/databases", headers=key)
    assert listed.status_code == 200
    assert listed.headers["content-type"] == JSON
    body = listed.json()
    assert sorted(body) == ["code", "databases", "name"]
    assert [(d["id"], d["name"], d["version"], d["code"]) for d in body["databases"]] == [
        (1, "licences", "1.0", "LIC"),
        (2, "businesses", "1.0", "BR"),
        (3, "taxpayers", "1.0", "TAX"),
        (4, "parcels", "1.0", "LP"),
    ]


def test_database_by_id(gs: httpx.Client, key: dict[str, str]) -> None:
    one = gs.get("/database/1", headers=key)
    assert one.status_code == 200
    assert one.headers["content-type"] == JSON
    body = one.json()
    assert body["name"] == "licences"
    assert body["schema"]["required"] == ["ID"]
    assert body["schema"]["properties"]["ID"]["primaryKey"] is True


@pytest.mark.parametrize("database_id", [123, 8438778473, 3287483474, 8484848484])
def test_an_unknown_database_is_404(
    gs: httpx.Client, key: dict[str, str], database_id: int
) -> None:
    assert gs.get(f"/database/{database_id}", headers=key).status_code == 404


def test_register_definitions_are_not_changed_through_the_api(
    gs: httpx.Client, key: dict[str, str]
) -> None:
    assert gs.post("/database/modify", json={"code": "MCR"}, headers=key).status_code == 405
    assert gs.delete("/database/1", headers=key).status_code == 405


# every operation refuses a caller without a key ------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/databases"),
        ("GET", "/database/1"),
        ("GET", LICENCES),
        ("POST", f"{LICENCES}/read"),
        ("POST", f"{LICENCES}/exists"),
        ("POST", f"{LICENCES}/create"),
        ("PUT", f"{LICENCES}/update"),
        ("DELETE", f"{LICENCES}/LIC-1/delete"),
        ("GET", "/data/MyPersonalDataUsage/1.0?userID=alice&DatabaseID=BR"),
    ],
)
def test_no_key_is_401(gs: httpx.Client, method: str, path: str) -> None:
    body = None if method in ("GET", "DELETE") else by(ID="x")
    assert gs.request(method, path, json=body, headers=IM).status_code == 401
