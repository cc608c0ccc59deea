"""What is left of the old authorization matrix: every route declares a policy, and a literal check.

The matrix itself moved to ``tests/security/`` (issue 16): it computed each expected outcome
with the policy code under test, tried made-up ids and empty bodies, and no API key. The table
in ``tests/security/table.py`` is written by hand instead, and is tried on real objects.
"""

from __future__ import annotations

import httpx
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from civicloom.app import create_app
from civicloom.runtime import Container
from civicloom.web import policy_for_route
from tests.conftest import as_persona
from tests.integration.test_applications_api import restaurant


async def test_every_route_declares_an_access_policy(container: Container) -> None:
    app = create_app(container)
    undeclared = [
        f"{method} {context.path}"
        for context in iter_route_contexts(app.routes)
        for method in (
            ["GET"]
            if isinstance(context.original_route, Mount)
            else sorted(set(getattr(context.original_route, "methods", None) or {"GET"}) - {"HEAD"})
        )
        if policy_for_route(context.original_route, method) is None
    ]
    assert undeclared == [], "declare a policy: docs/how-to/protect-a-route.md"


async def test_bob_cannot_see_alices_application(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/api/v1/applications", json=restaurant(), headers=as_persona("alice")
    )
    url = f"/api/v1/applications/{created.json()['id']}"
    assert (await client.get(url, headers=as_persona("alice"))).status_code == 200
    for stranger in ("bob", "tariq", "priya"):
        response = await client.get(url, headers=as_persona(stranger))
        assert response.status_code == 404, stranger
        assert "Golden Dragon" not in response.text
