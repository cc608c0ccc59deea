"""Query-count baselines: the portal's list and status pages cost the same with many
applications (an N+1 query fails here, not for a citizen)."""

from __future__ import annotations

import httpx

from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.test_applications_api import restaurant
from tests.querycount import counting

ALICE = as_persona("alice")
# Baselines (statements per page view, whatever the number of applications). Raise them only
# with a reason in the commit message.
MY_APPLICATIONS_MAX = 2
STATUS_PAGE_MAX = 12  # PostgreSQL; SQLite needs 10


async def apply(client: httpx.AsyncClient, times: int) -> list[str]:
    """Alice sends ``times`` applications; returns their ids."""
    ids = []
    for _ in range(times):
        response = await client.post("/api/v1/applications", json=restaurant(), headers=ALICE)
        assert response.status_code == 201, response.text
        ids.append(str(response.json()["id"]))
    return ids


async def views(client: httpx.AsyncClient, container: Container, app_id: str) -> tuple[int, int]:
    """Statements for "My applications" and for one application's page."""
    with counting(container) as listing:
        assert (await client.get("/applications", headers=ALICE)).status_code == 200
    with counting(container) as status:
        assert (await client.get(f"/applications/{app_id}", headers=ALICE)).status_code == 200
    return len(listing), len(status)


async def test_pages_cost_the_same_with_many_applications(
    client: httpx.AsyncClient, container: Container
) -> None:
    first = await apply(client, 1)
    few = await views(client, container, first[0])
    await apply(client, 20)
    many = await views(client, container, first[0])
    assert many == few, f"queries grew with the number of applications: {few} -> {many}"
    assert many[0] <= MY_APPLICATIONS_MAX, many
    assert many[1] <= STATUS_PAGE_MAX, many
