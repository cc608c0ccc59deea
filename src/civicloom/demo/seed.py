"""``civicloom demo seed``: many realistic applications of the demo services, loaded through
bulk paths (PostgreSQL ``COPY``, SQLite ``executemany``) for measuring read paths at volume
(issue 23, ADR 0061).

Every row is generated in Python from its index, so a seed of N applications always holds the
same mix (see ``STATES``): both services (three in four are *Open a restaurant*), submitted over
the last two years (those still in progress within the last three weeks), their steps in the
states the engine leaves them in, open officer tasks for those in progress, a payment for every
paid licence fee, documents' metadata (no bytes), timeline entries and one audit chain per
application whose hashes are computed by the audit module's own ``chain_hash`` so
``civicloom audit verify`` accepts them. Batches of ``BATCH`` applications are each one
transaction; the next batch is generated in a worker thread while the database loads the
current one (two batches in memory at most, whatever N; ADR 0066). Seeded rows are tagged:
their ids start with ``seed-`` and the applications' idempotency key with ``demo-seed:``; a
second seed into the same database is refused. The production profile is refused outright.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit import GENESIS_HASH, AuditAction, AuditRecord, chain_hash
from civicloom.audit.services import SEAL_LOCK_KEY, actor_subject
from civicloom.kernel import Conflict
from civicloom.runtime import Container
from civicloom.settings import Profile

RESTAURANT = "open-a-restaurant"
ADDRESS_CHANGE = "change-of-business-address"
SEED_ID_PREFIX = "seed-"
SEED_KEY_PREFIX = "demo-seed:"
BATCH = 2000  # applications per transaction

# State by ``index % 20``: 70 % approved, 10 % refused, 5 % withdrawn, 15 % in progress.
STATES = ["approved"] * 14 + ["rejected"] * 2 + ["withdrawn"] + ["in_progress"] * 3

# (step, kind, department, role)
RESTAURANT_STEPS = [
    ("business", "automated", "local-admin", None),
    ("zoning", "automated", "local-admin", None),
    ("tax", "automated", "tax", None),
    ("screening", "automated", "environment", None),
    ("employer", "automated", "labour", None),
    ("inspection", "officer_review", "environment", "inspector"),
    ("labour_review", "officer_review", "labour", "labour-officer"),
    ("licensing_review", "officer_review", "local-admin", "licensing-officer"),
    ("payment", "payment", "local-admin", None),
    ("register_activity", "automated", "local-admin", None),
    ("licence", "issue_document", "local-admin", None),
]
ADDRESS_STEPS = [
    ("zoning", "automated", "local-admin", None),
    ("business_address", "automated", "local-admin", None),
    ("tax_address", "automated", "tax", None),
    ("labour_address", "automated", "labour", None),
    ("confirmation", "notify", "local-admin", None),
]
OFFICERS = {"environment": "elena", "labour": "lars", "local-admin": "olivia"}
CUISINES = ["chinese", "italian", "indian", "french", "fusion", "other"]
STREETS = ["Harbour Road", "Mill Lane", "Station Street", "River Walk", "Market Square"]
NAMES = ["Golden", "Lotus", "Olive", "Saffron", "Juniper", "Harbour", "Willow", "Copper"]
FOODS = ["Kitchen", "Noodle House", "Trattoria", "Bistro", "Dumpling Bar", "Grill"]

COLUMNS: dict[str, list[str]] = {
    "applications": [
        "id",
        "reference",
        "service_id",
        "blueprint_version_id",
        "blueprint_version",
        "applicant_id",
        "state",
        "data",
        "idempotency_key",
        "request_hash",
        "submitted_at",
        "updated_at",
        "deadline_at",
        "decided_at",
        "outcome_reason",
    ],
    "application_tasks": [
        "id",
        "application_id",
        "step_id",
        "kind",
        "department",
        "role",
        "state",
        "attempts",
        "idempotency_key",
        "escalated",
        "sla_due_at",
        "activated_at",
        "completed_at",
        "created_at",
        "updated_at",
    ],
    "application_timeline": [
        "application_id",
        "at",
        "event",
        "step_id",
        "department",
        "message",
        "visible_to_applicant",
    ],
    "payments": [
        "id",
        "application_id",
        "payment_key",
        "department",
        "payer_id",
        "idempotency_key",
        "request_hash",
        "provider",
        "provider_reference",
        "amount_minor",
        "currency",
        "refunded_minor",
        "state",
        "created_at",
        "updated_at",
        "paid_at",
    ],
    "documents": [
        "id",
        "application_id",
        "document_type",
        "filename",
        "media_type",
        "size_bytes",
        "sha256",
        "storage",
        "storage_key",
        "uploaded_by",
        "uploaded_at",
        "retain_until",
    ],
    "audit_entries": [
        "chain",
        "position",
        "occurred_at",
        "actor",
        "actor_subject",
        "action",
        "subject_type",
        "subject_id",
        "department",
        "purpose",
        "fields",
        "details",
        "prev_hash",
        "hash",
    ],
}
JSON_COLUMNS = frozenset({"data", "fields", "details"})


class SeedRefused(Conflict):
    """The seed would run in production or into a database already seeded (a command-line
    refusal; no route raises it)."""


@dataclass
class SeedReport:
    """What ``demo seed`` wrote: rows per table and how long it took."""

    applications: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        """Every row written."""
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        """Rows written per second of wall-clock time."""
        return self.total_rows / self.seconds if self.seconds else 0.0


@dataclass
class _Batch:
    rows: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {table: [] for table in COLUMNS}
    )

    def add(self, table: str, **values: Any) -> None:
        self.rows[table].append(values)


def _form(service: str, i: int, rng: random.Random) -> dict[str, Any]:
    brn = f"BR-{2010 + i % 15}-{i % 1_000_000:06d}"
    parcel = f"P-{i % 10_000:04d}-{rng.randrange(1000):03d}"
    address = f"{rng.randrange(1, 300)} {rng.choice(STREETS)}, Riverton"
    if service == ADDRESS_CHANGE:
        return {
            "business_registration_number": brn,
            "new_parcel_id": parcel,
            "new_address": address,
            "effective_date": "2026-01-15",
        }
    return {
        "business_registration_number": brn,
        "business_name": f"{rng.choice(NAMES)} {rng.choice(FOODS)}",
        "parcel_id": parcel,
        "premises_address": address,
        "seating": rng.randrange(10, 160),
        "grease_trap": rng.random() < 0.8,
        "cuisine": rng.choice(CUISINES),
        "staff_count": rng.randrange(2, 40),
        "opening_date": "2026-03-01",
        "contact_email": f"owner{i}@example.org",
    }


def _step_states(service: str, state: str, i: int) -> dict[str, str]:
    """The state each step is left in (mirrors what the engine does for such an outcome)."""
    if service == ADDRESS_CHANGE:
        rest = {
            "approved": "completed",
            "rejected": "cancelled",
            "withdrawn": "cancelled",
            "in_progress": "completed",
        }[state]
        states = {s[0]: rest for s in ADDRESS_STEPS} | {"zoning": "completed"}
        if state == "in_progress":
            states |= {"tax_address": "awaiting_external", "confirmation": "waiting"}
        return states
    inspected = i % 3 == 0
    states = {s[0]: "completed" for s in RESTAURANT_STEPS[:5]}
    states["inspection"] = "completed" if inspected else "skipped"
    states["labour_review"] = "completed" if i % 5 == 0 and state == "approved" else "skipped"
    tail = ("payment", "register_activity", "licence")
    if state == "approved":
        states |= {"licensing_review": "completed"} | dict.fromkeys(tail, "completed")
    elif state == "rejected":
        states |= {"licensing_review": "completed"} | dict.fromkeys(tail, "cancelled")
    elif state == "withdrawn":
        states |= {"inspection": "skipped", "licensing_review": "cancelled"}
        states |= dict.fromkeys(tail, "cancelled")
    else:  # in progress: an officer's task is open
        states["inspection"] = "awaiting_officer" if inspected else "skipped"
        states["licensing_review"] = "waiting" if inspected else "awaiting_officer"
        states |= dict.fromkeys(tail, "waiting")
    return states


def _licence_fee(seating: int) -> int:
    """The fee in cents, by the bands of ``local-admin/licence-fee`` v1."""
    return (
        15_000
        if seating <= 20
        else 40_000
        if seating <= 40
        else 65_000
        if seating <= 100
        else 90_000
    )


class _Chain:
    """One application's audit chain, hashed as ``append_audit`` would."""

    def __init__(self, batch: _Batch, application_id: str) -> None:
        self.batch, self.application_id = batch, application_id
        self.position, self.previous = 0, GENESIS_HASH

    def append(self, record: AuditRecord) -> None:
        digest = chain_hash(self.previous, record)
        self.position += 1
        self.batch.add(
            "audit_entries",
            chain=record.chain,
            position=self.position,
            occurred_at=record.occurred_at,
            actor=record.actor,
            actor_subject=actor_subject(record.actor),
            action=str(record.action),
            subject_type=record.subject_type,
            subject_id=record.subject_id,
            department=record.department,
            purpose=record.purpose,
            fields=list(record.fields),
            details=record.details,
            prev_hash=self.previous,
            hash=digest,
        )
        self.previous = digest

    def record(
        self, actor: str, action: AuditAction, at: datetime, department: str | None, **kw: Any
    ) -> None:
        self.append(
            AuditRecord(
                actor=actor,
                action=action,
                subject_type="application",
                subject_id=self.application_id,
                occurred_at=at,
                department=department,
                purpose=kw.pop("purpose", None),
                fields=tuple(kw.pop("fields", ())),
                details=kw,
            )
        )


