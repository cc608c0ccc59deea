"""The web edge fails closed (ADR 0035): bodies are bounded while they stream, before anything
parses them; CSRF tokens are bound to the session and checked without parsing an upload; every
response carries the security headers; a route without a policy stops the app from starting;
development surfaces answer only this machine.

Each oversized body is an async generator that counts the chunks the server pulled, so "the
server stopped reading" is a number, not a timing."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select

from civicloom.app import create_app
from civicloom.applications.tables import ApplicationRow
from civicloom.documents.tables import DocumentRow
from civicloom.runtime import Container
from civicloom.web import UnguardedRoutes
from tests.conftest import as_persona
from tests.integration.identity.conftest import APP, csrf_from
from tests.integration.test_applications_api import restaurant
from tests.wiring import reconfigure

CHUNK = 64 * 1024
TWO_HUNDRED_MIB = 200 * 1024 * 1024 // CHUNK  # chunks
BOUNDARY = "civicloom-edge-test"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    # forms may lead to the payment simulator's hosted page (blueprints/simulators.yaml)
    "form-action 'self' http://127.0.0.1:8105; frame-ancestors 'none'"
)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


@dataclass
class Body:
    """A multipart body of ``chunks`` × 64 KiB that counts what the server read."""

    chunks: int
    pulled: int = 0

    async def stream(self) -> AsyncIterator[bytes]:
        head = (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="document_type"\r\n\r\nfloor_plan\r\n'
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file"; filename="plan.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
        ).encode()
        for index in range(self.chunks):
            self.pulled += 1
            yield head if index == 0 else b"A" * CHUNK
        yield f"\r\n--{BOUNDARY}--\r\n".encode()


MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


async def _counts(container: Container) -> tuple[int, int]:
    async with container.uow() as uow:
        apps = await uow.session.scalar(select(func.count()).select_from(ApplicationRow))
        docs = await uow.session.scalar(select(func.count()).select_from(DocumentRow))
    return int(apps or 0), int(docs or 0)


def _stored_files(container: Container) -> list[str]:
    folder = container.settings.var_dir / "documents"
    return sorted(str(p) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture
async def small_uploads(container: Container) -> Container:
    """Uploads limited to 1 MiB (so the upload route's limit is 1 MiB + 64 KiB of form)."""
    reconfigure(
        container, container.settings.model_copy(update={"document_max_bytes": 1024 * 1024})
    )
    return container


async def _alices_application(client: httpx.AsyncClient) -> str:
    created = await client.post(
        "/api/v1/applications", json=restaurant(), headers=as_persona("alice")
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _sign_in(client: httpx.AsyncClient, persona: str) -> None:
    page = await client.get("/auth/dev-login")
    response = await client.post(
        "/auth/dev-login", data={"persona": persona, "csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 303, response.text


# --- bodies -------------------------------------------------------------------------------------


async def test_anonymous_200_mib_multipart_is_refused_before_a_byte_is_read(
    client: httpx.AsyncClient, container: Container
) -> None:
    body = Body(TWO_HUNDRED_MIB)
    response = await client.post("/api/v1/applications", content=body.stream(), headers=MULTIPART)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert body.pulled == 0
    assert await _counts(container) == (0, 0)


async def test_signed_in_200_mib_multipart_to_the_api_stops_at_the_json_limit(
    client: httpx.AsyncClient, container: Container
) -> None:
    body = Body(TWO_HUNDRED_MIB)
    response = await client.post(
        "/api/v1/applications",
        content=body.stream(),
        headers={**MULTIPART, **as_persona("alice")},
    )
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/payload-too-large"
    # The test settings allow 64 KiB bodies: the server pulled at most two 64 KiB chunks.
    assert body.pulled <= 2
    assert await _counts(container) == (0, 0)


async def test_a_declared_oversize_length_is_refused_unread(
    client: httpx.AsyncClient, container: Container
) -> None:
    body = Body(TWO_HUNDRED_MIB)
    response = await client.post(
        "/api/v1/applications",
        content=body.stream(),
        headers={**MULTIPART, **as_persona("alice"), "Content-Length": str(200 * 1024 * 1024)},
    )
    assert response.status_code == 413
    assert body.pulled == 0


async def test_api_upload_of_200_mib_stops_at_the_upload_limit(
    small_uploads: Container, client: httpx.AsyncClient
) -> None:
    app_id = await _alices_application(client)
    body = Body(TWO_HUNDRED_MIB)
    response = await client.post(
        f"/api/v1/applications/{app_id}/documents",
        content=body.stream(),
        headers={**MULTIPART, **as_persona("alice")},
    )
    assert response.status_code == 413
    # 1 MiB + 64 KiB allowed = 17 chunks of 64 KiB; the 18th crosses the limit.
    assert body.pulled <= 18
    assert await _counts(small_uploads) == (1, 0)
    assert _stored_files(small_uploads) == []


async def test_portal_upload_of_200_mib_gets_a_styled_413_and_stores_nothing(
    small_uploads: Container, client: httpx.AsyncClient
) -> None:
    app_id = await _alices_application(client)
    body = Body(TWO_HUNDRED_MIB)
    response = await client.post(
        f"/applications/{app_id}/documents",
        content=body.stream(),
        headers={**MULTIPART, **as_persona("alice"), "Accept": "text/html"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "The file or form is too large" in response.text
    assert 'href="/assets/govuk-frontend.min.css"' in response.text
    assert body.pulled <= 18
    assert await _counts(small_uploads) == (1, 0)
    assert _stored_files(small_uploads) == []


async def test_portal_upload_to_someone_elses_application_is_refused_unread(
    client: httpx.AsyncClient, container: Container
) -> None:
    app_id = await _alices_application(client)
    body = Body(4)  # a small, valid upload
    response = await client.post(
        f"/applications/{app_id}/documents",
        content=body.stream(),
        headers={**MULTIPART, **as_persona("bob"), "Accept": "text/html"},
    )
    assert response.status_code == 404
    assert body.pulled == 0
    assert await _counts(container) == (1, 0)
    assert _stored_files(container) == []


# --- CSRF ---------------------------------------------------------------------------------------


@pytest.fixture
async def browser(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client (a browser) of the app."""
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url=APP) as c:
        yield c


async def _upload_form_action(browser: httpx.AsyncClient, app_id: str) -> str:
    page = await browser.get(f"/applications/{app_id}", headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text
    found = re.search(
        rf'action="(/applications/{app_id}/documents\?csrf_token=[0-9a-f]+)"', page.text
    )
    assert found, "the upload form carries its CSRF token in its action URL"
    return found[1]


async def test_signed_in_upload_without_a_url_token_is_refused_unread(
    browser: httpx.AsyncClient, container: Container
) -> None:
    app_id = await _alices_application(browser)
    await _sign_in(browser, "alice")
    body = Body(4)
    response = await browser.post(
        f"/applications/{app_id}/documents",
        content=body.stream(),
        headers={**MULTIPART, "Accept": "text/html"},
    )
    assert response.status_code == 403
    assert body.pulled == 0  # the token is never looked for inside an upload
    assert await _counts(container) == (1, 0)


async def test_signed_in_upload_with_the_forms_url_token_is_read(
    browser: httpx.AsyncClient, container: Container
) -> None:
    app_id = await _alices_application(browser)
    await _sign_in(browser, "alice")
    action = await _upload_form_action(browser, app_id)
    body = Body(4)
    response = await browser.post(
        action, content=body.stream(), headers={**MULTIPART, "Accept": "text/html"}
    )
    # Read to the end (the small PDF-looking file is then judged by the documents module).
    assert body.pulled == 4
    assert response.status_code in (303, 400), response.text


async def test_a_token_issued_for_another_session_is_refused(
    browser: httpx.AsyncClient, container: Container
) -> None:
    app_id = await _alices_application(browser)
    await _sign_in(browser, "alice")
    action = await _upload_form_action(browser, app_id)
    await _sign_in(browser, "alice")  # a new session: the old form's token no longer applies
    body = Body(4)
    response = await browser.post(
        action, content=body.stream(), headers={**MULTIPART, "Accept": "text/html"}
    )
    assert response.status_code == 403
    assert body.pulled == 0
    assert await _counts(container) == (1, 0)


# --- security headers ---------------------------------------------------------------------------


def _assert_secure_html(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in response.headers  # not in the test profile
    assert INLINE_SCRIPT.findall(response.text) == []
    assert " style=" not in response.text


async def test_every_html_page_sends_the_security_headers_and_no_inline_script(
    client: httpx.AsyncClient,
) -> None:
    html = {"Accept": "text/html"}
    _assert_secure_html(await client.get("/", headers=html))
    _assert_secure_html(await client.get("/services/open-a-restaurant", headers=html))
    _assert_secure_html(await client.get("/auth/dev-login", headers=html))
    _assert_secure_html(await client.get("/api/v1/docs", headers=html))
    _assert_secure_html(
        await client.get("/backoffice/tasks", headers={**html, **as_persona("olivia")})
    )
    _assert_secure_html(await client.get("/applications", headers={**html, **as_persona("alice")}))


async def test_api_answers_carry_nosniff_and_no_framing(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/services")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


async def test_session_and_csrf_cookies_are_httponly_and_samesite(
    browser: httpx.AsyncClient,
) -> None:
    page = await browser.get("/auth/dev-login")
    csrf_cookie = page.headers["set-cookie"]
    assert "HttpOnly" in csrf_cookie
    assert "SameSite=Lax" in csrf_cookie
    signed_in = await browser.post(
        "/auth/dev-login", data={"persona": "alice", "csrf_token": csrf_from(page.text)}
    )
    session_cookie = signed_in.headers["set-cookie"]
    assert session_cookie.startswith("civicloom_session=")
    assert "HttpOnly" in session_cookie
    assert "SameSite=lax" in session_cookie


# --- routes fail closed -------------------------------------------------------------------------


async def test_the_app_refuses_to_start_with_an_unguarded_route(container: Container) -> None:
    app = create_app(container)

    @app.get("/forgotten")
    async def forgotten() -> dict[str, str]:
        return {"secret": "served to anyone"}

    with pytest.raises(UnguardedRoutes, match="GET /forgotten"):
        async with app.router.lifespan_context(app):
            pass


async def test_an_unguarded_route_that_slips_through_is_refused(container: Container) -> None:
    app: FastAPI = create_app(container)

    @app.get("/forgotten")
    async def forgotten() -> dict[str, str]:
        return {"secret": "served to anyone"}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=APP) as c:
        response = await c.get("/forgotten", headers=as_persona("priya"))
    assert response.status_code == 404
    assert "served to anyone" not in response.text


# --- development surfaces -----------------------------------------------------------------------


@pytest.fixture
async def remote(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """A client connecting from another machine."""
    transport = httpx.ASGITransport(app=create_app(container), client=("203.0.113.7", 40123))
    async with httpx.AsyncClient(transport=transport, base_url=APP) as c:
        yield c


async def test_development_surfaces_refuse_other_machines(remote: httpx.AsyncClient) -> None:
    assert (await remote.get("/auth/dev-login")).status_code == 404
    refused = await remote.post("/auth/dev-login", data={"persona": "priya", "csrf_token": "x"})
    assert refused.status_code == 404
    assert (
        "set-cookie" not in refused.headers
        or "civicloom_session" not in refused.headers["set-cookie"]
    )
    mail = await remote.get("/dev/mail", headers=as_persona("priya"))
    assert mail.status_code == 401  # a demo-persona token is not a credential from afar
    me = await remote.get("/auth/me", headers=as_persona("priya"))
    assert me.status_code == 401


async def test_every_page_shows_the_development_banner(client: httpx.AsyncClient) -> None:
    page = await client.get("/", headers={"Accept": "text/html"})
    assert "data-dev-banner" in page.text
    assert "Do not enter real personal data" in page.text


def _drop_mail(container: Container, name: str, to: str) -> None:
    folder = container.settings.var_dir / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.eml").write_bytes(
        f"To: {to}\r\nSubject: Your licence\r\nDate: Sat, 05 Dec 2026 06:00:00 +0000\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n".encode()
    )


async def test_dev_mail_needs_the_operators_dev_sign_in(
    client: httpx.AsyncClient, container: Container
) -> None:
    _drop_mail(container, "m1", "alice.chen@example.org")
    anonymous = await client.get("/dev/mail")
    assert anonymous.status_code == 401
    assert "alice.chen@example.org" not in anonymous.text
    citizen = await client.get("/dev/mail", headers=as_persona("bob"))
    assert citizen.status_code == 403
    assert "alice.chen@example.org" not in citizen.text
    operator = await client.get("/dev/mail", headers=as_persona("priya"))
    assert operator.status_code == 200
    assert "alice.chen@example.org" in operator.text
    assert "DEVELOPMENT ONLY" in operator.text


async def test_dev_mail_survives_an_unparsable_to_header(
    client: httpx.AsyncClient, container: Container
) -> None:
    _drop_mail(container, "broken", '"Alice <')
    _drop_mail(container, "fine", "bob.martins@example.org")
    listing = await client.get("/dev/mail", headers=as_persona("priya"))
    assert listing.status_code == 200
    assert "bob.martins@example.org" in listing.text
    assert "&#34;Alice &lt;" in listing.text or "&quot;Alice &lt;" in listing.text
    one = await client.get("/dev/mail/broken", headers=as_persona("priya"))
    assert one.status_code == 200
    assert "Your licence" in one.text


async def test_anonymous_signed_in_page_goes_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/auth/signed-in", headers={"Accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/auth/login?next=")


async def test_anonymous_api_call_with_a_declared_body_is_answered_on_a_live_connection(
    container: Container,
) -> None:
    # The early 401 used to close the connection with the body still in flight: the client's
    # kernel then reset it and the client saw no answer at all (httpx.ReadError). A declared
    # body within the limit is now read (not parsed) first, and the connection stays usable.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(container), log_level="warning", lifespan="off")
    )
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started, "the app did not start"
        body = b"x" * 4096
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /api/v1/applications HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n" + body
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 401 ")
        assert b"connection: close" not in head.lower()
        length = int(re.search(rb"content-length: (\d+)", head.lower())[1])  # type: ignore[index]
        await reader.readexactly(length)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        await writer.drain()
        assert (await reader.readuntil(b"\r\n")).startswith(b"HTTP/1.1 200 ")
        writer.close()
    finally:
        server.should_exit = True
        await serving
        sock.close()
