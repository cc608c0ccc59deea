"""The back-office pages of change requests, as a browser uses them (session cookie, CSRF
token): Sam drafts a fee change and a new field, sees the diff and the what-if, submits; he
cannot approve his own change; citizens and anonymous callers are refused on every route."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest

from civicloom.app import create_app
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.governance.flow import count
from tests.integration.governance.test_change_requests import restaurant
from tests.integration.identity.conftest import csrf_from

TESTS_YAML = """cases:
  - name: Golden Dragon Kitchen, 40 seats, pays the small-band fee
    input: {seating: 40}
    expect: {fee: 500, band: small, currency: EUR}
  - name: a 12-seat cafe pays the micro fee
    input: {seating: 12}
    expect: {fee: 150, band: micro}
"""


@asynccontextmanager
async def browser(container: Container, persona: str | None) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a session cookie of ``persona`` (none: anonymous)."""
    app = create_app(container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers={"accept": "text/html"}
    ) as http:
        if persona is not None:
            page = await http.get("/auth/dev-login")
            signed = await http.post(
                "/auth/dev-login",
                data={"persona": persona, "csrf_token": csrf_from(page.text), "next": "/auth/me"},
            )
            assert signed.status_code == 303, signed.text
        yield http


async def drafted_by_sam(sam: httpx.AsyncClient) -> str:
    page = await sam.get("/backoffice/changes")
    assert page.status_code == 200
    started = await sam.post(
        "/backoffice/changes",
        data={
            "csrf_token": csrf_from(page.text),
            "target": "blueprint:open-a-restaurant",
            "title": "Small-band fee €500 and outdoor seats",
        },
    )
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    change_id = location.rsplit("/", 1)[1]
    page = await sam.get(location)
    token = csrf_from(page.text)
    added = await sam.post(
        f"/backoffice/changes/{change_id}/fields",
        data={
            "csrf_token": token,
            "name": "outdoor_seats",
            "type": "integer",
            "title_en": "Outdoor seats",
            "title_zh": "室外座位数",
            "page": "premises",
            "required": "no",
            "data_class": "business",
            "legal_basis": "Food Business Licensing Act 2019, s. 12",
            "retention": "P6Y",
        },
    )
    assert added.status_code == 303, added.text
    cells = await sam.post(
        f"/backoffice/changes/{change_id}/cells",
        data={
            "csrf_token": token,
            "cell:fee-table:small:out_fee": "500",
            "tests": TESTS_YAML,
        },
    )
    assert cells.status_code == 303, cells.text
    return change_id


async def test_sam_drafts_submits_and_cannot_approve(container: Container) -> None:
    async with browser(container, None) as http:
        running = await http.post(
            "/api/v1/applications",
            json=restaurant(40),
            headers={"accept": "application/json", **as_persona("alice")},
        )
        assert running.status_code == 201, running.text
    async with browser(container, "sam") as sam:
        change_id = await drafted_by_sam(sam)
        page = await sam.get(f"/backoffice/changes/{change_id}")
        assert "Form field outdoor_seats added (integer, “Outdoor seats”)" in page.text
        # the dry run: Alice's running application keeps version 4
        assert (
            "1 applications are running on version 5. They keep it: this change applies to"
            " applications started after it is published." in page.text
        )
        assert "Licence fee table, row “21 to 40 seats: small band”, Fee: 400 → 500" in page.text
        day = (container.clock.now() + timedelta(days=10)).date()
        submitted = await sam.post(
            f"/backoffice/changes/{change_id}/submit",
            data={
                "csrf_token": csrf_from(page.text),
                "effective-day": str(day.day),
                "effective-month": str(day.month),
                "effective-year": str(day.year),
            },
        )
        assert submitted.status_code == 303, submitted.text
        page = await sam.get(f"/backoffice/changes/{change_id}")
        assert "Awaiting approval" in page.text
        approvals, audit = (
            await count(container, "governance_change_approvals"),
            await count(container, "audit_entries"),
        )
        refused = await sam.post(
            f"/backoffice/changes/{change_id}/approve", data={"csrf_token": csrf_from(page.text)}
        )
        assert refused.status_code == 403
        assert "You wrote this change: someone else must approve it" in refused.text
        assert await count(container, "governance_change_approvals") == approvals
        assert await count(container, "audit_entries") == audit
        # editing after submission is refused, nothing changes
        late = await sam.post(
            f"/backoffice/changes/{change_id}/sla",
            data={"csrf_token": csrf_from(page.text), "step": "payment", "days": "5"},
        )
        assert late.status_code == 409
        assert await count(container, "audit_entries") == audit

    async with browser(container, "ruth") as ruth:
        page = await ruth.get(f"/backoffice/changes/{change_id}")
        approved = await ruth.post(
            f"/backoffice/changes/{change_id}/approve", data={"csrf_token": csrf_from(page.text)}
        )
        assert approved.status_code == 303
        page = await ruth.get(f"/backoffice/changes/{change_id}")
        assert "Approved by Ruth Adeyemi" in page.text
        again = await ruth.post(
            f"/backoffice/changes/{change_id}/approve", data={"csrf_token": csrf_from(page.text)}
        )
        assert again.status_code == 409
        assert "You have already approved this change" in again.text


async def test_the_form_says_what_is_wrong_beside_the_field(container: Container) -> None:
    async with browser(container, "sam") as sam:
        page = await sam.get("/backoffice/changes")
        changes = await count(container, "governance_change_requests")
        refused = await sam.post(
            "/backoffice/changes",
            data={"csrf_token": csrf_from(page.text), "target": "blueprint:nothing", "title": ""},
        )
        assert refused.status_code == 400
        assert "Choose what to change" in refused.text
        assert "Enter a title" in refused.text
        assert await count(container, "governance_change_requests") == changes


async def test_the_page_speaks_chinese(container: Container) -> None:
    async with browser(container, "sam") as sam:
        page = await sam.get("/backoffice/changes", headers={"accept-language": "zh-Hans"})
        assert "变更请求" in page.text
        assert "开始变更" in page.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/backoffice/changes"),
        ("POST", "/backoffice/changes"),
        ("GET", "/backoffice/changes/{id}"),
        ("POST", "/backoffice/changes/{id}/fields"),
        ("POST", "/backoffice/changes/{id}/cells"),
        ("POST", "/backoffice/changes/{id}/sla"),
        ("POST", "/backoffice/changes/{id}/template"),
        ("POST", "/backoffice/changes/{id}/upload"),
        ("POST", "/backoffice/changes/{id}/submit"),
        ("POST", "/backoffice/changes/{id}/approve"),
        ("POST", "/backoffice/changes/{id}/withdraw"),
        ("GET", "/backoffice/changes/history/open-a-restaurant"),
    ],
)
async def test_citizens_and_anonymous_are_refused(
    container: Container, method: str, path: str
) -> None:
    async with browser(container, "sam") as sam:
        change_id = await drafted_by_sam(sam)
    url = path.replace("{id}", change_id)
    rows = await count(container, "audit_entries")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(container)), base_url="http://testserver"
    ) as http:
        anonymous = await http.request(method, url, headers={"accept": "text/html"})
        alice = await http.request(
            method, url, headers={"accept": "text/html", **as_persona("alice")}
        )
    assert anonymous.status_code in (303, 401, 403)
    if anonymous.status_code == 303:
        assert re.match(r"^/auth/", anonymous.headers["location"])
    assert alice.status_code == 403
    # a refusal is audited as an access denial at most; the change is untouched
    assert await count(container, "governance_change_requests") == 1
    assert await count(container, "governance_change_approvals") == 0
    assert await count(container, "audit_entries") - rows <= 2