def _application(
    batch: _Batch, i: int, now: datetime, versions: dict[str, tuple[str, int]]
) -> None:
    rng = random.Random(i)
    service = ADDRESS_CHANGE if i % 4 == 3 else RESTAURANT
    state = STATES[i % 20]
    applicant = "alice" if i % 50 == 0 else f"seed-citizen-{i % 40_000}"
    actor = f"dev-login:{applicant}" if applicant == "alice" else f"oidc-citizen:{applicant}"
    age = timedelta(days=rng.uniform(1, 21) if state == "in_progress" else rng.uniform(30, 730))
    submitted = now - age
    decided = None if state == "in_progress" else submitted + timedelta(days=rng.uniform(2, 25))
    app_id = f"{SEED_ID_PREFIX}{i:012d}"
    data = _form(service, i, rng)
    version_id, version = versions[service]
    code = "RST" if service == RESTAURANT else "CBA"
    reason = "The premises' zoning does not allow a restaurant." if state == "rejected" else None
    batch.add(
        "applications",
        id=app_id,
        reference=f"{code}-SEED-{i:07d}",
        service_id=service,
        blueprint_version_id=version_id,
        blueprint_version=version,
        applicant_id=applicant,
        state=state,
        data=data,
        idempotency_key=f"{SEED_KEY_PREFIX}{i}",
        request_hash="0" * 64,
        submitted_at=submitted,
        updated_at=now,  # written now: the KPI aggregates (ADR 0054) count it on their next run
        deadline_at=submitted + timedelta(days=28 if service == RESTAURANT else 14),
        decided_at=decided,
        outcome_reason=reason,
    )
    chain = _Chain(batch, app_id)
    chain.record(
        actor,
        AuditAction.APPLICATION_SUBMITTED,
        submitted,
        "local-admin",
        purpose="apply for service",
        fields=sorted(data),
        service=service,
        blueprint_version=version,
    )
    batch.add(
        "application_timeline",
        application_id=app_id,
        at=submitted,
        event="submitted",
        step_id=None,
        department=None,
        message="Application received",
        visible_to_applicant=True,
    )
    steps = ADDRESS_STEPS if service == ADDRESS_CHANGE else RESTAURANT_STEPS
    states = _step_states(service, state, i)
    end = decided or now
    for n, (step, kind, department, role) in enumerate(steps):
        step_state = states[step]
        done_at = submitted + (end - submitted) * (n + 1) / (len(steps) + 1)
        completed = step_state == "completed"
        batch.add(
            "application_tasks",
            id=f"{app_id}-{n:02d}",
            application_id=app_id,
            step_id=step,
            kind=kind,
            department=department,
            role=role,
            state=step_state,
            attempts=1 if completed and kind != "officer_review" else 0,
            idempotency_key=f"{app_id}:{step}",
            escalated=False,
            sla_due_at=submitted + timedelta(days=10) if step_state != "skipped" else None,
            activated_at=None if step_state in ("waiting", "skipped") else submitted,
            completed_at=done_at if completed else None,
            created_at=submitted,
            updated_at=done_at if step_state != "waiting" else submitted,
        )
        if not completed or kind not in ("officer_review", "payment"):
            continue
        if kind == "officer_review":
            refused = state == "rejected" and step == "licensing_review"
            chain.record(
                f"dev-login:{OFFICERS[department]}",
                AuditAction.TASK_REJECTED if refused else AuditAction.TASK_APPROVED,
                done_at,
                department,
                step=step,
            )
        else:
            fee = _licence_fee(int(data["seating"]))
            batch.add(
                "payments",
                id=f"{app_id}-pay",
                application_id=app_id,
                payment_key=f"{app_id}:payment",
                department=department,
                payer_id=applicant,
                idempotency_key=f"{SEED_KEY_PREFIX}{app_id}",
                request_hash="0" * 64,
                provider="sandbox",
                provider_reference=f"SEED-{i:09d}",
                amount_minor=fee,
                currency="EUR",
                refunded_minor=0,
                state="succeeded",
                created_at=done_at - timedelta(minutes=5),
                updated_at=done_at,
                paid_at=done_at,
            )
            chain.record(
                "system:payments",
                AuditAction.PAYMENT_RECEIVED,
                done_at,
                department,
                amount_minor=fee,
                currency="EUR",
            )
        batch.add(
            "application_timeline",
            application_id=app_id,
            at=done_at,
            event="step.completed",
            step_id=step,
            department=department,
            message="Step completed",
            visible_to_applicant=True,
        )
    if service == RESTAURANT:
        for kind, filename, media, retention in (
            ("floor_plan", "floor-plan.pdf", "application/pdf", 6),
            ("lease", "lease.pdf", "application/pdf", 2),
        ):
            batch.add(
                "documents",
                id=f"{app_id}-{kind}",
                application_id=app_id,
                document_type=kind,
                filename=filename,
                media_type=media,
                size_bytes=rng.randrange(40_000, 2_000_000),
                sha256=f"{rng.getrandbits(256):064x}",
                storage="local",
                storage_key=f"seed/{app_id}/{kind}",
                uploaded_by=actor,
                uploaded_at=submitted,
                retain_until=submitted + timedelta(days=365 * retention),
            )
    if decided is not None:
        action = {
            "approved": AuditAction.APPLICATION_APPROVED,
            "rejected": AuditAction.APPLICATION_REJECTED,
            "withdrawn": AuditAction.APPLICATION_WITHDRAWN,
        }[state]
        who = actor if state == "withdrawn" else "system:engine"
        chain.record(who, action, decided, "local-admin", service=service)
        batch.add(
            "application_timeline",
            application_id=app_id,
            at=decided,
            event=f"application.{state}",
            step_id=None,
            department=None,
            message={"approved": "Approved", "rejected": "Refused", "withdrawn": "Withdrawn"}[
                state
            ],
            visible_to_applicant=True,
        )


