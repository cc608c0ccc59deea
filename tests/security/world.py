"""The attack suite's world: real objects made through the app's own use cases and routes, and
the callers who attack them (browser sessions from the real dev login, machine API keys made
with the operator's ``civicloom apikeys create``).

Alice owns every citizen object (applications, drafts, consents, documents, payments,
licences). Department objects belong to local-admin (the licensing task, Alice's fee) or to
environment (the inspection task). Nothing here knows the route policies: the expected
outcomes are the literals of ``tests/security/table.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import select, text

from civicloom.applications import (
    OfficerDecision,
    StepRunner,
    SubmitApplication,
    claim_task,
    decide_task,
    request_information,
    request_review,
    submit_application,
)
from civicloom.applications.tables import DeadLetterRow, TaskRow
from civicloom.departments import CAPABILITY_GATEWAY
from civicloom.documents import (
    DOCUMENTS_RUNTIME,
    REVIEW_EVIDENCE_TYPE,
    Upload,
    Validity,
    build_documents_runtime,
    issue_licence,
    upload_document,
)
from civicloom.governance import (
    ChangeKind,
    draft_change,
    edit_draft,
    get_change,
    set_form_field,
    submit_change,
    workspace_of,
)
from civicloom.identity import (
    GrantKind,
    GrantRequest,
    grant_to_staff,
    load_personas,
    principal_for_persona,
)
from civicloom.kernel import Principal
from civicloom.portal.services import start_draft
from civicloom.registries import GrantMandate, grant_mandate
from civicloom.registries.tables import ConsentRow
from civicloom.runtime import Container
from civicloom.schema import TABLES
from tests.integration.backoffice.world import Departments, restaurant_data
from tests.registers import verified
from tests.simulators.harness import SimProcess
from tests.unit.documents import samples

SESSION_PERSONAS = (
    "alice",
    "bob",
    "olivia",
    "otto",
    "grace",
    "elena",
    "erik",
    "priya",
    "ada",
    "sam",
    "fiona",
    "farah",
    "omar",
)
"""Callers who sign in through ``POST /auth/dev-login`` and then carry a session cookie."""

EVERY_SCOPE = [
    "applications:read",
    "applications:write",
    "tasks:read",
    "tasks:write",
    "tasks:assign",
    "payments:read",
    "payments:write",
    "payments:refund",
    "payments:reconcile",
    "payments:p2g",
    "messaging:send",
    "changes:read",
]
KEYS: dict[str, tuple[str, list[str]]] = {
    # column -> (department, scopes)
    "k+": ("local-admin", EVERY_SCOPE),  # a local-admin system holding every scope
    "k-": ("local-admin", ["kpis:read"]),  # a local-admin system without the route's scope
    "kx": ("environment", EVERY_SCOPE),  # another department's system holding every scope
}
CALLERS = ("anon", *SESSION_PERSONAS, *KEYS)

PORTAL_PAGES: dict[str, dict[str, str]] = {
    "business": {
        "business_registration_number": "BR-2019-004211",
        "business_name": "Golden Dragon Kitchen Ltd",
        "director_name": "Alice Chen",
    },
    "premises": {
        "parcel_id": "P-0042-117",
        "premises_address": "12 Harbour Street, Riverton",
        "seating": "40",
        "grease_trap": "yes",
        "cuisine": "chinese",
    },
    "staff": {
        "staff_count": "8",
        "opening_date-day": "1",
        "opening_date-month": "3",
        "opening_date-year": "2099",
        "contact_email": "alice@example.org",
    },
}
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Caller:
    """One caller of the matrix: anonymous, a signed-in browser, or a machine with a key."""

    name: str
    client: httpx.AsyncClient
    headers: dict[str, str] = field(default_factory=dict)
    csrf: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def is_session(self) -> bool:
        """A browser session (sends the CSRF token with unsafe requests)."""
        return bool(self.csrf)


@dataclass
class Platform:
    """The platform on a real port, its departments and its case engine."""

    container: Container
    url: str
    sim: SimProcess
    departments: Departments
    runner: StepRunner

    def client(self) -> httpx.AsyncClient:
        """A cookie-keeping HTTP client of the live platform (like a browser)."""
        return httpx.AsyncClient(base_url=self.url, timeout=30.0, follow_redirects=False)

    def principal(self, persona: str) -> Principal:
        """A demo persona's principal (for set-up through the use cases)."""
        return principal_for_persona(load_personas(self.container.settings.blueprints_dir)[persona])

    async def drain(self, rounds: int = 200) -> None:
        """Run the case engine until nothing is due."""
        for _ in range(rounds):
            if not await self.runner.run_once("security-suite"):
                return
        raise AssertionError("the engine did not settle")


