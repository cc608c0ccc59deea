"""Every route x every persona (and anonymous), derived from the app's own route table.

A route without a declared policy fails the first test, so a new route cannot be forgotten
(docs/how-to/protect-a-route.md). The second calls each route as each caller and checks the
outcome the policy declares: allowed, 401, 403, or 404 where existence must not leak.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import RouteContext, iter_route_contexts
from starlette.routing import BaseRoute, Mount

from civicloom.app import create_app
from civicloom.bootstrap import build_gateway, build_registry, wire_departments
from civicloom.identity import Access, RoutePolicy, load_personas, principal_for_persona
from civicloom.runtime import Container
from civicloom.web import policy_for_route
from civicloom.web.csrf import CSRF_COOKIE, sign_csrf
from tests.conftest import as_persona
from tests.integration.test_applications_api import restaurant
from tests.wiring import reconfigure

OWNER = "alice"  # every sample object below belongs to Alice
SAMPLES = {"slug": "not-found"}
CSRF_VALUE = "matrix-csrf-cookie-value"


def route_methods(route: BaseRoute) -> list[str]:
    """The methods a route answers (HEAD follows GET), or GET for mounts."""
    if isinstance(route, Mount):
        return ["GET"]
    return sorted(set(getattr(route, "methods", None) or {"GET"}) - {"HEAD"})


def all_routes(app: FastAPI) -> list[RouteContext]:
    """Every route of the app, routers included (FastAPI keeps included routers nested)."""
    return list(iter_route_contexts(app.routes))


def undeclared_routes(app: FastAPI) -> list[str]:
    """Routes with no access policy."""
    return [
        f"{method} {route.path}"
        for route in all_routes(app)
        for method in route_methods(route.original_route)
        if policy_for_route(route.original_route, method) is None
    ]


async def test_every_route_declares_an_access_policy(container: Container) -> None:
    app = create_app(container)
    assert len(all_routes(app)) > 10
    assert undeclared_routes(app) == [], "declare a policy: docs/how-to/protect-a-route.md"


def expected(policy: RoutePolicy, persona: str | None, blueprints: Any) -> str:
    """What the caller should get: allow, 401, 403 or 404."""
    principal = None
    if persona is not None:
        principal = principal_for_persona(load_personas(blueprints)[persona])
    if policy.signed:
        return "4xx"  # the platform lets it through; the handler refuses an unsigned body
    access = policy.evaluate(principal)
    if access is Access.UNAUTHENTICATED:
        return "401"
    if access is Access.DENY:
        return str(policy.denial_status)
    if policy.owner_scoped and persona != OWNER:
        return "404"
    return "allow"


def concrete_path(path: str, samples: dict[str, str]) -> str:
    """Fill path parameters with sample values."""
    return re.sub(r"{(\w+)(?::\w+)?}", lambda m: samples.get(m[1], "sample-id"), path)


async def test_authorization_matrix(container: Container) -> None:
    reconfigure(
        container,
        container.settings.model_copy(
            update={"login_rate_per_minute": 10_000, "submission_rate_per_minute": 10_000}
        ),
    )
    registry = build_registry(container.settings)  # wired as ``civicloom serve`` wires it
    wire_departments(container, registry, build_gateway(container.settings, registry))
    app = create_app(container)
    blueprints = container.settings.blueprints_dir
    callers: list[str | None] = [None, *load_personas(blueprints)]
    key = container.settings.secret_key.get_secret_value().encode()
    csrf = {"X-CSRF-Token": sign_csrf(key, CSRF_VALUE)}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", cookies={CSRF_COOKIE: CSRF_VALUE}
    ) as client:
        created = await client.post(
            "/api/v1/applications", json=restaurant(), headers=as_persona(OWNER)
        )
        assert created.status_code == 201, created.text
        samples = {**SAMPLES, "application_id": created.json()["id"]}

        failures: list[str] = []
        checked = 0
        for route in all_routes(app):
            for method in route_methods(route.original_route):
                policy = policy_for_route(route.original_route, method)
                assert policy is not None, f"{method} {route.path} has no policy"
                path = concrete_path(str(route.path), samples)
                for persona in callers:
                    headers = {**csrf, **(as_persona(persona) if persona else {})}
                    body: dict[str, object] | None = (
                        {} if method in ("POST", "PUT", "PATCH") else None
                    )
                    response = await client.request(method, path, headers=headers, json=body)
                    client.cookies.delete("civicloom_session")
                    want = expected(policy, persona, blueprints)
                    got = response.status_code
                    if want == "allow":
                        ok = got not in (401, 403) and got < 500
                    elif want == "4xx":
                        ok = 400 <= got < 500
                    elif want == "404" and body is not None and got == 422:
                        # The body is checked before the object is looked up: a 422 answers
                        # the same for every id, so it does not reveal existence.
                        ok = True
                    else:
                        ok = str(got) == want
                    checked += 1
                    if not ok:
                        failures.append(
                            f"{method} {path} as {persona or 'anonymous'}: {got}, want {want}"
                        )
    assert checked >= len(callers) * 10
    assert failures == []


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
