"""The daily usage fact table: rebuilt from the platform's own records, idempotently, and a
late record lands in the day its own timestamp says (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import text

from civicloom.bootstrap import build_worker
from civicloom.funding import Meter, build_recent_facts, load_tariffs, read_facts, rebuild_days
from civicloom.runtime import Container
from civicloom.settings import Settings
from tests.integration.funding.conftest import LOAD, Funded


class At:
    """A fixed clock."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


async def _raw(container: Container, sql: str, **params: object) -> list[tuple[object, ...]]:
    async with container.uow() as uow:
        rows = await uow.session.execute(text(sql), params)
        return [tuple(r) for r in rows]


def _json(value: object) -> dict[str, object]:
    return json.loads(value) if isinstance(value, str) else value  # type: ignore[return-value]


async def test_rebuilding_twice_gives_identical_rows(container: Container, funded: Funded) -> None:
    once = await read_facts(container.uow(), funded.first, funded.last)
    assert once, "the load produced facts"
    applications = sum(f.quantity for f in once if f.meter == Meter.APPLICATIONS)
    assert applications == LOAD
    again = await rebuild_days(container.uow(), funded.first, funded.last)
    twice = await read_facts(container.uow(), funded.first, funded.last)
    assert twice == once
    assert again == once
    # and the raw table holds exactly those rows: no duplicates, no leftovers
    (count,) = (await _raw(container, "SELECT count(*) FROM funding_usage_facts"))[0]
    assert count == len(once)


async def test_every_fact_matches_the_raw_records(container: Container, funded: Funded) -> None:
    facts = await read_facts(container.uow(), funded.first, funded.last)
    by_meter: dict[str, int] = {}
    for f in facts:
        by_meter[f.meter.value] = by_meter.get(f.meter.value, 0) + f.quantity
    (apps,) = (await _raw(container, "SELECT count(*) FROM applications"))[0]
    (officer,) = (
        await _raw(
            container,
            "SELECT count(*) FROM application_tasks WHERE state = 'completed' "
            "AND kind = 'officer_review'",
        )
    )[0]
    (steps,) = (
        await _raw(
            container,
            "SELECT count(*) FROM application_tasks WHERE state = 'completed' "
            "AND kind NOT IN ('officer_review', 'payment')",
        )
    )[0]
    inputs = await _raw(
        container,
        "SELECT input FROM application_tasks WHERE state = 'completed' AND kind = 'payment'",
    )
    paid = len(inputs)
    value = sum(round(float(str(_json(i)["amount"])) * 100) for (i,) in inputs)
    sms = (
        await _raw(
            container,
            "SELECT count(*) FROM notification_deliveries WHERE sent_at IS NOT NULL "
            "AND channel = 'sms' AND application_id IS NOT NULL",
        )
    )[0][0]
    assert by_meter.get("applications", 0) == apps == LOAD
    assert by_meter.get("officer-tasks", 0) == officer
    assert by_meter.get("steps", 0) == steps
    assert by_meter.get("payments", 0) == paid
    assert sum(f.amount_minor for f in facts if f.meter == Meter.PAYMENTS) == value
    assert by_meter.get("sms", 0) == sms
    assert officer > 0
    assert steps > 0
    assert paid > 0


async def test_a_late_record_lands_in_its_own_day(container: Container, funded: Funded) -> None:
    today = funded.last
    yesterday = today - timedelta(days=1)
    # The worker has built every day up to today.
    noon = datetime.combine(today, time(12), tzinfo=UTC)
    tariffs = load_tariffs(container.settings.blueprints_dir)
    await build_recent_facts(container.uow(), At(noon), tariffs)
    before = await read_facts(container.uow(), yesterday, today)
    (app_id,) = (await _raw(container, "SELECT id FROM applications ORDER BY id LIMIT 1"))[0]
    # An SMS sent late yesterday evening is recorded only now (a delayed provider receipt).
    late = datetime.combine(yesterday, time(23, 50), tzinfo=UTC)
    async with container.uow() as uow:
        await uow.session.execute(
            text(
                "INSERT INTO notification_deliveries (id, source_key, application_id, "
                "recipient_id, channel, address, template, template_version, locale, subject, "
                "body_text, body_html, status, attempts, created_at, sent_at) VALUES "
                "('late-sms-1', 'late', :app, 'alice', 'sms', '+4915550100', 't', '1', 'en', "
                "'s', 'b', '', 'sent', 1, :created, :sent)"
            ),
            {"app": app_id, "created": noon, "sent": late},
        )
        await uow.commit()
    await build_recent_facts(container.uow(), At(noon + timedelta(minutes=10)), tariffs)
    after = await read_facts(container.uow(), yesterday, today)

    def sms(facts: list, day: date) -> int:  # type: ignore[type-arg]
        return sum(
            f.quantity
            for f in facts
            if f.day == day and f.meter == Meter.SMS and f.department == "local-admin"
        )

    assert sms(after, yesterday) == sms(before, yesterday) + 1
    assert sms(after, today) == sms(before, today)
    assert [f for f in after if f.day == today] == [f for f in before if f.day == today]


