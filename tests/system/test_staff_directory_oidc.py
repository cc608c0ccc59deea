"""With only OpenID Connect accounts and no personas file (ADR 0042): the whole platform as
processes (PostgreSQL, RabbitMQ, the four simulators, the API, a worker), a real `oidc-provider`
for citizens and staff, a real SMTP server. Alice applies as an OIDC citizen; the staff sign in
with groups that put them in departments; the licensing review breaches its deadline; the
worker's SLA sweep escalates it and the Local Administration's supervisor — not the tax
supervisor, not the officer — gets the e-mail; the supervisor reassigns the task to a colleague
of her department from the supervision page, and cannot give it to the tax supervisor."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from civicloom.demo import RESTAURANT_ANSWERS
from tests.conftest import unavailable
from tests.integration.identity.conftest import csrf_from
from tests.integration.notifications.conftest import SmtpServer
from tests.oidc.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    login_at_provider,
    provider_available,
    run_provider,
)
from tests.simulators.harness import REPO_ROOT, free_port
from tests.system.platform import Platform, _libpq, start_platform

GROUPS = {
    "la-licensing": {"department": "local-admin", "roles": ["officer", "licensing-officer"]},
    "la-supervisors": {
        "department": "local-admin",
        "roles": ["officer", "supervisor", "licensing-officer"],
    },
    "tax-supervisors": {"department": "tax", "roles": ["officer", "supervisor", "tax-officer"]},
}
ACCOUNTS = {
    "alice": {"name": "Alice Chen", "email": "alice@example.org"},
    "ines": {"name": "Ines Alva", "email": "ines@la.example.gov", "groups": ["la-supervisors"]},
    "kim": {"name": "Kim Lee", "email": "kim@la.example.gov", "groups": ["la-licensing", "vpn"]},
    "tom": {"name": "Tom Berg", "email": "tom@tax.example.gov", "groups": ["tax-supervisors"]},
}
RESTAURANT = {
    "service": "open-a-restaurant",
    "data": {**RESTAURANT_ANSWERS, "premises_address": "12 Harbour Street, Riverton"},
}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def oidc_platform(tmp_path: Path, smtp: SmtpServer) -> Iterator[Platform]:
    """The platform trusting a real OpenID provider for citizens and staff, with blueprints that
    have no personas file."""
    reason = provider_available()
    if reason:
        unavailable("the OpenID provider", RuntimeError(reason))
    blueprints = tmp_path / "blueprints"
    shutil.copytree(REPO_ROOT / "blueprints", blueprints)
    (blueprints / "demo" / "personas.yaml").unlink()
    accounts = tmp_path / "accounts.json"
    accounts.write_text(json.dumps(ACCOUNTS))
    port = free_port()
    app = f"http://127.0.0.1:{port}"
    callbacks = [f"{app}/auth/callback/citizen", f"{app}/auth/callback/staff"]
    with run_provider(callbacks, [f"{app}/"], accounts) as provider:
        yield from start_platform(
            tmp_path,
            api_port=port,
            CIVICLOOM_BLUEPRINTS_DIR=str(blueprints),
            CIVICLOOM_OIDC_CITIZEN_ISSUER=provider.issuer,
            CIVICLOOM_OIDC_CITIZEN_CLIENT_ID=CLIENT_ID,
            CIVICLOOM_OIDC_CITIZEN_CLIENT_SECRET=CLIENT_SECRET,
            CIVICLOOM_OIDC_STAFF_ISSUER=provider.issuer,
            CIVICLOOM_OIDC_STAFF_CLIENT_ID=CLIENT_ID,
            CIVICLOOM_OIDC_STAFF_CLIENT_SECRET=CLIENT_SECRET,
            CIVICLOOM_OIDC_STAFF_SCOPE="openid profile email roles",
            CIVICLOOM_OIDC_STAFF_GROUP_MAPPING=json.dumps(GROUPS),
            CIVICLOOM_SMTP_HOST="127.0.0.1",
            CIVICLOOM_SMTP_PORT=str(smtp.port),
        )


async def signed_in(platform: Platform, login: str, audience: str) -> httpx.AsyncClient:
    """A browser signed in at the provider as ``login``."""
    browser = httpx.AsyncClient(base_url=platform.api_url, timeout=15)
    start = await browser.get("/auth/login", params={"audience": audience, "next": "/auth/me"})
    assert start.status_code == 303, start.text
    back = await login_at_provider(
        start.headers["location"], login, f"{platform.api_url}/auth/callback/{audience}"
    )
    done = await browser.get(back)
    assert done.status_code == 303, f"{login}: {done.text}"
    return browser


def wait_for(what: str, check: Any, platform: Platform, seconds: float = 120) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}\n{platform.logs()}")


def licensing_task(platform: Platform, app_id: str) -> tuple[str, str, str | None] | None:
    with psycopg.connect(_libpq(platform.database_url)) as conn:
        row = conn.execute(
            "SELECT id, state, assignee FROM application_tasks"
            " WHERE application_id = %s AND step_id = 'licensing_review'",
            (app_id,),
        ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]), row[2])


@pytest.mark.timeout(300)
async def test_an_sla_breach_reaches_the_right_supervisor_who_reassigns_it(
    oidc_platform: Platform, smtp: SmtpServer
) -> None:
    platform = oidc_platform
    platform.start_worker()
    alice = await signed_in(platform, "alice", "citizen")
    page = await alice.get("/auth/signed-in")
    created = await alice.post(
        "/api/v1/applications",
        json=RESTAURANT,
        headers={"Idempotency-Key": "oidc-directory-0001", "X-CSRF-Token": csrf_from(page.text)},
    )
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    task = wait_for(
        "the licensing review",
        lambda: (t := licensing_task(platform, app_id)) and t[1] == "awaiting_officer" and t,
        platform,
    )
    task_id = task[0]

    # the staff sign in once: the directory keeps what their groups say
    staff = {login: await signed_in(platform, login, "staff") for login in ("ines", "kim", "tom")}
    me = (await staff["ines"].get("/auth/me")).json()
    assert (me["department"], me["roles"]) == (
        "local-admin",
        ["licensing-officer", "officer", "supervisor"],
    )

    # the review breaches its deadline (as time passing would); the worker's sweep escalates
    with psycopg.connect(_libpq(platform.database_url)) as conn:
        conn.execute(
            "UPDATE application_tasks SET sla_due_at = now() - interval '1 day' WHERE id = %s",
            (task_id,),
        )
    escalated = wait_for(
        "the escalation e-mail", lambda: smtp.mailbox.to("ines@la.example.gov"), platform
    )
    assert len(escalated) == 1
    # one transaction planned every delivery of the escalation: staff got none but Ines's
    with psycopg.connect(_libpq(platform.database_url)) as conn:
        staff_deliveries = conn.execute(
            "SELECT recipient_id, channel FROM notification_deliveries"
            " WHERE application_id = %s AND recipient_id <> 'alice'",
            (app_id,),
        ).fetchall()
    assert staff_deliveries == [("ines", "email")]
    assert smtp.mailbox.to("tom@tax.example.gov") == []
    assert smtp.mailbox.to("kim@la.example.gov") == []

    # Ines reassigns it from the supervision page: her colleagues are offered, not Tom
    ines = staff["ines"]
    supervision = await ines.get("/backoffice/supervision")
    assert supervision.status_code == 200
    row = re.search(rf'data-task="{task_id}".*?</tr>', supervision.text, re.S)
    assert row is not None, supervision.text[:2000]
    assert re.findall(r'<option value="([^"]+)"', row[0]) == ["ines", "kim"]
    token = csrf_from(supervision.text)
    refused = await ines.post(
        f"/backoffice/tasks/{task_id}/assignment",
        data={"assignee": "tom", "next": "supervision", "csrf_token": token},
    )
    assert refused.status_code == 422
    assert licensing_task(platform, app_id) == (task_id, "awaiting_officer", None)
    moved = await ines.post(
        f"/backoffice/tasks/{task_id}/assignment",
        data={"assignee": "kim", "next": "supervision", "csrf_token": token},
    )
    assert moved.status_code == 303, moved.text
    assert licensing_task(platform, app_id) == (task_id, "awaiting_officer", "kim")
    queue = await staff["kim"].get("/backoffice/tasks", params={"mine": "true"})
    assert task_id in queue.text
    for browser in (alice, *staff.values()):
        await browser.aclose()
