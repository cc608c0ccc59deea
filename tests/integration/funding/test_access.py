"""Who may read which statement: a department's finance officer only its own (another
department's answers 404, as if it did not exist), the platform owner every one, everybody
else 403; refused reads leave no audit entries. Bad months name the field."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text

from civicloom.runtime import Container
from tests.conftest import as_persona

HTML = {"Accept": "text/html"}
MONTH = "2026-11"
OTHERS = ("local-admin", "environment", "tax")


async def _audited(container: Container) -> list[tuple[str, str]]:
    async with container.uow() as uow:
        rows = await uow.session.execute(
            text(
                "SELECT actor, subject_id FROM audit_entries "
                "WHERE action = 'funding.statement_read' ORDER BY occurred_at"
            )
        )
        return [(str(a), str(s)) for a, s in rows]


async def test_finance_officer_reads_only_its_own_department(
    container: Container, client: httpx.AsyncClient
) -> None:
    farah = as_persona("farah")
    base = f"/backoffice/funding/labour/{MONTH}"
    for path in (base, f"{base}/days", f"{base}/statement.csv", f"{base}/statement.pdf"):
        assert (await client.get(path, headers={**farah, **HTML})).status_code == 200, path
    assert await _audited(container) == [("farah", f"labour/{MONTH}")] * 4
    for dept in OTHERS:
        base = f"/backoffice/funding/{dept}/{MONTH}"
        page = await client.get(base, headers={**farah, **HTML})
        assert page.status_code == 404
        assert "Page not found" in page.text
        assert (await client.get(f"{base}/days", headers={**farah, **HTML})).status_code == 404
        csv = await client.get(f"{base}/statement.csv", headers=farah)
        assert csv.status_code == 404
        assert csv.headers["content-type"].startswith("application/problem+json")
        assert (await client.get(f"{base}/statement.pdf", headers=farah)).status_code == 404
    # a department that does not exist answers the same
    assert (
        await client.get(f"/backoffice/funding/nowhere/{MONTH}/statement.csv", headers=farah)
    ).status_code == 404
    assert len(await _audited(container)) == 4  # the refusals left no entries
    overview = await client.get(f"/backoffice/funding?month={MONTH}", headers={**farah, **HTML})
    assert overview.status_code == 200
    # the funding pages sit in the back office's navigation, which offers farah only them
    nav = re.findall(r'service-navigation__link" href="([^"]+)"', overview.text)
    assert nav == ["/backoffice/funding"]
    assert 'aria-current="page"' in overview.text
    assert f'href="/backoffice/funding/labour/{MONTH}"' in overview.text
    for dept in OTHERS:
        assert f'href="/backoffice/funding/{dept}/{MONTH}"' not in overview.text


async def test_platform_owner_reads_every_department(
    container: Container, client: httpx.AsyncClient
) -> None:
    omar = as_persona("omar")
    overview = await client.get(f"/backoffice/funding?month={MONTH}", headers={**omar, **HTML})
    assert overview.status_code == 200
    assert 'role="img"' in overview.text
    for dept in ("labour", *OTHERS):
        assert f'href="/backoffice/funding/{dept}/{MONTH}"' in overview.text
        page = await client.get(f"/backoffice/funding/{dept}/{MONTH}", headers={**omar, **HTML})
        assert page.status_code == 200
        nav = re.findall(r'service-navigation__link" href="([^"]+)"', page.text)
        assert "/backoffice/funding" in nav
    assert [a for a, _ in await _audited(container)] == ["omar"] * 4


@pytest.mark.parametrize("persona", ["alice", "lars", "sam", "grace", "priya", "ada"])
async def test_everyone_else_is_refused(
    container: Container, client: httpx.AsyncClient, persona: str
) -> None:
    who = as_persona(persona)
    base = "/backoffice/funding/labour/2026-11"
    assert (await client.get("/backoffice/funding", headers={**who, **HTML})).status_code == 403
    assert (await client.get(base, headers={**who, **HTML})).status_code == 403
    assert (await client.get(f"{base}/days", headers={**who, **HTML})).status_code == 403
    assert (await client.get(f"{base}/statement.csv", headers=who)).status_code == 403
    assert (await client.get(f"{base}/statement.pdf", headers=who)).status_code == 403
    assert await _audited(container) == []


async def test_signed_out_is_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    page = await client.get("/backoffice/funding/labour/2026-11", headers=HTML)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/auth/login")
    csv = await client.get("/backoffice/funding/labour/2026-11/statement.csv")
    assert csv.status_code == 401


async def test_bad_months_name_the_field(container: Container, client: httpx.AsyncClient) -> None:
    omar = as_persona("omar")
    page = await client.get("/backoffice/funding?month=November", headers={**omar, **HTML})
    assert page.status_code == 400
    assert 'href="#month"' in page.text
    csv = await client.get("/backoffice/funding/labour/2026-13/statement.csv", headers=omar)
    assert csv.status_code == 422
    assert csv.json()["errors"][0]["field"] == "month"
    # a month no tariff covers
    old = await client.get("/backoffice/funding/labour/2019-05/statement.csv", headers=omar)
    assert old.status_code == 404
    assert await _audited(container) == []


async def test_a_month_not_yet_begun_has_no_statement(
    container: Container, client: httpx.AsyncClient
) -> None:
    today = datetime.now(UTC).date()
    soon = f"{today.year + today.month // 12:04d}-{today.month % 12 + 1:02d}"
    omar = as_persona("omar")
    csv = await client.get(f"/backoffice/funding/labour/{soon}/statement.csv", headers=omar)
    assert csv.status_code == 404
    page = await client.get(f"/backoffice/funding/labour/{soon}", headers={**omar, **HTML})
    assert page.status_code == 404
    overview = await client.get(f"/backoffice/funding?month={soon}", headers={**omar, **HTML})
    assert overview.status_code == 404
    assert await _audited(container) == []


@pytest.mark.parametrize("month", ["2026-111111111111", "2026-13", "November", "2026-1x"])
async def test_a_bad_month_in_the_path_is_a_styled_page_or_problem_json(
    container: Container, client: httpx.AsyncClient, month: str
) -> None:
    """A browser gets the styled, translated "page not found" (no FastAPI JSON); the CSV and
    PDF, asked for as an API, answer problem+json naming the month."""
    omar = as_persona("omar")
    for path in (f"/backoffice/funding/labour/{month}", f"/backoffice/funding/labour/{month}/days"):
        page = await client.get(path, headers={**omar, **HTML})
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html")
        assert "Page not found" in page.text
        assert 'class="govuk-heading-l"' in page.text
        zh = await client.get(path, headers={**omar, **HTML, "Accept-Language": "zh-Hans"})
        assert zh.status_code == 404
        assert "Page not found" not in zh.text
        assert "页面" in zh.text
    for kind in ("csv", "pdf"):
        answer = await client.get(
            f"/backoffice/funding/labour/{month}/statement.{kind}", headers=omar
        )
        assert answer.status_code == 422
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in answer.json()["errors"]] in (["month"], ["path:month"])
    assert await _audited(container) == []