async def sign_in(platform: Platform, persona: str) -> Caller:
    """A browser signed in as ``persona`` through the real dev-login form."""
    client = platform.client()
    form = await client.get("/auth/dev-login")
    token = CSRF_FIELD.search(form.text)
    assert token is not None, f"no CSRF token on the dev login page ({form.status_code})"
    done = await client.post("/auth/dev-login", data={"persona": persona, "csrf_token": token[1]})
    assert done.status_code == 303, f"dev login as {persona}: {done.status_code} {done.text}"
    # The token of a page seen inside the session (in case tokens are bound to the session).
    page = await client.get("/auth/dev-login")
    again = CSRF_FIELD.search(page.text)
    assert again is not None
    return Caller(persona, client, csrf=again[1])


async def apikeys_cli(platform: Platform, *args: str) -> tuple[int, str]:
    """``civicloom apikeys ...`` as an operator runs it, against the platform's database."""
    env = {
        **os.environ,
        "CIVICLOOM_DATABASE_URL": platform.container.settings.effective_database_url,
        "CIVICLOOM_PROFILE": "test",
        "COLUMNS": "250",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "civicloom",
        "apikeys",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return await process.wait(), output.decode()


async def machine(platform: Platform, name: str) -> Caller:
    """A machine client whose key the operator made with ``civicloom apikeys create``."""
    department, scopes = KEYS[name]
    problems: list[str] = []
    options = ["create", "--name", f"attack suite {name}", "--department", department]
    code, output = await apikeys_cli(platform, *options, *(f"--scope={s}" for s in scopes))
    if code != 0:
        # Today "payments:p2g" fails the scope pattern (issue 16): keep the other scopes and
        # let every P2G row show the defect.
        problems.append(f"key {name}: civicloom apikeys create refused: {output.strip()}")
        kept = [f"--scope={s}" for s in scopes if s != "payments:p2g"]
        code, output = await apikeys_cli(platform, *options, *kept)
    assert code == 0, output
    key = next(line for line in output.splitlines() if line.startswith("cl_"))
    return Caller(
        name,
        platform.client(),
        headers={"Authorization": f"Bearer {key}"},
        problems=problems,
    )


async def callers(platform: Platform) -> dict[str, Caller]:
    """Every caller of the table, by column name (keys made by concurrent CLI runs)."""
    found: dict[str, Caller] = {"anon": Caller("anon", platform.client())}
    keys = asyncio.gather(*(machine(platform, name) for name in KEYS))
    for persona in SESSION_PERSONAS:
        found[persona] = await sign_in(platform, persona)
    found.update({caller.name: caller for caller in await keys})
    return found


# --- objects ---------------------------------------------------------------------------------


@dataclass
class World:
    """Objects made once; ``fresh(kind)`` makes a new one of a kind (for mutations)."""

    platform: Platform
    alice: Caller
    ids: dict[str, str] = field(default_factory=dict)
    made: int = 0

    @property
    def container(self) -> Container:
        """The platform's container."""
        return self.platform.container

    async def _submit(self, **overrides: Any) -> str:
        self.made += 1
        alice, data = self.platform.principal("alice"), restaurant_data(**overrides)
        acting = await verified(self.container, alice, data["business_registration_number"])
        view, _ = await submit_application(
            self.container.uow(),
            self.container.clock,
            alice,
            SubmitApplication("open-a-restaurant", data, f"attack-{self.made}", acting_for=acting),
        )
        return view.id

    async def task(self, application_id: str, step: str) -> TaskRow:
        """The task of one step of an application."""
        async with self.container.uow() as uow:
            row = await uow.session.scalar(
                select(TaskRow).where(
                    TaskRow.application_id == application_id, TaskRow.step_id == step
                )
            )
        assert row is not None, f"no {step} task"
        return row

    async def la_task(self) -> dict[str, str]:
        """Alice's application waiting for the local-admin licensing decision (unclaimed)."""
        app_id = await self._submit()
        await self.platform.drain()
        task = await self.task(app_id, "licensing_review")
        return {"application_id": app_id, "task_id": task.id}

    async def la_task_claimed(self) -> dict[str, str]:
        """A licensing task claimed by Olivia (local-admin licensing officer)."""
        found = await self.la_task()
        await claim_task(
            self.container.uow(),
            self.container.clock,
            self.platform.principal("olivia"),
            found["task_id"],
        )
        return found

    async def refused(self) -> dict[str, str]:
        """Alice's application refused by Olivia at the licensing review (a review may be
        asked for: ADR 0059)."""
        found = await self.la_task()
        await decide_task(
            self.container.uow(),
            self.container.clock,
            self.platform.principal("olivia"),
            found["task_id"],
            OfficerDecision("reject"),
            "The premises are in a residential zone",
        )
        return found

    async def review(self) -> dict[str, str]:
        """Alice's request for a review of Olivia's refusal, with a supporting document."""
        found = await self.refused()
        runtime = self.container.get(DOCUMENTS_RUNTIME)
        alice = self.platform.principal("alice")

        async def pdf() -> AsyncIterator[bytes]:
            yield samples.pdf("Zoning map 2025")

        evidence = await upload_document(
            self.container.uow(),
            runtime,
            self.container.clock,
            alice,
            found["application_id"],
            REVIEW_EVIDENCE_TYPE,
            Upload("Zoning map.pdf", pdf()),
            for_review=True,
        )
        made = await request_review(
            self.container.uow(),
            self.container.clock,
            alice,
            found["application_id"],
            "The zoning map was corrected in 2025.",
            evidence.id,
        )
        return {**found, "review_id": made.id}

    async def env_task(self) -> dict[str, str]:
        """Alice's application waiting for the environment inspection (seating 60)."""
        app_id = await self._submit(seating=60)
        await self.platform.drain()
        task = await self.task(app_id, "inspection")
        return {"application_id": app_id, "task_id": task.id}

    async def info_app(self) -> dict[str, str]:
        """An application where Olivia asked Alice for more information."""
        found = await self.la_task()
        await request_information(
            self.container.uow(),
            self.container.clock,
            self.platform.principal("olivia"),
            found["task_id"],
            "Please send the floor plan's scale.",
        )
        return found

    async def due_app(self) -> dict[str, str]:
        """An application approved by Olivia whose licence fee is due (payment step waiting)."""
        found = await self.la_task()
        await decide_task(
            self.container.uow(),
            self.container.clock,
            self.platform.principal("olivia"),
            found["task_id"],
            OfficerDecision("approve"),
            None,
        )
        await self.platform.drain()
        payment = await self.task(found["application_id"], "payment")
        assert payment.state not in ("completed", "pending"), payment.state
        async with self.container.uow() as uow:
            reference = await uow.session.scalar(
                text("SELECT reference FROM applications WHERE id = :id"),
                {"id": found["application_id"]},
            )
        inputs = payment.input or {}
        minor = int((Decimal(str(inputs["amount"])) * 100).to_integral_value())
        return {
            **found,
            "bill_id": str(reference),
            "payment_task_id": payment.id,
            "amount_minor": str(minor),
            "currency": str(inputs.get("currency") or "EUR"),
        }

    async def dead_letter(self) -> dict[str, str]:
        """A dead letter of the tax department (its system refused the call)."""
        self.platform.departments.down.add("tax.clearance_check")
        try:
            app_id = await self._submit()
            await self.platform.drain()
        finally:
            self.platform.departments.down.clear()
        async with self.container.uow() as uow:
            letter = await uow.session.scalar(
                select(DeadLetterRow).where(DeadLetterRow.application_id == app_id)
            )
        assert letter is not None
        return {"dead_letter_id": letter.id, "application_id": app_id}

    async def draft(self) -> dict[str, str]:
        """Alice's empty draft."""
        made = await start_draft(
            self.container.uow(),
            self.container.clock,
            self.platform.principal("alice"),
            "open-a-restaurant",
        )
        return {"draft_id": made.id, "page_id": "business"}

    async def draft_full(self) -> dict[str, str]:
        """Alice's draft with every page answered (through her browser), ready to send."""
        found = await self.draft()
        for page_id, answers in PORTAL_PAGES.items():
            saved = await self.alice.client.post(
                f"/drafts/{found['draft_id']}/pages/{page_id}",
                data={**answers, "csrf_token": self.alice.csrf},
                headers={"X-CSRF-Token": self.alice.csrf},
            )
            assert saved.status_code == 303, saved.text[:500]
        check = await self.alice.client.get(f"/drafts/{found['draft_id']}/check")
        key = re.search(r'name="idempotency_key" value="([^"]+)"', check.text)
        assert key is not None, check.text[:500]
        return {**found, "idempotency_key": key[1]}

    async def consent(self) -> dict[str, str]:
        """Alice's consent to read the business register (given on the prefill page)."""
        found = await self.draft()
        given = await self.alice.client.post(
            f"/drafts/{found['draft_id']}/prefill",
            data={"consent": "yes", "csrf_token": self.alice.csrf},
            headers={"X-CSRF-Token": self.alice.csrf},
        )
        assert given.status_code == 303, given.text[:500]
        async with self.container.uow() as uow:
            consent = await uow.session.scalar(
                select(ConsentRow.id).where(ConsentRow.draft_id == found["draft_id"])
            )
        assert consent is not None
        return {"consent_id": consent}

    async def licence(self) -> dict[str, str]:
        """A licence issued to Alice by local-admin (as the case engine issues it)."""
        found = await self.la_task()
        runtime = build_documents_runtime(self.container.settings)
        now = self.container.clock.now()
        async with self.container.uow() as uow:
            ref = await issue_licence(
                uow.session,
                runtime,
                now,
                application_id=found["application_id"],
                holder={
                    "name": "Golden Dragon Kitchen Ltd",
                    "registration_number": "BR-2019-004211",
                },
                activity="Restaurant (seated, 40 covers)",
                premises="12 Harbour Street, parcel P-0042-117",
                validity=Validity(now - timedelta(days=1), now + timedelta(days=364)),
                issuing_department="local-admin",
                actor="system:case-engine",
            )
            await uow.commit()
        return {"licence_id": ref.id, "token": ref.token, **found}

    async def mandate(self) -> dict[str, str]:
        """Alice's mandate for Golden Dragon to Carol (not a caller), not yet accepted."""
        now = self.container.clock.now()
        made = await grant_mandate(
            self.container.uow,
            self.container.get(CAPABILITY_GATEWAY),
            self.container.clock,
            self.platform.principal("alice"),
            GrantMandate(
                "BR-2019-004211", "carol", ("open-a-restaurant",), now + timedelta(days=30)
            ),
        )
        return {"mandate_id": made.id}

    async def staff_grant(self) -> dict[str, str]:
        """Hana's leave grant for Nora (local-admin's staff directory, ADR 0042)."""
        today = self.container.clock.now().date()
        made = await grant_to_staff(
            self.container.uow(),
            self.container.clock,
            self.platform.principal("hana"),
            GrantRequest(GrantKind.LEAVE, "nora", today, today + timedelta(days=7), "Leave"),
        )
        return {"grant_id": made.id}

    async def _change(self, kind: ChangeKind, target: str) -> str:
        """A draft change request of Sam's (local-admin's service owner, ADR 0049)."""
        return await draft_change(
            self.container.uow(),
            self.container.clock,
            workspace_of(self.container),
            self.platform.principal("sam"),
            kind=kind,
            target=target,
            title="Outdoor seats",
        )

    async def change(self) -> dict[str, str]:
        """Sam's draft change to Open a restaurant."""
        return {"change_id": await self._change(ChangeKind.BLUEPRINT, "open-a-restaurant")}

    async def change_template(self) -> dict[str, str]:
        """Sam's draft change to the 'submitted' message of Open a restaurant."""
        change_id = await self._change(ChangeKind.TEMPLATE, "open-a-restaurant/submitted")
        return {"change_id": change_id}

    async def change_edited(self) -> dict[str, str]:
        """Sam's draft with a new field: ready to submit."""
        change_id = await self._change(ChangeKind.BLUEPRINT, "open-a-restaurant")
        draft = await get_change(self.container.uow(), change_id)
        files = set_form_field(
            draft.files,
            name="outdoor_seats",
            kind="integer",
            title_en="Outdoor seats",
            title_zh="室外座位数",
            page="premises",
            required=False,
            owner="local-admin",
            data_class="business",
            legal_basis="Food Business Licensing Act 2019, s. 12",
            retention="P6Y",
        )
        sam = self.platform.principal("sam")
        await edit_draft(self.container.uow(), self.container.clock, sam, change_id, files)
        return {"change_id": change_id}

    async def change_submitted(self) -> dict[str, str]:
        """Sam's change, submitted: it waits for local-admin's and the central approval."""
        made = await self.change_edited()
        await submit_change(
            self.container.uow(),
            self.container.clock,
            workspace_of(self.container),
            self.platform.principal("sam"),
            made["change_id"],
            self.container.clock.now() + timedelta(days=30),
        )
        return made

    async def fresh(self, kind: str) -> dict[str, str]:
        """A new object of ``kind``."""
        makers: dict[str, Callable[[], Awaitable[dict[str, str]]]] = {
            "la_task": self.la_task,
            "la_task_claimed": self.la_task_claimed,
            "env_task": self.env_task,
            "info_app": self.info_app,
            "due_app": self.due_app,
            "dead_letter": self.dead_letter,
            "draft": self.draft,
            "draft_full": self.draft_full,
            "consent": self.consent,
            "licence": self.licence,
            "mandate": self.mandate,
            "staff_grant": self.staff_grant,
            "change": self.change,
            "change_template": self.change_template,
            "change_edited": self.change_edited,
            "change_submitted": self.change_submitted,
            "refused": self.refused,
            "review": self.review,
        }
        return await makers[kind]()


async def paid(world: World, due: dict[str, str]) -> str:
    """Alice pays the fee at the simulator's hosted page; returns the payment id (succeeded)."""
    alice, sim = world.alice, world.platform.sim
    started = await alice.client.post(
        f"/api/v1/applications/{due['application_id']}/payments",
        json={"return_url": "/applications"},
        headers={
            "Idempotency-Key": f"attack-pay-{due['application_id']}",
            "X-CSRF-Token": alice.csrf,
        },
    )
    assert started.status_code == 201, started.text
    payment = started.json()
    async with httpx.AsyncClient(timeout=10) as direct:
        chosen = await direct.post(
            f"{sim.url}/pay/{payment['provider_reference']}", data={"outcome": "success"}
        )
    assert chosen.status_code == 303, chosen.text
    for _ in range(200):
        state = (await alice.client.get(f"/api/v1/payments/{payment['id']}")).json()["state"]
        if state == "succeeded":
            return str(payment["id"])
        await asyncio.sleep(0.05)
    raise AssertionError("the payment did not succeed")


async def build_world(platform: Platform, alice: Caller, priya: Caller, key: Caller) -> World:
    """The objects every read route is tried on (mutations take ``fresh`` ones)."""
    world = World(platform, alice)
    ids = world.ids
    la = await world.la_task()
    ids.update(application_id=la["application_id"], task_id=la["task_id"])
    env = await world.env_task()
    ids.update(env_application_id=env["application_id"], env_task_id=env["task_id"])
    upload = await alice.client.post(
        f"/api/v1/applications/{la['application_id']}/documents",
        data={"document_type": "floor_plan"},
        files={
            "file": ("Floor plan.pdf", samples.pdf("Golden Dragon floor plan"), "application/pdf")
        },
        headers={"X-CSRF-Token": alice.csrf},
    )
    assert upload.status_code == 201, upload.text
    ids["document_id"] = upload.json()["id"]
    due = await world.due_app()
    ids.update(
        due_application_id=due["application_id"], bill_id=due["bill_id"], billId=due["bill_id"]
    )
    ids["payment_task_key"] = (await world.task(due["application_id"], "payment")).idempotency_key
    paid_app = await world.due_app()
    ids["payment_id"] = await paid(world, paid_app)
    ids["paid_application_id"] = paid_app["application_id"]
    payment = await alice.client.get(f"/api/v1/payments/{ids['payment_id']}")
    ids["provider_reference"] = payment.json()["provider_reference"]
    await platform.drain()
    licence = await world.licence()
    ids.update(licence_id=licence["licence_id"], licence_token=licence["token"])
    ids.update(await world.draft())
    ids.update(await world.change())
    ids.update(await world.consent())
    ids["dead_letter_id"] = (await world.dead_letter())["dead_letter_id"]
    ids["review_id"] = (await world.review())["review_id"]
    async with httpx.AsyncClient(timeout=10) as direct:
        settlement = (await direct.get(f"{platform.sim.url}/v1/settlements.csv")).text
    run = await priya.client.post(
        "/api/v1/payments/reconciliations",
        content=settlement,
        headers={"Content-Type": "text/csv", "X-CSRF-Token": priya.csrf},
    )
    assert run.status_code == 201, run.text
    ids["reconciliation_id"] = run.json()["id"]
    ids["settlement"] = settlement
    sent = await key.client.post(
        "/send/email/single",
        json=email_body("setup"),
        headers=key.headers,
    )
    assert sent.status_code == 200, sent.text
    ids["request_uid"] = sent.json()["requestUid"]
    ids["message_id"] = caught_mail(platform)
    async with platform.container.uow() as uow:
        version = await uow.session.scalar(
            text("SELECT max(version) FROM blueprint_versions WHERE service_id = :s"),
            {"s": "open-a-restaurant"},
        )
    ids.update(
        service_id="open-a-restaurant",
        capability_id="tax.clearance_check",
        version=str(version),
        service="open-a-restaurant",
        slug="not-found",
        audience="citizen",
        locale="zh-Hans",
        provider="sandbox",
        department="environment",
        month=platform.container.clock.now().strftime("%Y-%m"),
        counter_id="00000000-0000-4000-8000-000000000000",  # no receipt: nobody here may ask
    )
    return world


def email_body(tag: str) -> dict[str, Any]:
    """A GovStack ``/send/email/single`` body (one recipient)."""
    return {
        "senderInfo": {},
        "recipientInfo": {"email": "alice.chen@example.org", "name": "Alice Chen"},
        "emailContent": {"encoding": "UTF-8", "title": f"Notice {tag}", "content": "Hello."},
    }


def caught_mail(platform: Platform) -> str:
    """A caught email in the mail catcher's folder (what the worker writes in test profiles)."""
    folder = platform.container.settings.var_dir / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    message = EmailMessage()
    message["To"] = "alice.chen@example.org"
    message["From"] = "noreply@civicloom.example"
    message["Subject"] = "Your application was received"
    message.set_content("We received your application.")
    name = "attack-suite-0001"
    (folder / f"{name}.eml").write_bytes(bytes(message))
    return name


# --- side effects ----------------------------------------------------------------------------

_FINGERPRINTS = {
    "application_tasks": "id || '|' || state || '|' || coalesce(assignee, '')",
    "applications": "id || '|' || state",
    "dead_letters": "id || '|' || coalesce(resolution, '')",
    "registry_consents": "id || '|' || coalesce(CAST(revoked_at AS TEXT), '')",
    "licences": "id || '|' || coalesce(CAST(revoked_at AS TEXT), '')",
    "portal_drafts": (
        "id || '|' || CAST(data AS TEXT) || '|' || coalesce(prefill_consent, '')"
        " || '|' || coalesce(application_id, '')"
    ),
    "payments": "id || '|' || state || '|' || CAST(refunded_minor AS TEXT)",
    "notification_preferences": "CAST(subject AS TEXT) || '|' || CAST(updated_at AS TEXT)",
    "governance_change_requests": "id || '|' || state || '|' || CAST(updated_at AS TEXT)",
}
_IGNORED = {
    "identity_sessions",
    "identity_api_clients",
    "audit_entries",
    "audit_seals",
    # Counts attempts by design (a throttle that forgot refused attempts would not throttle):
    # an abuse counter keyed by a digest, not a change to anyone's data (ADR 0062).
    "rate_limit_windows",
    "worker_connector_states",  # written by workers' heartbeats, never by a request
}


def _queries() -> tuple[str, str]:
    names = [t.__tablename__ for t in TABLES if t.__tablename__ not in _IGNORED]
    # Table and column names come from our own schema, never from a request.
    counts = " UNION ALL ".join(f"SELECT 'rows:{n}', count(*) FROM {n}" for n in names)  # noqa: S608
    counts += (
        " UNION ALL SELECT 'audit (not refusals)', count(*) FROM audit_entries"
        " WHERE action != 'identity.access_denied'"
    )
    states = " UNION ALL ".join(
        f"SELECT 'state:{n}', {expression} FROM {n}"  # noqa: S608
        for n, expression in _FINGERPRINTS.items()
    )
    return counts, states


COUNTS, STATES = _queries()


async def snapshot(platform: Platform) -> dict[str, object]:
    """What a refused request must not change: every table's rows (sessions and key use
    excepted), the state of the mutable objects, audit entries other than refusals, stored
    files and caught mail, and calls to the departments."""
    found: dict[str, object] = {}
    async with platform.container.uow() as uow:
        for name, count in (await uow.session.execute(text(COUNTS))).all():
            found[name] = count
        digests: dict[str, Any] = {n: hashlib.sha256() for n in _FINGERPRINTS}
        for name, value in sorted((await uow.session.execute(text(STATES))).all()):
            digests[name.removeprefix("state:")].update(f"{value}\n".encode())
        found.update({f"state:{n}": d.hexdigest()[:16] for n, d in digests.items()})
    var = platform.container.settings.var_dir
    for folder in ("documents", "mail"):
        root = var / folder
        found[f"files:{folder}"] = (
            sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0
        )
    found["department calls"] = len(platform.departments.calls)
    return found


def changes(before: dict[str, object], after: dict[str, object]) -> list[str]:
    """What differs between two snapshots."""
    return [f"{k}: {before.get(k)} -> {after.get(k)}" for k in after if before.get(k) != after[k]]
