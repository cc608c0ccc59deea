"""The KPI pages (who may see them, bad input, charts with table alternatives) and the
operational metrics read from the database at scrape time."""

from __future__ import annotations

import re

import httpx
import pytest

from civicloom.demo import LoadReport
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.kpiwork import run_kpi_jobs

HTML = {"Accept": "text/html"}


@pytest.mark.parametrize("persona", ["sam", "grace", "priya", "ada"])
async def test_dashboard_for_owners_supervisors_operators_auditors(
    container: Container, client: httpx.AsyncClient, persona: str
) -> None:
    await run_kpi_jobs(container)  # the worker stores the report (ADR 0082)
    response = await client.get("/backoffice/kpis", headers={**as_persona(persona), **HTML})
    assert response.status_code == 200
    assert "Service performance" in response.text
    assert 'role="img"' in response.text  # the SVG charts


@pytest.mark.parametrize("persona", ["alice", "olivia"])
async def test_dashboard_refused_to_citizens_and_officers(
    client: httpx.AsyncClient, persona: str
) -> None:
    assert (await client.get("/backoffice/kpis", headers=as_persona(persona))).status_code == 403
    csv = await client.get(
        "/backoffice/kpis.csv?service=open-a-restaurant", headers=as_persona(persona)
    )
    assert csv.status_code == 403


async def test_signed_out_browser_is_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/backoffice/kpis", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/auth/login")
    assert (await client.get("/backoffice/kpis.csv?service=open-a-restaurant")).status_code == 401


async def test_bad_dates_name_the_field(client: httpx.AsyncClient) -> None:
    sam = as_persona("sam")
    page = await client.get("/backoffice/kpis?from=yesterday", headers={**sam, **HTML})
    assert page.status_code == 400
    assert "There is a problem" in page.text
    assert 'href="#from"' in page.text
    csv = await client.get(
        "/backoffice/kpis.csv?service=open-a-restaurant&from=2027-03-02&to=2027-03-01",
        headers=sam,
    )
    assert csv.status_code == 422
    assert csv.headers["content-type"].startswith("application/problem+json")
    assert csv.json()["errors"][0]["field"] == "to"
    # a period that starts after today (nothing submitted yet: it would only hold one of the
    # service's waiting slots), and a last day whose next day is no date (it was a 500)
    for query, field, rule in (
        ("from=2999-01-01&to=2999-01-31", "from", "not-in-future"),
        ("from=9999-12-01&to=9999-12-31", "to", "iso-date"),
    ):
        refused = await client.get(
            f"/backoffice/kpis.csv?service=open-a-restaurant&{query}", headers=sam
        )
        assert refused.status_code == 422, query
        assert refused.json()["errors"][0]["field"] == field, query
        assert refused.json()["errors"][0]["rule"] == rule, query
    unknown = await client.get("/backoffice/kpis.csv?service=no-such-service", headers=sam)
    assert unknown.status_code == 404


async def test_pages_and_metrics_after_a_load(
    container: Container, client: httpx.AsyncClient, loaded: LoadReport
) -> None:
    approved = loaded.outcomes.get("approved", 0)
    assert approved > 0
    await run_kpi_jobs(container)
    page = await client.get(
        "/backoffice/kpis?service=open-a-restaurant", headers={**as_persona("sam"), **HTML}
    )
    assert page.status_code == 200
    assert page.text.count('role="img"') == 4
    assert "<title id=" in page.text
    assert "<desc id=" in page.text
    assert '<table class="govuk-table">' in page.text  # every chart has a table alternative

    public = await client.get("/performance/open-a-restaurant", headers=HTML)
    assert public.status_code == 200
    assert "Open a restaurant" in public.text
    headline = re.search(r"Approved</dt><dd[^>]*>(\d+)<", public.text)
    assert headline is not None
    assert int(headline.group(1)) == approved
    assert (await client.get("/performance/no-such-service", headers=HTML)).status_code == 404

    metrics = (await client.get("/metrics")).text
    line = f'civicloom_applications{{service="open-a-restaurant",state="approved"}} {approved}.0'
    assert line in metrics
    assert "civicloom_outbox_pending " in metrics
    assert "civicloom_outbox_oldest_pending_age_seconds " in metrics
    assert "civicloom_task_queue_depth" in metrics
