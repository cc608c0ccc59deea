"""The shared UI foundation over the real app: static assets, the language switcher."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """No database logic here: SQLite is enough."""
    return str(request.param)


async def test_design_system_and_our_assets_are_served(client: httpx.AsyncClient) -> None:
    css = await client.get("/assets/govuk-frontend.min.css")
    assert css.status_code == 200
    assert "govuk-" in css.text
    js = await client.get("/assets/govuk-frontend.min.js")
    assert js.status_code == 200
    ours = await client.get("/static/civicloom.css")
    assert ours.status_code == 200
    assert "--civicloom-font" in ours.text
    htmx = await client.get("/static/htmx.min.js")
    assert htmx.status_code == 200
    assert "htmx" in htmx.text
    assert (await client.get("/static/../pyproject.toml")).status_code == 404


async def test_language_switcher_remembers_and_returns(client: httpx.AsyncClient) -> None:
    response = await client.get("/language/zh-Hans", params={"next": "/services?q=restaurant"})
    assert response.status_code == 303
    assert response.headers["location"] == "/services?q=restaurant"
    assert "civicloom_lang=zh-Hans" in response.headers["set-cookie"]
    unknown = await client.get("/language/xx", params={"next": "//evil.example/"})
    assert unknown.headers["location"] == "/"
    assert "civicloom_lang=en" in unknown.headers["set-cookie"]
