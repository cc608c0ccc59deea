"""A citizen's status read, ``GET /api/v1/applications/{id}/status`` (issue 23, ADR 0079).

Who must not read comes first: another citizen, an officer through the citizen's route, a
session that ran out (idle or past its end) and a forged cursor get nothing and leave no read
in the read log. Then the session lookup's rules and its round trips (a lookup that writes
nothing opens no transaction on PostgreSQL), and the answer itself, byte for byte, for an
application written by hand. Expected values are literals.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection

from civicloom.applications import (
    ApplicationState,
    ApplicationStatus,
    ApplicationView,
    StepStatus,
    TaskState,
    TimelineEntry,
    application_status,
)
from civicloom.applications.tables import ApplicationRow, TaskRow, TimelineRow
from civicloom.audit.tables import AuditEntryRow, AuditReadRow
from civicloom.catalogue import get_current_blueprint
from civicloom.identity import SessionPolicy, resolve_session, start_session
from civicloom.identity.tables import SessionRow
from civicloom.kernel import FixedClock, NotFound, sha256_hex
from civicloom.runtime import Container
from tests.integration.backoffice.world import persona, submit

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
PROBLEM = "application/problem+json"
# the application's own session rules in the test profile: 30 idle minutes, 12 hours at most
POLICY = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=12))


def status_of(app_id: str) -> str:
    return f"/api/v1/applications/{app_id}/status"


def cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"civicloom_session={token}"}


async def sign_in(container: Container, name: str, policy: SessionPolicy = POLICY) -> str:
    """A browser session of a demo persona started now (the container's clock)."""
    return await start_session(container.uow(), container.clock, persona(container, name), policy)


async def read_log(container: Container) -> list[tuple[str, str, list[str]]]:
    """``(subject, actor, fields)`` of every read waiting in the read log, in order."""
    async with container.uow() as uow:
        rows = await uow.session.execute(
            select(AuditReadRow.subject_id, AuditReadRow.actor, AuditReadRow.fields).order_by(
                AuditReadRow.id
            )
        )
        return [(s, a, list(f)) for s, a, f in rows]


async def audit_actions(container: Container) -> list[str]:
    """The actions of the audit entries written after the demo world's (newest last)."""
    async with container.uow() as uow:
        actions = await uow.session.scalars(
            select(AuditEntryRow.action)
            .where(AuditEntryRow.occurred_at >= T0)
            .order_by(AuditEntryRow.seq)
        )
        return list(actions)


async def last_seen(container: Container, token: str) -> datetime | None:
    """The session's last-seen time, or None when its row is gone."""
    async with container.uow() as uow:
        return await uow.session.scalar(
            select(SessionRow.last_seen_at).where(SessionRow.id == sha256_hex(token))
        )


async def sessions_of(container: Container, subject: str) -> int:
    async with container.uow() as uow:
        count = await uow.session.scalar(
            select(func.count()).select_from(SessionRow).where(SessionRow.subject == subject)
        )
        return int(count or 0)


@pytest.fixture
def clock(container: Container) -> FixedClock:
    """The platform's clock, frozen at T0 and moved by the test."""
    fixed = FixedClock(T0)
    container.clock = fixed
    return fixed


# -- who must not read ------------------------------------------------------------------------


async def test_another_citizen_gets_404_and_no_read_is_logged(
    container: Container, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    app_id = await submit(container, "status-other-citizen")
    bob = await sign_in(container, "bob")
    alice = await sign_in(container, "alice")
    cursor = "eyJ4IjoxfQ.AAAAAAAAAAAAAAAAAAAAAA"  # the same 404 with or without a cursor

    for params in ({}, {"cursor": cursor}):
        refused = await client.get(status_of(app_id), params=params, headers=cookie(bob))
        assert refused.status_code == 404, refused.text
        assert refused.headers["content-type"] == PROBLEM
        # exactly what an application that does not exist answers
        assert refused.json()["detail"] == f"no application '{app_id}' for this applicant"
        assert "Golden Dragon" not in refused.text
    assert await read_log(container) == []

    missing = await client.get(status_of("no-such-application"), headers=cookie(alice))
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no application 'no-such-application' for this applicant"
    assert await read_log(container) == []

    # and in the service: NotFound before anything is queued
    with pytest.raises(NotFound):
        await application_status(container.uow(), clock, persona(container, "bob"), app_id)
    assert await read_log(container) == []


async def test_an_officer_through_the_citizen_route_gets_404_and_no_read_is_logged(
    container: Container, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    app_id = await submit(container, "status-officer")
    olivia = await sign_in(container, "olivia")  # licensing officer of the deciding department

    refused = await client.get(status_of(app_id), headers=cookie(olivia))
    assert refused.status_code == 404, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert "Golden Dragon" not in refused.text
    assert await read_log(container) == []
    # the refusal itself is audited, as every refused request of a signed-in caller is
    assert (await audit_actions(container))[-1] == "identity.access_denied"


async def test_a_session_idle_too_long_or_past_its_end_is_401_and_deleted(
    container: Container, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    app_id = await submit(container, "status-expired")
    idle = await sign_in(container, "alice")
    short = await sign_in(
        container, "alice", SessionPolicy(idle=POLICY.idle, absolute=timedelta(hours=1))
    )
    assert await sessions_of(container, "alice") == 2

    # 30 minutes without a request: the idle session is over (exactly at the limit)
    clock.advance(timedelta(minutes=29))
    kept = await client.get(status_of(app_id), headers=cookie(short))  # keeps ``short`` alive
    assert kept.status_code == 200, kept.text
    clock.advance(timedelta(minutes=1))
    gone = await client.get(status_of(app_id), headers=cookie(idle))
    assert gone.status_code == 401, gone.text
    assert gone.headers["content-type"] == PROBLEM
    assert "Golden Dragon" not in gone.text
    assert await last_seen(container, idle) is None  # the row is deleted
    assert await sessions_of(container, "alice") == 1

    # in use every 29 minutes, the short session still ends an hour after sign-in
    clock.advance(timedelta(minutes=28))  # T0 + 58 min
    assert (await client.get(status_of(app_id), headers=cookie(short))).status_code == 200
    clock.advance(timedelta(minutes=2))  # T0 + 60 min
    ended = await client.get(status_of(app_id), headers=cookie(short))
    assert ended.status_code == 401, ended.text
    assert await last_seen(container, short) is None
    assert await sessions_of(container, "alice") == 0

    # only the two reads that were shown are in the log
    assert [(s, a) for s, a, _ in await read_log(container)] == [
        (app_id, "dev-login:alice"),
        (app_id, "dev-login:alice"),
    ]


async def test_a_forged_cursor_is_400_naming_the_cursor_and_writes_nothing(
    container: Container, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    app_id = await submit(container, "status-forged-cursor")
    alice = await sign_in(container, "alice")
    before = await audit_actions(container)
    # a well-formed payload with a made-up signature, an unsigned one, plain garbage, and
    # (base64 of ["after",null,"1"]) signed with a key that is not the platform's
    forged = [
        "WyJhZnRlciIsbnVsbCwiMSJd.AAAAAAAAAAAAAAAAAAAAAA",
        "WyJhZnRlciIsbnVsbCwiMSJd",
        "not-a-cursor",
        "WyJhZnRlciIsbnVsbCwiMSJd.0sEq3yRfiwYzsu1zwWh3Ow",
    ]
    for value in forged:
        refused = await client.get(
            status_of(app_id), params={"cursor": value}, headers=cookie(alice)
        )
        assert refused.status_code == 400, (value, refused.text)
        assert refused.headers["content-type"] == PROBLEM
        body = refused.json()
        assert body["type"].endswith("/problems/invalid-cursor")
        assert [(e["field"], e["rule"]) for e in body["errors"]] == [("cursor", "cursor")]
        assert "Golden Dragon" not in refused.text
    assert await read_log(container) == []
    assert await audit_actions(container) == before


# -- the session lookup -----------------------------------------------------------------------


@contextmanager
def round_trips(container: Container) -> Iterator[list[str]]:
    """What a block sends: ``BEGIN`` for each transaction it opens (one started on a connection
    in autocommit mode sends none and is not listed), then ``SELECT/UPDATE/DELETE <table>``."""
    sent: list[str] = []

    def began(conn: Connection) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            sent.append("BEGIN")

    def executed(*args: Any) -> None:
        words = str(args[2]).split()
        if words[0] == "BEGIN":  # SQLite's BEGIN IMMEDIATE, already listed by ``began``
            return
        # SELECT … FROM t, INSERT INTO t, DELETE FROM t, UPDATE t
        table = words[words.index("FROM") + 1] if words[0] == "SELECT" else words[1]
        table = words[2] if words[0] in ("INSERT", "DELETE") else table
        sent.append(f"{words[0]} {table}")

    engine = container.database.engine.sync_engine
    event.listen(engine, "begin", began)
    event.listen(engine, "before_cursor_execute", executed)
    try:
        yield sent
    finally:
        event.remove(engine, "begin", began)
        event.remove(engine, "before_cursor_execute", executed)


async def test_the_session_rules_idle_absolute_and_one_touch_a_minute(
    container: Container, clock: FixedClock
) -> None:
    policy = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=2))
    token = await sign_in(container, "alice", policy)

    found = await resolve_session(container.uow(), clock, token, policy)
    assert found is not None
    assert (found.subject, found.display_name, sorted(found.roles)) == (
        "alice",
        "Alice Chen",
        ["business-representative", "citizen"],
    )
    assert found.mandates == frozenset({"BR-2019-004211"})
    assert (found.department, found.authenticated_by) == (None, "dev-login")

    clock.advance(timedelta(seconds=59))  # under a minute since last seen: nothing written
    assert await resolve_session(container.uow(), clock, token, policy) is not None
    assert await last_seen(container, token) == T0
    clock.advance(timedelta(seconds=1))  # a minute: last seen moves to now
    assert await resolve_session(container.uow(), clock, token, policy) is not None
    assert await last_seen(container, token) == T0 + timedelta(minutes=1)

    clock.advance(timedelta(minutes=29, seconds=59))  # idle a second short of 30 minutes
    assert await resolve_session(container.uow(), clock, token, policy) is not None
    assert await last_seen(container, token) == T0 + timedelta(minutes=30, seconds=59)
    clock.advance(timedelta(minutes=30))  # idle exactly 30 minutes
    assert await resolve_session(container.uow(), clock, token, policy) is None
    assert await last_seen(container, token) is None

    # past its absolute end, even though used a second ago
    ending = await sign_in(container, "alice", policy)  # at T0 + 61 min, ends at T0 + 3 h 1 min
    for _ in range(4):
        clock.advance(timedelta(minutes=29))
        assert await resolve_session(container.uow(), clock, ending, policy) is not None
    clock.advance(timedelta(minutes=3, seconds=59))  # T0 + 3 h 0 min 59 s
    assert await resolve_session(container.uow(), clock, ending, policy) is not None
    clock.advance(timedelta(seconds=1))
    assert await resolve_session(container.uow(), clock, ending, policy) is None
    assert await last_seen(container, ending) is None
    assert await resolve_session(container.uow(), clock, "no-such-token", policy) is None


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_session_lookup_that_writes_nothing_opens_no_transaction(
    container: Container, clock: FixedClock
) -> None:
    token = await sign_in(container, "alice")

    with round_trips(container) as fresh:
        assert await resolve_session(container.uow(), clock, token, POLICY) is not None
    assert fresh == ["SELECT identity_sessions"]

    clock.advance(timedelta(minutes=1))
    with round_trips(container) as touched:
        assert await resolve_session(container.uow(), clock, token, POLICY) is not None
    assert touched == ["SELECT identity_sessions", "UPDATE identity_sessions"]
    assert await last_seen(container, token) == T0 + timedelta(minutes=1)

    clock.advance(timedelta(minutes=30))
    with round_trips(container) as idle:
        assert await resolve_session(container.uow(), clock, token, POLICY) is None
    assert idle == ["SELECT identity_sessions", "DELETE identity_sessions"]
    assert await last_seen(container, token) is None

    with round_trips(container) as unknown:
        assert await resolve_session(container.uow(), clock, token, POLICY) is None
    assert unknown == ["SELECT identity_sessions"]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_status_read_is_one_transaction_after_the_session_lookup(
    container: Container, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    app_id = await submit(container, "status-round-trips")
    alice = await sign_in(container, "alice")
    with round_trips(container) as sent:
        read = await client.get(status_of(app_id), headers=cookie(alice))
    assert read.status_code == 200, read.text
    assert sent == [
        "SELECT identity_sessions",
        "BEGIN",
        "SELECT applications",
        "SELECT application_tasks",
        "SELECT application_timeline",
        "INSERT audit_read_log",
    ]


# -- the answer, byte for byte ----------------------------------------------------------------

GOLDEN_ID = "01JNGOLDEN0STATUS0READ0001"


async def _golden_application(container: Container) -> None:
    """An application of Alice's written by hand: a step done, one asking her a question
    (escalated), one waiting; four timeline entries, one of them internal."""
    async with container.uow() as uow:
        published = await get_current_blueprint(uow.session, "open-a-restaurant")
        assert published is not None
        uow.session.add(
            ApplicationRow(
                id=GOLDEN_ID,
                reference="RST-2027-900001",
                service_id="open-a-restaurant",
                blueprint_version_id=published.version_id,
                blueprint_version=5,
                applicant_id="alice",
                state="awaiting_applicant",
                data={
                    "business_name": '金龙 Kitchen "Ltd"',
                    "seating": 40,
                    "grease_trap": True,
                    "opening_date": "2099-03-01",
                    "premises": {"street": "12 Harbour Street", "floor": None},
                    "ratio": 0.5,
                },
                idempotency_key=None,
                request_hash="0" * 64,
                submitted_at=datetime(2027, 2, 1, 9, 30, tzinfo=UTC),
                updated_at=datetime(2027, 2, 3, 14, 5, 7, 123456, tzinfo=UTC),
                deadline_at=datetime(2027, 3, 15, 17, 0, tzinfo=UTC),
                clock_stopped_at=datetime(2027, 2, 3, 14, 5, 7, tzinfo=UTC),
                decided_at=None,
                outcome_reason=None,
                decisions={
                    "fees": {"total": "120.00", "currency": "EUR"},
                    "tax_clearance": {"allowed": True},
                },
            )
        )
        await uow.session.flush()
        asked = {"requests": [{"message": "Which floor?"}, {"message": "Send the 平面图"}]}
        tasks: list[dict[str, Any]] = [
            {
                "id": "t-golden-1",
                "step_id": "tax_clearance",
                "kind": "automated",
                "department": "tax",
                "state": "completed",
                "output": {"status": "cleared"},
                "sla_due_at": datetime(2027, 2, 2, 17, 0, tzinfo=UTC),
                "completed_at": datetime(2027, 2, 1, 9, 31, 2, 5, tzinfo=UTC),
                "created_at": datetime(2027, 2, 1, 9, 30, tzinfo=UTC),
            },
            {
                "id": "t-golden-2",
                "step_id": "licensing_review",
                "kind": "human",
                "department": "local-admin",
                "role": "licensing-officer",
                "state": "awaiting_applicant",
                "output": asked,
                "escalated": True,
                "escalated_to": "supervisor",
                "sla_due_at": datetime(2027, 2, 4, 17, 0, tzinfo=UTC),
                "created_at": datetime(2027, 2, 1, 9, 31, tzinfo=UTC),
            },
            {
                "id": "t-golden-3",
                "step_id": "register_activity",
                "kind": "automated",
                "state": "waiting",
                "created_at": datetime(2027, 2, 1, 9, 31, tzinfo=UTC),
            },
        ]
        for task in tasks:
            uow.session.add(
                TaskRow(
                    application_id=GOLDEN_ID,
                    idempotency_key=f"golden:{task['step_id']}",
                    input={"business_registration_number": "BR-2019-004211"},
                    updated_at=task["created_at"],
                    **task,
                )
            )
        entries = [
            (datetime(2027, 2, 1, 9, 30, tzinfo=UTC), "submitted", None, None,
             "Application received", True),
            (datetime(2027, 2, 1, 9, 31, 2, 5, tzinfo=UTC), "step.completed", "tax_clearance",
             "tax", "Tax clearance: cleared", True),
            (datetime(2027, 2, 2, 10, 0, tzinfo=UTC), "case.note", "licensing_review",
             "local-admin", "internal: phone the landlord", False),
            (datetime(2027, 2, 3, 14, 5, 7, tzinfo=UTC), "information.requested",
             "licensing_review", "local-admin", "Send the 平面图", True),
        ]  # fmt: skip
        for at, what, step, department, message, seen in entries:
            uow.session.add(
                TimelineRow(
                    application_id=GOLDEN_ID,
                    at=at,
                    event=what,
                    step_id=step,
                    department=department,
                    message=message,
                    visible_to_applicant=seen,
                )
            )
        await uow.commit()


# The answers as stored: SQLite keeps the JSON as written, PostgreSQL's jsonb orders an object's
# keys by length, then bytewise (``ratio`` < ``seating`` < ``premises`` < ...).
GOLDEN_DATA = {
    "sqlite": '{"business_name":"金龙 Kitchen \\"Ltd\\"","seating":40,"grease_trap":true,'
    '"opening_date":"2099-03-01","premises":{"street":"12 Harbour Street","floor":null},'
    '"ratio":0.5}',
    "postgresql": '{"ratio":0.5,"seating":40,"premises":{"floor":null,"street":"12 Harbour '
    'Street"},"grease_trap":true,"opening_date":"2099-03-01","business_name":"金龙 Kitchen '
    '\\"Ltd\\""}',
}
GOLDEN_BODY = (
    '{"application":{"id":"01JNGOLDEN0STATUS0READ0001","reference":"RST-2027-900001",'
    '"service":"open-a-restaurant","blueprint_version":5,"state":"awaiting_applicant",'
    '"data":DATA,"submitted_at":"2027-02-01T09:30:00Z",'
    '"updated_at":"2027-02-03T14:05:07.123456Z"},'
    '"deadline_at":"2027-03-15T17:00:00Z","clock_stopped_at":"2027-02-03T14:05:07Z",'
    '"outcome_reason":null,'
    '"steps":['
    '{"step":"tax_clearance","kind":"automated","department":"tax","state":"completed",'
    '"expected_by":"2027-02-02T17:00:00Z","completed_at":"2027-02-01T09:31:02.000005Z",'
    '"escalated":false,"escalated_to":null},'
    '{"step":"licensing_review","kind":"human","department":"local-admin",'
    '"state":"awaiting_applicant","expected_by":"2027-02-04T17:00:00Z","completed_at":null,'
    '"escalated":true,"escalated_to":"supervisor"},'
    '{"step":"register_activity","kind":"automated","department":null,"state":"waiting",'
    '"expected_by":null,"completed_at":null,"escalated":false,"escalated_to":null}],'
    '"timeline":['
    '{"at":"2027-02-01T09:30:00Z","event":"submitted","step":null,"department":null,'
    '"message":"Application received"},'
    '{"at":"2027-02-01T09:31:02.000005Z","event":"step.completed","step":"tax_clearance",'
    '"department":"tax","message":"Tax clearance: cleared"},'
    '{"at":"2027-02-03T14:05:07Z","event":"information.requested","step":"licensing_review",'
    '"department":"local-admin","message":"Send the 平面图"}],'
    '"timeline_next":null,"timeline_previous":null}'
)


async def test_the_answer_is_the_same_byte_for_byte(
    container: Container, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    await _golden_application(container)
    alice = await sign_in(container, "alice")
    read = await client.get(status_of(GOLDEN_ID), headers=cookie(alice))
    assert read.status_code == 200, read.text
    assert read.headers["content-type"] == "application/json"
    assert "link" not in read.headers  # one page: no neighbours
    backend = container.database.engine.dialect.name
    assert read.content == GOLDEN_BODY.replace("DATA", GOLDEN_DATA[backend]).encode()
    assert await read_log(container) == [
        (
            GOLDEN_ID,
            "dev-login:alice",
            ["business_name", "grease_trap", "opening_date", "premises", "ratio", "seating"],
        )
    ]


async def test_the_service_answers_the_portal_the_fee_and_the_open_question(
    container: Container, clock: FixedClock
) -> None:
    await _golden_application(container)
    status = await application_status(
        container.uow(), clock, persona(container, "alice"), GOLDEN_ID
    )
    assert status == ApplicationStatus(
        application=ApplicationView(
            id=GOLDEN_ID,
            reference="RST-2027-900001",
            service_id="open-a-restaurant",
            blueprint_version=5,
            blueprint_version_id=status.application.blueprint_version_id,
            state=ApplicationState.AWAITING_APPLICANT,
            data={
                "business_name": '金龙 Kitchen "Ltd"',
                "seating": 40,
                "grease_trap": True,
                "opening_date": "2099-03-01",
                "premises": {"street": "12 Harbour Street", "floor": None},
                "ratio": 0.5,
            },
            submitted_at=datetime(2027, 2, 1, 9, 30, tzinfo=UTC),
            updated_at=datetime(2027, 2, 3, 14, 5, 7, 123456, tzinfo=UTC),
            deadline_at=datetime(2027, 3, 15, 17, 0, tzinfo=UTC),
            outcome_reason=None,
            clock_stopped_at=datetime(2027, 2, 3, 14, 5, 7, tzinfo=UTC),
        ),
        steps=[
            StepStatus(
                step_id="tax_clearance",
                kind="automated",
                department="tax",
                state=TaskState.COMPLETED,
                expected_by=datetime(2027, 2, 2, 17, 0, tzinfo=UTC),
                completed_at=datetime(2027, 2, 1, 9, 31, 2, 5, tzinfo=UTC),
                escalated=False,
                escalated_to=None,
                open_request=None,
            ),
            StepStatus(
                step_id="licensing_review",
                kind="human",
                department="local-admin",
                state=TaskState.AWAITING_APPLICANT,
                expected_by=datetime(2027, 2, 4, 17, 0, tzinfo=UTC),
                completed_at=None,
                escalated=True,
                escalated_to="supervisor",
                open_request="Send the 平面图",
            ),
            StepStatus(
                step_id="register_activity",
                kind="automated",
                department=None,
                state=TaskState.WAITING,
                expected_by=None,
                completed_at=None,
                escalated=False,
                escalated_to=None,
                open_request=None,
            ),
        ],
        timeline=[
            TimelineEntry(
                at=datetime(2027, 2, 1, 9, 30, tzinfo=UTC),
                event="submitted",
                step_id=None,
                department=None,
                message="Application received",
            ),
            TimelineEntry(
                at=datetime(2027, 2, 1, 9, 31, 2, 5, tzinfo=UTC),
                event="step.completed",
                step_id="tax_clearance",
                department="tax",
                message="Tax clearance: cleared",
            ),
            TimelineEntry(
                at=datetime(2027, 2, 3, 14, 5, 7, tzinfo=UTC),
                event="information.requested",
                step_id="licensing_review",
                department="local-admin",
                message="Send the 平面图",
            ),
        ],
        fee={"total": "120.00", "currency": "EUR"},
        timeline_older=None,
        timeline_newer=None,
    )
    assert isinstance(status.application.state, ApplicationState)
    assert [type(s.state) for s in status.steps] == [TaskState] * 3
