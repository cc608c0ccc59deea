"""Staff case search and the one case view (issue 19, ADR 0063): attacks first.

Alice applies to open a restaurant (every department has a step) and to change her business's
address (no environment step). Who may find and open which case is written here by hand.
"""

from __future__ import annotations

import dataclasses

import httpx
from sqlalchemy import func, select

from civicloom.applications import (
    StepRunner,
    SubmitApplication,
    find_application,
    submit_application,
)
from civicloom.audit import fold_reads
from civicloom.audit.tables import AuditEntryRow
from civicloom.backoffice.cases import search_staff_cases
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.world import drain, persona, restaurant_data, submit
from tests.querycount import counting
from tests.registers import verified

HTML = {"Accept": "text/html"}
JSON = {"Accept": "application/json"}


async def submit_move(container: Container, key: str) -> str:
    """Alice moves Golden Dragon Kitchen to new premises (tax and labour have steps)."""
    alice = persona(container, "alice")
    number = "BR-2019-004211"
    acting = await verified(container, alice, number, "change-of-business-address")
    data = {
        "business_registration_number": number,
        "new_parcel_id": "P-0042-117",
        "new_address": "3 Quay Lane, Riverton",
        "effective_date": "2027-04-01",
    }
    view, _ = await submit_application(
        container.uow(),
        container.clock,
        alice,
        SubmitApplication("change-of-business-address", data, key, acting_for=acting),
    )
    return view.id


async def submit_named(container: Container, key: str, business_name: str) -> str:
    """A restaurant application whose register entry names the business ``business_name``."""
    alice = persona(container, "alice")
    data = restaurant_data()
    acting = await verified(container, alice, data["business_registration_number"])
    acting = dataclasses.replace(acting, entry={**acting.entry, "name": business_name})
    view, _ = await submit_application(
        container.uow(),
        container.clock,
        alice,
        SubmitApplication("open-a-restaurant", data, key, acting_for=acting),
    )
    return view.id


async def audit_count(container: Container, action: str, subject: str | None = None) -> int:
    """How many audit entries of ``action`` (about one application, if given) exist, once the
    reads recorded are folded into their chains as the worker folds them (ADR 0073)."""
    await fold_reads(container.uow())
    async with container.uow() as uow:
        query = (
            select(func.count()).select_from(AuditEntryRow).where(AuditEntryRow.action == action)
        )
        if subject is not None:
            query = query.where(AuditEntryRow.subject_id == subject)
        return int(await uow.session.scalar(query) or 0)


async def references(client: httpx.AsyncClient, who: str, q: str) -> list[str]:
    """The application ids a search page lists for ``who``."""
    page = await client.get("/backoffice/cases", params={"q": q}, headers=as_persona(who))
    assert page.status_code == 200, page.text
    return [line.split('"')[1] for line in page.text.split("data-application=")[1:]]


