"""The world of the Registration facade's integration tests (ADR 0047).

The GovStack listener app in-process around the test's container (demo world loaded), with
the Registration fixtures loaded through their use cases, and helpers to issue machine
clients' keys and to read back what a request wrote.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy import func, select

from civicloom.applications.tables import ApplicationRow, TaskRow
from civicloom.audit import fold_reads
from civicloom.audit.tables import AuditEntryRow
from civicloom.govstack import create_govstack_app
from civicloom.govstack.fixtures import registration
from civicloom.identity import create_api_key
from civicloom.runtime import Container

MOTHER_AND_CHILD = "f7d33db0-2809-484e-a780-76b7ccd4ecbf"
FIXTURE_FILE = "81c4445c-bff6-11ed-afa1-0242ac120002"
IM = {"Information-Mediator-Client": "eGovStack/GOV/90000009/eregistrations-dev"}


@dataclass(frozen=True)
class Client:
    """A machine client: its key headers (GovStack's ``api_key``) and its subject."""

    headers: dict[str, str]
    subject: str


@dataclass(frozen=True)
class Written:
    """What the database holds: applications, completed tasks and audit entries other than
    the ``identity.access_denied`` entries every refused caller leaves (counted apart)."""

    applications: int
    audit: int
    completed_tasks: int
    denials: int


class World:
    """The facade app, the container and a way to issue machine clients."""

    def __init__(self, container: Container, http: httpx.AsyncClient) -> None:
        self.container = container
        self.http = http

    async def client(self, *scopes: str, department: str = "local-admin") -> Client:
        """A new machine client of ``department`` holding ``scopes``."""
        issued = await create_api_key(
            self.container.uow(),
            self.container.clock,
            name=f"{department} registration system",
            department=department,
            scopes=list(scopes),
        )
        return Client({"api_key": issued.key, **IM}, f"client:{issued.client.prefix}")

    async def written(self) -> Written:
        """Row counts a refused request must leave unchanged (reads recorded are folded into
        their chains first, as the worker folds them: ADR 0073)."""
        await fold_reads(self.container.uow())
        async with self.container.uow() as uow:
            s = uow.session
            apps = await s.scalar(select(func.count()).select_from(ApplicationRow))
            audit = await s.scalar(
                select(func.count())
                .select_from(AuditEntryRow)
                .where(AuditEntryRow.action != "identity.access_denied")
            )
            denials = await s.scalar(
                select(func.count())
                .select_from(AuditEntryRow)
                .where(AuditEntryRow.action == "identity.access_denied")
            )
            done = await s.scalar(
                select(func.count()).select_from(TaskRow).where(TaskRow.state == "completed")
            )
        return Written(int(apps or 0), int(audit or 0), int(done or 0), int(denials or 0))

    async def audit_of(self, subject_id: str) -> list[tuple[str, str]]:
        """``(action, actor)`` of the audit entries about one subject, in order (reads recorded
        folded into the chain first, as the worker folds them: ADR 0073)."""
        await fold_reads(self.container.uow())
        async with self.container.uow() as uow:
            rows = await uow.session.execute(
                select(AuditEntryRow.action, AuditEntryRow.actor)
                .where(AuditEntryRow.subject_id == subject_id)
                .order_by(AuditEntryRow.seq)
            )
            return [(a, b) for a, b in rows]

    async def review_task(self, application_id: str) -> TaskRow:
        """The registrar's review task of a file."""
        async with self.container.uow() as uow:
            task = await uow.session.scalar(
                select(TaskRow).where(
                    TaskRow.application_id == application_id,
                    TaskRow.step_id == "registrar_review",
                )
            )
        assert task is not None
        return task


@asynccontextmanager
async def open_world(container: Container) -> AsyncIterator[World]:
    """The listener app with the Registration fixtures loaded (a test module's fixture)."""
    await registration.load(container)
    app = create_govstack_app(container, own_container=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield World(container, http)