async def test_the_worker_job_builds_the_facts(
    settings: Settings, container: Container, funded: Funded
) -> None:
    """The worker's ``usage-facts`` job (wired by bootstrap) builds, on an empty table, the
    same rows from the start of the financial year as a rebuild of those days."""
    tariffs = load_tariffs(container.settings.blueprints_dir)
    year_start = tariffs.for_day(funded.last).starts
    expected = await read_facts(container.uow(), year_start, funded.last)
    async with container.uow() as uow:
        await uow.session.execute(text("DELETE FROM funding_usage_facts"))
        await uow.commit()
    worker = build_worker(settings, worker_id="funding-test")
    try:
        job = next(j for j in worker.periodic if j.name == "usage-facts")
        assert await job.run() == len(expected)
        newest = max(f.day for f in expected)
        # again: from the day before the newest facts, or the last 7 days if that is earlier
        since = min(newest - timedelta(days=1), funded.last - timedelta(days=7))
        recent = [f for f in expected if f.day >= since]
        assert await job.run() == len(recent)
    finally:
        await worker.publisher.close()
        await worker.container.close()
        await worker.container.database.dispose()
    assert await read_facts(container.uow(), year_start, funded.last) == expected
    (count,) = (await _raw(container, "SELECT count(*) FROM funding_usage_facts"))[0]
    assert count == len(expected)


# blueprints/departments/*.yaml, by hand: each department's connector
CONNECTOR_KIND = {"local-admin": "soap", "tax": "rest", "environment": "callback", "labour": "amqp"}


async def test_steps_per_department_and_connector_kind(
    container: Container, funded: Funded
) -> None:
    facts = await read_facts(container.uow(), funded.first, funded.last)
    got: dict[tuple[str, str], int] = {}
    for f in facts:
        if f.meter == Meter.STEPS:
            got[(f.department, f.detail)] = got.get((f.department, f.detail), 0) + f.quantity
    want: dict[tuple[str, str], int] = {}
    for dept, capability in await _raw(
        container,
        "SELECT department, capability FROM application_tasks WHERE state = 'completed' "
        "AND kind NOT IN ('officer_review', 'payment')",
    ):
        system = str(capability).split(".")[0] if capability else ""
        key = (str(dept or "local-admin"), CONNECTOR_KIND[system] if capability else "platform")
        want[key] = want.get(key, 0) + 1
    assert got == want
    assert {kind for _, kind in got} >= {"soap", "rest", "callback", "amqp", "platform"}


async def test_a_record_days_late_is_picked_up_by_the_worker_job(
    container: Container, funded: Funded
) -> None:
    """Older than the day before the newest facts, but within the rebuild window (7 days):
    the next run of the job counts it in its own day, no manual rebuild."""
    today = funded.last
    noon = datetime.combine(today, time(12), tzinfo=UTC)
    tariffs = load_tariffs(container.settings.blueprints_dir)
    await build_recent_facts(container.uow(), At(noon), tariffs)
    five_days_ago = today - timedelta(days=5)
    before = await read_facts(container.uow(), five_days_ago, five_days_ago)
    (app_id,) = (await _raw(container, "SELECT id FROM applications ORDER BY id LIMIT 1"))[0]
    async with container.uow() as uow:
        await uow.session.execute(
            text(
                "INSERT INTO notification_deliveries (id, source_key, application_id, "
                "recipient_id, channel, address, template, template_version, locale, subject, "
                "body_text, body_html, status, attempts, created_at, sent_at) VALUES "
                "('late-sms-5', 'late-5', :app, 'alice', 'sms', '+4915550100', 't', '1', 'en', "
                "'s', :body, '', 'sent', 1, :created, :sent)"
            ),
            {
                "app": app_id,
                "body": "x" * 200,  # two parts
                "created": noon,
                "sent": datetime.combine(five_days_ago, time(9), tzinfo=UTC),
            },
        )
        await uow.commit()
    await build_recent_facts(container.uow(), At(noon + timedelta(minutes=10)), tariffs)
    after = await read_facts(container.uow(), five_days_ago, five_days_ago)

    def count(facts: list, meter: Meter) -> int:  # type: ignore[type-arg]
        return sum(f.quantity for f in facts if f.meter == meter)

    assert count(after, Meter.SMS) == count(before, Meter.SMS) + 1
    assert count(after, Meter.SMS_FRAGMENTS) == count(before, Meter.SMS_FRAGMENTS) + 2