Records = dict[str, list[tuple[Any, ...]]]
"""A batch's rows per table as the driver takes them (JSON already encoded)."""


def _records(
    start: int, stop: int, now: datetime, versions: dict[str, tuple[str, int]], dialect: str
) -> Records:
    """Applications ``start`` to ``stop - 1`` as rows ready for the bulk path (run in a thread,
    so the next batch is generated while the database loads the current one)."""
    batch = _Batch()
    for i in range(start, stop):
        _application(batch, i, now, versions)
    if dialect == "postgresql":
        return {
            table: [
                tuple(json.dumps(r[c]) if c in JSON_COLUMNS else r[c] for c in COLUMNS[table])
                for r in rows
            ]
            for table, rows in batch.rows.items()
        }
    return {
        table: [tuple(_sqlite_value(r[c], c) for c in COLUMNS[table]) for r in rows]
        for table, rows in batch.rows.items()
    }


async def _pipelined(
    n: int, now: datetime, versions: dict[str, tuple[str, int]], dialect: str
) -> AsyncIterator[Records]:
    """Every batch in order; the next one is generated (in one worker thread) while the caller
    writes the current one, and no more than these two are held in memory."""
    loop = asyncio.get_running_loop()
    starts = range(0, n, BATCH)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-seed") as pool:

        def generate(start: int) -> asyncio.Future[Records]:
            stop = min(n, start + BATCH)
            return loop.run_in_executor(pool, _records, start, stop, now, versions, dialect)

        pending = generate(starts[0])
        for k in range(len(starts)):
            records = await pending
            if k + 1 < len(starts):
                pending = generate(starts[k + 1])
            yield records


