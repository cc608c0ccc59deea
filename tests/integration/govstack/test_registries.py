"""Digital Registries facade on SQLite and PostgreSQL: each operation reaches the real use case
(licence read and revoked, department register read under agreement and consent, data use and
audit written) and the wrong caller is refused with nothing written and no department called."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from civicloom.departments import CAPABILITY_GATEWAY
from civicloom.registries.tables import DataUseRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.govstack.registries_world import (
    CAROLS,
    GOLDEN_DRAGON,
    UNREACHABLE,
    World,
    content_of,
    registries_world,
)
from tests.transactions import NoCallInTransaction, TransactionWatch
from tests.wiring import swap

LICENCES = "/data/licences/1.0"
BUSINESSES = "/data/businesses/1.0"


@pytest.fixture
async def world(container: Container, client: httpx.AsyncClient) -> AsyncIterator[World]:
    async with registries_world(container, client) as built:
        yield built


def by_id(licence_id: str) -> dict[str, object]:
    return {"query": {"content": {"ID": licence_id}}}


async def test_licence_register_reads_are_real_and_audited(world: World) -> None:
    read = await world.gs.post(
        f"{LICENCES}/read", json=by_id(world.licence_id), headers=world.key("tax-reader")
    )
    content = content_of(read)
    assert read.headers["content-type"] == "application/json; charset=utf-8"
    assert content["ID"] == world.licence_id
    assert content["ApplicationID"] == world.application_id
    assert content["HolderName"] == "Golden Dragon Kitchen Ltd"
    assert content["RegistrationNumber"] == "BR-2019-004211"
    assert content["IssuingDepartment"] == "local-admin"
    assert content["Status"] == "valid"

    listed = await world.gs.get(
        LICENCES,
        params={"query.RegistrationNumber": "BR-2019-004211", "search": "harbour"},
        headers=world.key("tax-reader"),
    )
    assert listed.status_code == 200, listed.text
    assert listed.json()["count"] == 1
    assert [r["ID"] for r in listed.json()["results"]] == [world.licence_id]
    assert listed.json()["next"] is None
    assert listed.json()["previous"] is None

    value = await world.gs.get(
        f"{LICENCES}/{world.licence_id}/readValue/Premises.json", headers=world.key("tax-reader")
    )
    assert value.status_code == 200, value.text
    assert value.json() == {"value": "12 Harbour Street, parcel P-0042-117"}

    exists = await world.gs.post(
        f"{LICENCES}/exists",
        json={"query": {"content": {"HolderName": "Golden Dragon Kitchen Ltd"}}},
        headers=world.key("tax-reader"),
    )
    assert exists.json() == {"answer": {"status": True, "message": "Object found from database"}}

    reads = await world.audit("register.read")
    assert [(e.subject_id, e.details["licences"]) for e in reads] == [
        ("licences", [world.licence_id]),
        ("licences", [world.licence_id]),
        ("licences", [world.licence_id]),
        ("licences", [world.licence_id]),  # exists: it tells whether the licence is there
    ]
    assert [e.purpose for e in reads] == [
        "Digital Registries read",
        "Digital Registries list",
        "Digital Registries readValue",
        "Digital Registries exists",
    ]
    assert {e.actor.split(":")[0] for e in reads} == {"api-key"}
    assert reads[0].details["information_mediator_client"] == "CL/GOV/LA/licensing"


async def test_an_unknown_licence_is_no_record_found_and_the_answer_is_audited(
    world: World,
) -> None:
    before = await world.counts()
    read = await world.gs.post(
        f"{LICENCES}/read", json=by_id("LIC-0000-NOPE"), headers=world.key("tax-reader")
    )
    assert read.status_code == 404
    assert read.json() == {"detail": "no record found"}
    assert read.headers["content-type"].startswith("application/json")
    exists = await world.gs.post(
        f"{LICENCES}/exists", json=by_id("LIC-0000-NOPE"), headers=world.key("tax-reader")
    )
    assert exists.json()["answer"]["status"] is False
    empty = await world.gs.get(
        LICENCES, params={"query.ID": "LIC-0000-NOPE"}, headers=world.key("tax-reader")
    )
    assert empty.json()["count"] == 0
    audit, uses, licences = await world.counts()
    assert (audit, uses, licences) == (before[0] + 3, before[1], before[2])
    reads = await world.audit("register.read")
    assert [(e.details["licences"], e.details["criteria"]) for e in reads] == [
        ([], ["ID"]),
        ([], ["ID"]),
        ([], ["ID"]),
    ]


async def test_bad_queries_name_the_field(world: World) -> None:
    headers = world.key("tax-reader")
    unknown = await world.gs.post(
        f"{LICENCES}/read", json={"query": {"content": {"FirstName": "Anna"}}}, headers=headers
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "query.content.FirstName"
    assert unknown.json()["errors"][0]["rule"] == "unknown-field"
    paging = await world.gs.get(LICENCES, params={"pageSize": 1000}, headers=headers)
    assert paging.status_code == 422
    assert paging.json()["errors"][0]["field"] == "pageSize"
    no_registry = await world.gs.post(
        "/data/registryname/111/read", json=by_id("x"), headers=headers
    )
    assert no_registry.status_code == 404
    assert "registryname" in no_registry.json()["detail"]


async def test_wrong_callers_are_refused_and_nothing_is_written(world: World) -> None:
    before = await world.counts()
    body = by_id(world.licence_id)
    nobody = await world.gs.post(f"{LICENCES}/read", json=body)
    assert nobody.status_code == 401
    bad_key = await world.gs.post(
        f"{LICENCES}/read", json=body, headers={"api_key": "cl_nope_nope"}
    )
    assert bad_key.status_code == 401
    no_scope = await world.gs.post(f"{LICENCES}/read", json=body, headers=world.key("la-messaging"))
    assert no_scope.status_code == 403
    person = await world.gs.post(f"{LICENCES}/read", json=body, headers=as_persona("alice"))
    assert person.status_code == 403
    reader_writes = await world.gs.put(
        f"{LICENCES}/update",
        json={
            "query": body["query"],
            "write": {"content": {"Status": "revoked", "RevocationReason": "x"}},
        },
        headers=world.key("la-reader"),
    )
    assert reader_writes.status_code == 403
    reader_deletes = await world.gs.delete(
        f"{LICENCES}/{world.licence_id}/delete", headers=world.key("la-reader")
    )
    assert reader_deletes.status_code == 403
    # the denials themselves are audited by the platform's guard; nothing else is written
    after = await world.counts()
    assert after[1:] == before[1:]
    assert await world.audit("register.read") == []
    assert await world.audit("licence.revoked") == []
    assert (await world.licence()).revoked_at is None
    assert world.registers.calls == []


async def test_the_issuing_departments_system_revokes_its_licence(world: World) -> None:
    other = await world.gs.put(
        f"{LICENCES}/update",
        json={
            "query": {"content": {"ID": world.licence_id}},
            "write": {"content": {"Status": "revoked", "RevocationReason": "premises closed"}},
        },
        headers=world.key("tax-writer"),
    )
    assert other.status_code == 404  # not the tax authority's licence
    assert (await world.licence()).revoked_at is None

    terms = await world.gs.put(
        f"{LICENCES}/update",
        json={
            "query": {"content": {"ID": world.licence_id}},
            "write": {"content": {"Premises": "1 Other Street"}},
        },
        headers=world.key("la-writer"),
    )
    assert terms.status_code == 422
    fields = {(e["field"], e["rule"]) for e in terms.json()["errors"]}
    assert ("write.content.Premises", "immutable") in fields
    assert (await world.licence()).premises == "12 Harbour Street, parcel P-0042-117"

    revoked = await world.gs.put(
        f"{LICENCES}/update",
        json={
            "query": {"content": {"ID": world.licence_id}},
            "write": {"content": {"Status": "revoked", "RevocationReason": "premises closed"}},
        },
        headers=world.key("la-writer"),
    )
    assert content_of(revoked)["Status"] == "revoked"
    row = await world.licence()
    assert row.revoked_at is not None
    assert row.revocation_reason == "premises closed"
    entries = await world.audit("licence.revoked")
    assert [(e.department, e.details["licence_id"], e.details["via"]) for e in entries] == [
        ("local-admin", world.licence_id, "digital-registries")
    ]
    again = await world.gs.delete(
        f"{LICENCES}/{world.licence_id}/delete", headers=world.key("la-writer")
    )
    assert again.status_code == 409


async def test_delete_revokes_and_never_erases(world: World) -> None:
    gone = await world.gs.delete(
        f"{LICENCES}/{world.licence_id}/delete",
        params={"reason": "surrendered"},
        headers=world.key("la-writer"),
    )
    assert gone.status_code == 204
    row = await world.licence()
    assert row.revocation_reason == "surrendered"
    read = await world.gs.post(
        f"{LICENCES}/read", json=by_id(world.licence_id), headers=world.key("la-reader")
    )
    assert content_of(read)["Status"] == "revoked"


async def test_licences_are_not_created_here(world: World) -> None:
    before = await world.counts()
    body = {"write": {"content": {"ID": "LIC-1", "HolderName": "Someone"}}}
    for path in ("create", "updateOrCreate", "update-or-create"):
        refused = await world.gs.post(
            f"{LICENCES}/{path}", json=body, headers=world.key("la-writer")
        )
        assert refused.status_code == 405
        assert "issued by the case engine" in refused.json()["detail"]
    for path in ("updateEntries", "update-entries"):
        bulk = await world.gs.put(f"{LICENCES}/{path}", json=body, headers=world.key("la-writer"))
        assert bulk.status_code == 405, path
    assert (await world.counts())[2] == before[2]


async def test_a_department_register_is_read_under_agreement_and_consent(world: World) -> None:
    await world.alice_consents()
    watch = TransactionWatch(world.container.database.engine)
    guarded = NoCallInTransaction(world.registers, watch)
    swap(world.gs._transport.app, CAPABILITY_GATEWAY, guarded)  # type: ignore[attr-defined]
    try:
        read = await world.gs.post(
            f"{BUSINESSES}/read",
            json={
                "query": {"content": {"registration_number": GOLDEN_DRAGON, "SubjectID": "alice"}}
            },
            headers=world.key("la-reader"),
        )
    finally:
        watch.close()
    assert guarded.violations == []
    # only what agreement DSA-2025-101 covers, and the key: no status, no person id
    assert content_of(read) == {
        "registration_number": GOLDEN_DRAGON,
        "name": "Golden Dragon Kitchen Ltd",
        "director_name": "Alice Chen",
        "registered_address": "8 Lantern Lane, Riverton",
    }
    assert [c.capability for c in world.registers.calls] == ["local-admin.business_lookup"]
    async with world.container.uow() as uow:
        uses = list(await uow.session.scalars(select(DataUseRow)))
    assert [(u.subject, u.agreement_id, u.reader, u.capability) for u in uses] == [
        ("alice", "DSA-2025-101", "local-admin", "local-admin.business_lookup")
    ]
    reads = await world.audit("register.read")
    assert [(e.subject_id, e.department, e.details["agreement"]) for e in reads] == [
        ("businesses", "local-admin", "DSA-2025-101")
    ]

    value = await world.gs.get(
        f"{BUSINESSES}/{GOLDEN_DRAGON}/readValue/director_name.json",
        params={"SubjectID": "alice"},
        headers=world.key("la-reader"),
    )
    assert value.json() == {"value": "Alice Chen"}
    uncovered = await world.gs.get(
        f"{BUSINESSES}/{GOLDEN_DRAGON}/readValue/director_person_id.json",
        params={"SubjectID": "alice"},
        headers=world.key("la-reader"),
    )
    assert uncovered.status_code == 403
    assert "does not cover director_person_id" in uncovered.json()["detail"]

    unknown = await world.gs.post(
        f"{BUSINESSES}/exists",
        json={
            "query": {"content": {"registration_number": "BR-2000-000000", "SubjectID": "alice"}}
        },
        headers=world.key("la-reader"),
    )
    assert unknown.json()["answer"]["status"] is False

    usage = await world.gs.get(
        "/data/MyPersonalDataUsage/1.0",
        params={"userId": "alice", "databaseId": "BR"},
        headers=as_persona("alice"),
    )
    assert usage.status_code == 200, usage.text
    listed = usage.json()
    assert len(listed) == 3  # read and two readValues; the unknown number read nothing
    assert {u["readerInstitutionId"] for u in listed} == {"local-admin"}
    assert {u["readerInstitutionName"] for u in listed} == {"Local Administration"}
    assert {u["readerInitials"] for u in listed} == {"LA"}
    assert listed[0]["fields"] == ["director_name", "name", "registered_address"]


async def test_department_register_refusals_call_no_department(world: World) -> None:
    await world.alice_consents()
    before = await world.counts()
    query = {"query": {"content": {"registration_number": GOLDEN_DRAGON, "SubjectID": "alice"}}}
    no_agreement = await world.gs.post(
        f"{BUSINESSES}/read", json=query, headers=world.key("tax-reader")
    )
    assert no_agreement.status_code == 403
    assert (
        "No data-sharing agreement in force lets the department 'tax'"
        in no_agreement.json()["detail"]
    )
    no_consent = await world.gs.post(
        f"{BUSINESSES}/read",
        json={"query": {"content": {"registration_number": GOLDEN_DRAGON, "SubjectID": "bob"}}},
        headers=world.key("la-reader"),
    )
    assert no_consent.status_code == 403
    assert "consent" in no_consent.json()["detail"]
    no_key = await world.gs.post(
        f"{BUSINESSES}/read",
        json={"query": {"content": {"SubjectID": "alice"}}},
        headers=world.key("la-reader"),
    )
    assert no_key.status_code == 422
    assert no_key.json()["errors"][0]["field"] == "query.content.registration_number"
    for method, path in (
        ("POST", "create"),
        ("POST", "updateOrCreate"),
        ("PUT", "update"),
        ("PUT", "updateEntries"),
    ):
        write = await world.gs.request(
            method,
            f"{BUSINESSES}/{path}",
            json={"query": query["query"], "write": {"content": {"name": "Renamed Ltd"}}},
            headers=world.key("la-writer"),
        )
        assert write.status_code == 403, path
        assert "owned by the department 'local-admin'" in write.json()["detail"]
    delete = await world.gs.delete(
        f"{BUSINESSES}/{GOLDEN_DRAGON}/delete", headers=world.key("la-writer")
    )
    assert delete.status_code == 403
    listing = await world.gs.get(BUSINESSES, headers=world.key("la-reader"))
    assert listing.status_code == 405
    assert world.registers.calls == []
    assert (await world.counts())[1:] == before[1:]
    assert await world.audit("register.read") == []


async def test_personal_data_usage_is_the_persons_own(world: World) -> None:
    params = {"userId": "alice", "databaseId": "BR"}
    bob = await world.gs.get(
        "/data/MyPersonalDataUsage/1.0", params=params, headers=as_persona("bob")
    )
    assert bob.status_code == 403
    machine = await world.gs.get(
        "/data/myPersonalDataUsage", params=params, headers=world.key("la-reader")
    )
    assert machine.status_code == 403
    nobody = await world.gs.get("/data/myPersonalDataUsage", params=params)
    assert nobody.status_code == 401
    bad = await world.gs.get(
        "/data/MyPersonalDataUsage/1.0",
        params={"userID": "...", "DatabaseID": "..."},
        headers=as_persona("alice"),
    )
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"userId", "databaseId"}
    empty = await world.gs.get(
        "/data/myPersonalDataUsage", params=params, headers=as_persona("alice")
    )
    assert empty.status_code == 200
    assert empty.json() == []


async def test_databases_come_from_the_register_definitions(world: World) -> None:
    listed = await world.gs.get("/databases", headers=world.key("tax-reader"))
    assert listed.status_code == 200
    assert sorted(listed.json()) == ["code", "databases", "name"]
    names = [(d["name"], d["version"], d["id"]) for d in listed.json()["databases"]]
    assert names == [
        ("licences", "1.0", 1),
        ("businesses", "1.0", 2),
        ("taxpayers", "1.0", 3),
        ("parcels", "1.0", 4),
    ]
    one = await world.gs.get("/database/2", headers=world.key("tax-reader"))
    assert one.json()["schema"]["properties"]["director_name"]["personalData"] is True
    assert one.json()["read_only"] is True
    missing = await world.gs.get("/database/99", headers=world.key("tax-reader"))
    assert missing.status_code == 404
    nobody = await world.gs.get("/databases")
    assert nobody.status_code == 401


async def test_a_register_that_is_down_is_503_and_nothing_is_recorded(world: World) -> None:
    await world.alice_consents()
    before = await world.counts()
    down = await world.gs.post(
        f"{BUSINESSES}/read",
        json={"query": {"content": {"registration_number": UNREACHABLE, "SubjectID": "alice"}}},
        headers=world.key("la-reader"),
    )
    assert down.status_code == 503
    assert down.json()["type"] == "/problems/register-unavailable"
    assert [c.input for c in world.registers.calls] == [{"registration_number": UNREACHABLE}]
    assert await world.counts() == before


async def test_a_consent_covers_only_records_about_its_person(world: World) -> None:
    await world.alice_consents()
    before = await world.counts()
    other = await world.gs.post(
        f"{BUSINESSES}/read",
        json={"query": {"content": {"registration_number": CAROLS, "SubjectID": "alice"}}},
        headers=world.key("la-reader"),
    )
    assert other.status_code == 403
    assert "not about the person named in SubjectID" in other.json()["detail"]
    assert "Carol" not in other.text
    async with world.container.uow() as uow:
        uses = list(await uow.session.scalars(select(DataUseRow)))
    assert uses == []  # nothing of Alice's was read
    (entry,) = await world.audit("register.read")
    assert (entry.details["withheld"], entry.details["found"]) == (True, True)
    assert (await world.counts())[1:] == before[1:]


async def test_a_register_whose_records_name_nobody_is_not_read_on_consent(world: World) -> None:
    await world.alice_consents("DSA-2025-102")
    taxpayer = await world.gs.post(
        "/data/taxpayers/1.0/read",
        json={"query": {"content": {"registration_number": GOLDEN_DRAGON, "SubjectID": "alice"}}},
        headers=world.key("la-reader"),
    )
    assert taxpayer.status_code == 403
    assert "do not name the person they are about" in taxpayer.json()["detail"]
    assert world.registers.calls == []
    assert await world.audit("register.read") == []


async def test_the_list_pages_orders_and_filters_computed_fields(world: World) -> None:
    second = await world.issue("Outdoor seating (20 covers)", "12 Harbour Street, terrace")
    headers = world.key("tax-reader")
    first_page = await world.gs.get(
        LICENCES, params={"pageSize": 1, "ordering": "descending"}, headers=headers
    )
    body = first_page.json()
    assert (body["count"], [r["ID"] for r in body["results"]]) == (2, [second])
    assert body["previous"] is None
    assert "page=2" in body["next"]
    second_page = await world.gs.get(body["next"], headers=headers)
    assert [r["ID"] for r in second_page.json()["results"]] == [world.licence_id]
    assert second_page.json()["next"] is None

    terrace = await world.gs.get(
        LICENCES, params={"search": "TERRACE", "filter": "Premises"}, headers=headers
    )
    assert [r["ID"] for r in terrace.json()["results"]] == [second]
    not_yet = await world.gs.get(
        LICENCES, params={"query.Status": "not_yet_valid"}, headers=headers
    )
    assert [r["ID"] for r in not_yet.json()["results"]] == [second]
    wildcard = await world.gs.get(LICENCES, params={"search": "%"}, headers=headers)
    assert wildcard.json()["count"] == 0
    valid = await world.gs.get(
        LICENCES, params={"search": "VALID", "filter": "Status"}, headers=headers
    )
    assert [r["ID"] for r in valid.json()["results"]] == [world.licence_id, second]
    issued_at = first_page.json()["results"][0]["IssuedAt"]
    at = await world.gs.get(LICENCES, params={"query.IssuedAt": issued_at}, headers=headers)
    assert [r["ID"] for r in at.json()["results"]] == [second]
    not_a_time = await world.gs.get(LICENCES, params={"query.IssuedAt": "May"}, headers=headers)
    assert [e["field"] for e in not_a_time.json()["errors"]] == ["query.IssuedAt"]
    searched = await world.gs.get(
        LICENCES, params={"search": "2026", "filter": "IssuedAt"}, headers=headers
    )
    assert [e["field"] for e in searched.json()["errors"]] == ["filter"]


async def test_the_auditor_sees_the_im_client_of_a_revocation_in_her_language(
    world: World, client: httpx.AsyncClient
) -> None:
    revoked = await world.gs.put(
        f"{LICENCES}/update",
        json={
            "query": {"content": {"ID": world.licence_id}},
            "write": {"content": {"Status": "revoked", "RevocationReason": "premises closed"}},
        },
        headers=world.key("la-writer"),
    )
    assert revoked.status_code == 200
    search = f"/backoffice/audit?application={world.application_id}"
    english = await client.get(search, headers=as_persona("ada"))
    chinese = await client.get(search, headers={**as_persona("ada"), "Accept-Language": "zh-Hans"})
    assert "Information Mediator client: <code>CL/GOV/LA/licensing</code>" in english.text
    assert "信息中介客户端: <code>CL/GOV/LA/licensing</code>" in chinese.text