async def test_a_department_without_a_step_neither_finds_nor_opens_the_case(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    restaurant = await submit(container, "search-1")
    move = await submit_move(container, "search-2")
    await drain(runner)

    # Elena (environment) has a step on the restaurant, none on the move.
    assert await references(client, "elena", "BR-2019-004211") == [restaurant]
    # Tariq (tax) has steps on both; the business name is not shared with tax: not searchable.
    assert sorted(await references(client, "tariq", "br-2019-004211")) == sorted([restaurant, move])
    assert await references(client, "tariq", "Golden Dragon") == []
    assert await references(client, "olivia", "golden dragon") == [restaurant]
    # the applicant's name as the application records it: local-admin's field, not labour's
    assert await references(client, "olivia", "alice chen") == [restaurant]
    assert await references(client, "lars", "Alice Chen") == []
    assert await references(client, "lars", "Golden Dragon") == [restaurant]
    # references, whatever the case typed; the move's reference finds nothing for environment
    async with container.uow() as uow:
        found = await find_application(uow.session, move)
    assert found is not None
    move_reference = found.reference
    assert await references(client, "tariq", move_reference.lower()) == [move]
    assert await references(client, "elena", move_reference) == []

    reads = await audit_count(container, "application.read", move)
    page = await client.get(f"/backoffice/cases/{move}", headers={**as_persona("elena"), **HTML})
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert "3 Quay Lane" not in page.text
    assert "CBA-" not in page.text
    api = await client.get(f"/backoffice/cases/{move}", headers={**as_persona("elena"), **JSON})
    assert api.status_code == 403
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["detail"] == "your department has no step on this application"
    assert await audit_count(container, "application.read", move) == reads
    unknown = await client.get(
        "/backoffice/cases/0b7d6c2e-1f4a-4e55-9a1c-3d2b8e9f0a11", headers=as_persona("olivia")
    )
    assert unknown.status_code == 404


async def test_citizens_and_other_staff_roles_are_turned_away(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    restaurant = await submit(container, "search-3")
    await drain(runner)
    searches = await audit_count(container, "case.searched")
    reads = await audit_count(container, "application.read", restaurant)
    for who in ("alice", "bob", "sam", "priya", "fiona"):
        found = await client.get(
            "/backoffice/cases", params={"q": "Golden Dragon"}, headers=as_persona(who)
        )
        assert found.status_code == 403, who
        assert "Golden Dragon" not in found.text, who
        opened = await client.get(f"/backoffice/cases/{restaurant}", headers=as_persona(who))
        assert opened.status_code == 403, who
        assert "BR-2019-004211" not in opened.text, who
    signed_out = await client.get(f"/backoffice/cases/{restaurant}", headers=HTML)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/auth/")
    assert await audit_count(container, "case.searched") == searches
    assert await audit_count(container, "application.read", restaurant) == reads


async def test_wildcards_match_literally(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    percent = await submit_named(container, "search-4", "100% Noodle_Bar Ltd")
    plain = await submit_named(container, "search-5", "Noodle Bar Ltd")
    await drain(runner)
    assert await references(client, "olivia", "%%") == []
    assert await references(client, "olivia", "e_B") == [percent]
    assert await references(client, "olivia", "0% N") == [percent]
    assert await references(client, "olivia", "noodle bar") == [plain]
    assert await references(client, "olivia", "__") == []
    typed = await client.get(
        "/backoffice/cases", params={"q": "<script>x</script>"}, headers=as_persona("olivia")
    )
    assert "&lt;script&gt;x&lt;/script&gt;" in typed.text
    assert "<script>x</script>" not in typed.text


async def test_bad_input_is_named_beside_the_field_and_records_nothing(
    container: Container, client: httpx.AsyncClient
) -> None:
    searches = await audit_count(container, "case.searched")
    cases = {
        "": "Enter a reference, business name, registration number or applicant name",
        "   ": "Enter a reference, business name, registration number or applicant name",
        "x": "Enter at least 2 characters",
        "y" * 101: "Enter 100 characters or fewer",
        "Golden\x00Dragon": "Enter the text on one line",
    }
    for q, message in cases.items():
        page = await client.get(
            "/backoffice/cases", params={"q": q}, headers={**as_persona("olivia"), **HTML}
        )
        assert page.status_code == 422, q
        assert "There is a problem" in page.text
        assert '<p id="q-error" class="govuk-error-message">' in page.text, q
        assert message in page.text, q
    page = await client.get(
        "/backoffice/cases",
        params={"q": "Golden Dragon", "after": "not-a-cursor"},
        headers=as_persona("olivia"),
    )
    assert page.status_code == 422
    assert "This page link is not valid. Search again" in page.text
    assert await audit_count(container, "case.searched") == searches


async def test_one_audit_entry_per_search_and_keyset_pages(
    container: Container, runner: StepRunner
) -> None:
    ids = [await submit(container, f"search-page-{i}") for i in range(3)]
    await drain(runner)
    olivia = persona(container, "olivia")
    before = await audit_count(container, "case.searched")
    reads = {i: await audit_count(container, "application.read", i) for i in ids}
    first = await search_staff_cases(
        container.uow, container.clock, olivia, "Golden Dragon", per_page=2
    )
    assert first.next_cursor is not None
    second = await search_staff_cases(
        container.uow, container.clock, olivia, "Golden Dragon", first.next_cursor, per_page=2
    )
    assert second.next_cursor is None
    found = [h.application.id for h in first.hits + second.hits]
    assert sorted(found) == sorted(ids)
    assert len(set(found)) == 3
    assert [h.steps for h in first.hits] == [
        ["business", "licence", "licensing_review", "payment", "register_activity", "zoning"]
    ] * 2
    assert await audit_count(container, "case.searched") == before + 2
    async with container.uow() as uow:
        entry = await uow.session.scalar(
            select(AuditEntryRow)
            .where(AuditEntryRow.action == "case.searched")
            .order_by(AuditEntryRow.occurred_at.desc(), AuditEntryRow.seq.desc())
            .limit(1)
        )
    assert entry is not None
    assert entry.actor == "dev-login:olivia"
    assert entry.details["applications"] == [h.application.id for h in second.hits]
    assert "Golden Dragon" not in str(entry.details)
    assert entry.fields == [
        "business_name",
        "business_registration_number",
        "director_name",
        "reference",
    ]
    assert {i: await audit_count(container, "application.read", i) for i in ids} == reads


async def test_a_search_page_costs_the_same_with_many_matches(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    async def statements() -> int:
        with counting(container) as seen:
            page = await client.get(
                "/backoffice/cases", params={"q": "Golden"}, headers=as_persona("olivia")
            )
            assert page.status_code == 200
        return len(seen)

    await submit(container, "count-0")
    await drain(runner)
    few = await statements()
    for n in range(1, 6):
        await submit(container, f"count-{n}")
    await drain(runner)
    assert await statements() == few