def _sqlite_value(value: Any, column: str) -> Any:
    if column in JSON_COLUMNS:
        return json.dumps(value)
    if isinstance(value, datetime):  # the format SQLAlchemy's SQLite DateTime stores
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


async def _write(session: AsyncSession, table: str, records: list[tuple[Any, ...]]) -> None:
    if not records:
        return
    columns = COLUMNS[table]
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    if session.get_bind().dialect.name == "postgresql":
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            table, records=records, columns=list(columns)
        )
        return
    marks = ", ".join("?" for _ in columns)
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
    await raw.driver_connection.executemany(statement, records)  # type: ignore[union-attr]


async def _settle(container: Container) -> None:
    """What a bulk load is followed by: statistics for the planner and, on PostgreSQL, the
    visibility map (``VACUUM (ANALYZE)``, outside a transaction). Without statistics PostgreSQL
    planned a one-application read of the million-row steps table as a parallel scan (80 ms
    instead of 0.4 ms, measured); without the visibility map the queue's capped count read the
    heap instead of the index (20 ms instead of 0.5 ms). Autovacuum would get there in time,
    where it is on; the seed is measured straight after it is loaded."""
    if container.database.is_postgresql:
        async with container.database.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            for table in COLUMNS:
                await autocommit.execute(text(f"VACUUM (ANALYZE) {table}"))
        return
    async with container.uow() as uow:
        for table in COLUMNS:
            await uow.session.execute(text(f"ANALYZE {table}"))
        await uow.commit()


