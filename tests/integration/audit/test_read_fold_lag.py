"""``civicloom audit verify`` says when reads of personal data wait too long to be folded into
their chains (ADR 0081, after ADR 0073): the worker's ``audit-read-fold`` job folds them within
seconds, so a read older than ``audit_read_fold_warn_seconds`` (5 minutes by default) means the
fold has stopped. The chains are still intact, so this is a warning with its own exit code (3),
not a failure (1).

Ages are against the real clock the command reads: the reads are written 7 min 30 s old (or
just now), 30 s away from the whole minutes the message names, so a slow run cannot change it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

from civicloom.applications import Forbidden
from civicloom.audit import AuditAction, AuditRecord, fold_reads, record_read, verify_audit
from civicloom.audit.cli import app as audit_app
from civicloom.backoffice.oversight import operator_status
from civicloom.kernel import FixedClock
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.world import persona

STALE = timedelta(minutes=7, seconds=30)
WARNING = (
    "warning: 2 read(s) of personal data have waited more than 300 s to be folded into their "
    "chains, the oldest for 7 min: is the worker's audit-read-fold job running?"
)


def read(app: str, at: datetime) -> AuditRecord:
    return AuditRecord(
        actor="dev-login:olivia",
        action=AuditAction.APPLICATION_READ,
        subject_type="application",
        subject_id=app,
        occurred_at=at,
        department="local-admin",
        purpose="an officer reviews the application",
        fields=("business_name",),
        details={},
    )


async def record(container: Container, *records: AuditRecord) -> None:
    async with container.uow() as uow:
        for r in records:
            record_read(uow.session, r)
        await uow.commit()


async def verify_command(
    container: Container, monkeypatch: pytest.MonkeyPatch, **env: str
) -> Result:
    """``civicloom audit verify`` on the container's database, as from a shell."""
    monkeypatch.setenv("CIVICLOOM_DATABASE_URL", container.settings.effective_database_url)
    monkeypatch.setenv("CIVICLOOM_VAR_DIR", str(container.settings.var_dir))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    from civicloom.settings import get_settings

    get_settings.cache_clear()
    try:
        # the command runs its own event loop: in a thread, as from a shell
        return await asyncio.to_thread(
            CliRunner().invoke, audit_app, ["verify"], env={"COLUMNS": "400"}
        )
    finally:
        get_settings.cache_clear()


def one_line(output: str) -> str:
    return " ".join(output.split())


async def test_reads_waiting_longer_than_the_limit_make_verify_warn(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    await record(container, read("lag-a", now - STALE), read("lag-b", now))

    result = await verify_command(container, monkeypatch)

    assert result.exit_code == 3, result.output
    assert WARNING in one_line(result.output)
    assert "audit intact:" in result.output  # the chains are fine: a warning, not tampering


async def test_fresh_reads_waiting_are_counted_but_not_a_warning(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    await record(container, read("lag-a", datetime.now(UTC)))

    result = await verify_command(container, monkeypatch)

    assert result.exit_code == 0, result.output
    assert "1 read(s) recorded and waiting to be folded" in one_line(result.output)
    assert "warning" not in result.output


async def test_the_limit_is_a_setting(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    await record(container, read("lag-a", now - STALE), read("lag-b", now))

    wider = await verify_command(
        container, monkeypatch, CIVICLOOM_AUDIT_READ_FOLD_WARN_SECONDS="600"
    )
    assert wider.exit_code == 0, wider.output
    assert "warning" not in wider.output

    narrower = await verify_command(
        container, monkeypatch, CIVICLOOM_AUDIT_READ_FOLD_WARN_SECONDS="60"
    )
    assert narrower.exit_code == 3, narrower.output
    assert "have waited more than 60 s to be folded" in one_line(narrower.output)


async def test_tampering_still_exits_1_and_the_warning_comes_too(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    await record(container, read("lag-a", now - STALE), read("lag-b", now))
    async with container.uow() as uow:
        await uow.session.execute(
            text(
                "UPDATE audit_entries SET purpose = 'marketing'"
                " WHERE seq = (SELECT min(seq) FROM audit_entries)"
            )
        )
        await uow.commit()

    result = await verify_command(container, monkeypatch)

    assert result.exit_code == 1, result.output
    assert "1 problem(s)" in result.output
    assert WARNING in one_line(result.output)


async def test_after_a_fold_nothing_is_waiting_and_nothing_is_reported(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    await record(container, read("lag-a", now - STALE), read("lag-b", now))
    assert await fold_reads(container.uow()) == 2

    result = await verify_command(container, monkeypatch)

    assert result.exit_code == 0, result.output
    assert "0 read(s) recorded and waiting to be folded" in one_line(result.output)
    assert "warning" not in result.output


async def test_the_report_names_the_oldest_waiting_read(container: Container) -> None:
    t0 = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)
    await record(container, read("lag-b", t0 + timedelta(seconds=5)), read("lag-a", t0))

    async with container.uow() as uow:
        before = await verify_audit(uow.session, None)
    assert (before.pending_reads, before.oldest_pending_read_at) == (2, t0)
    assert before.fold_lag(t0 + timedelta(minutes=6)) == timedelta(minutes=6)

    await fold_reads(container.uow())
    async with container.uow() as uow:
        after = await verify_audit(uow.session, None)
    assert (after.pending_reads, after.oldest_pending_read_at) == (0, None)
    assert after.fold_lag(t0 + timedelta(minutes=6)) is None


async def test_the_operator_status_carries_the_reads_waiting_and_the_oldest_wait(
    container: Container,
) -> None:
    t0 = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)
    await record(container, read("lag-b", t0 + timedelta(seconds=5)), read("lag-a", t0))
    clock = FixedClock(t0 + timedelta(minutes=7))
    priya = persona(container, "priya")

    status = await operator_status(container.uow, clock, priya)
    assert (status.reads_waiting, status.oldest_read_wait_seconds) == (2, 420.0)

    await fold_reads(container.uow())
    status = await operator_status(container.uow, clock, priya)
    assert (status.reads_waiting, status.oldest_read_wait_seconds) == (0, None)

    with pytest.raises(
        Forbidden
    ):  # an auditor verifies the chains; the operator page is not theirs
        await operator_status(container.uow, clock, persona(container, "ada"))


@pytest.mark.parametrize(
    ("language", "waiting", "oldest", "none_waiting"),
    [
        (
            "en",
            "Reads of personal data waiting to join the audit trail",
            "420 seconds",
            "None waiting",
        ),
        ("zh-CN", "等待加入审计记录的个人数据读取", "420 秒", "无等待"),
    ],
)
async def test_the_operator_page_shows_the_reads_waiting_in_words(
    container: Container,
    client: httpx.AsyncClient,
    language: str,
    waiting: str,
    oldest: str,
    none_waiting: str,
) -> None:
    t0 = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)
    await record(container, read("lag-b", t0 + timedelta(seconds=5)), read("lag-a", t0))
    container.clock = FixedClock(t0 + timedelta(minutes=7))
    page = {"Accept": "text/html", "Accept-Language": language, **as_persona("priya")}

    shown = await client.get("/backoffice/operations", headers=page)

    assert shown.status_code == 200
    assert waiting in shown.text
    assert '<dd class="govuk-summary-list__value" id="reads-waiting">2</dd>' in shown.text
    assert f'id="oldest-read">{oldest}</dd>' in shown.text
    await fold_reads(container.uow())
    folded = await client.get("/backoffice/operations", headers=page)
    assert '<dd class="govuk-summary-list__value" id="reads-waiting">0</dd>' in folded.text
    assert f'id="oldest-read">{none_waiting}</dd>' in folded.text