async def seed_applications(
    container: Container,
    applications: int,
    progress: Callable[[str], object] = print,
) -> SeedReport:
    """Load ``applications`` seeded applications (with their steps, payments, documents'
    metadata, timelines and audit chains); refused in production and into a seeded database."""
    if container.settings.profile is Profile.PRODUCTION:
        raise SeedRefused(
            "demo seed never runs in the production profile: it writes invented applications, "
            "payments and audit entries"
        )
    if applications < 1:
        raise SeedRefused("--applications must be at least 1")
    report = SeedReport(applications, {table: 0 for table in COLUMNS})
    started = time.monotonic()
    async with container.uow() as uow:
        seeded = await uow.session.scalar(
            text("SELECT count(*) FROM applications WHERE id LIKE :p"), {"p": f"{SEED_ID_PREFIX}%"}
        )
        if seeded:
            raise SeedRefused(
                f"this database already holds {seeded} seeded applications (ids starting "
                f"{SEED_ID_PREFIX!r}); seed a fresh database instead"
            )
        found = await uow.session.execute(
            text(
                "SELECT service_id, id, version FROM blueprint_versions "
                "WHERE service_id IN (:a, :b) ORDER BY version"
            ),
            {"a": RESTAURANT, "b": ADDRESS_CHANGE},
        )
        versions = {service: (vid, int(v)) for service, vid, v in found}
    missing = sorted({RESTAURANT, ADDRESS_CHANGE} - set(versions))
    if missing:
        raise SeedRefused(f"publish the demo services first (civicloom demo load): {missing}")
    now = container.clock.now()
    dialect = "postgresql" if container.database.is_postgresql else "sqlite"
    async for batch in _pipelined(applications, now, versions, dialect):
        async with container.uow() as uow:
            if dialect == "postgresql":  # as append_audit does
                await uow.session.execute(
                    text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": SEAL_LOCK_KEY}
                )
            for table, records in batch.items():
                await _write(uow.session, table, records)
                report.rows[table] += len(records)
            await uow.commit()
        report.seconds = time.monotonic() - started
        progress(
            f"{report.rows['applications']:>10,} applications, {report.total_rows:,} rows, "
            f"{report.rows_per_second:,.0f} rows/s"
        )
    await _settle(container)
    report.seconds = time.monotonic() - started
    return report
