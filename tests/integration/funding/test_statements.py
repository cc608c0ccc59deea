"""After the demo load generator, every statement figure is recomputed here from the raw tables
(SQL written in this test, the 2026-27 tariff's rates and allowances copied by hand) and
matches the statement page, its CSV and the text of its PDF, for every department and month
of the load (SQLite and PostgreSQL). Reading a statement is audited."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import httpx
from pypdf import PdfReader
from sqlalchemy import text

from civicloom.audit import fold_reads
from civicloom.funding import rebuild_days
from civicloom.identity import create_api_key
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.funding.conftest import Funded
from tests.kpiwork import run_kpi_jobs

HTML = {"Accept": "text/html"}
OWNER = "local-admin"  # owns open-a-restaurant: applications, messages and payments are its
DEPARTMENTS = ("local-admin", "environment", "labour", "tax")
NAMES = {  # blueprints/departments/*.yaml, by hand
    "local-admin": "Local Administration",
    "environment": "Environment Department",
    "labour": "Labour Office",
    "tax": "Tax Authority",
}
# blueprints/tariffs/2026-27.yaml and 2027-28.yaml, by hand
RATES = {
    "applications": 40,
    "steps": 5,
    "officer-tasks": 20,
    "email": 1,
    "sms": 0,
    "portal": 0,
    "payments": 25,
    "applications-handled": 10,
    "officer-minutes": 0,
    "sms-fragments": 4,
    "letters": 60,
    "provider-fees": 30,
    "storage-mb-days": 0,  # 1 in the file, but documents are a fixed share: nothing per unit
    "register-reads": 2,
    "api-calls": 1,
}
COMPONENT = {
    "applications": "orchestration",
    "steps": "orchestration",
    "officer-tasks": "orchestration",
    "email": "notifications",
    "sms": "notifications",
    "portal": "notifications",
    "payments": "payments",
    "applications-handled": "orchestration",
    "officer-minutes": "orchestration",
    "sms-fragments": "notifications",
    "letters": "notifications",
    "provider-fees": "payments",
    "storage-mb-days": "documents",
    "register-reads": "registers",
    "api-calls": "orchestration",
}
LABEL = {  # what the PDF calls each meter (in English)
    "applications": "Applications submitted",
    "steps": "Steps executed",
    "officer-tasks": "Officer tasks",
    "email": "E-mails",
    "sms": "Text messages",
    "portal": "Portal messages",
    "payments": "Payments processed",
    "applications-handled": "Applications handled",
    "officer-minutes": "Officer time (minutes)",
    "sms-fragments": "Text message parts",
    "letters": "Letters and PDFs",
    "provider-fees": "Payment provider fees",
    "storage-mb-days": "Storage (MB-days)",
    "register-reads": "Register reads",
    "api-calls": "API calls",
}
FUNDING = {"documents": "fixed-share"}  # every other metered component is per-use
DEFAULT_ALLOWANCE = {
    "applications": 10,
    "steps": 20,
    "officer-tasks": 10,
    "email": 20,
    "sms": 5,
    "payments": 5,
    "applications-handled": 10,
    "sms-fragments": 5,
    "register-reads": 50,
    "api-calls": 1000,
}
LABOUR_ALLOWANCE = {
    "applications": 5,
    "steps": 10,
    "officer-tasks": 5,
    "email": 10,
    "sms": 2,
    "payments": 2,
    "applications-handled": 5,
    "sms-fragments": 2,
    "register-reads": 20,
    "api-calls": 500,
}
DUPLICATE = {
    "orchestration": 12_000_000,
    "notifications": 1_500_000,
    "payments": 3_000_000,
    "registers": 900_000,
    "identity": 2_500_000,
    "documents": 1_800_000,
}
DOCUMENT_SHARE = {"local-admin": 40, "environment": 20, "labour": 20, "tax": 20}
# GSM 03.38: the default alphabet, and the extension characters that take two septets
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_TWO = set("^{}\\[~]|€\f")


def _ts(value: object) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    at = value if value.tzinfo else value.replace(tzinfo=UTC)
    return at.astimezone(UTC)


def _day(value: object) -> date:
    return _ts(value).date()


def _json(value: object) -> dict[str, object]:
    return json.loads(value) if isinstance(value, str) else value  # type: ignore[return-value]


def _fragments(body: str) -> int:
    if all(c in GSM7 or c in GSM7_TWO for c in body):
        units = len(body) + sum(1 for c in body if c in GSM7_TWO)
        return 1 if units <= 160 else (units + 152) // 153
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else (units + 66) // 67


Event = tuple[date, str, str, int, int]  # day, department, meter, quantity, amount


async def _raw_events(container: Container, first: date, last: date) -> list[Event]:
    """Every metered event from the raw tables (SQL written here), once the reads recorded are
    folded into the audit chains as the worker folds them (ADR 0073)."""
    await fold_reads(container.uow())
    out: list[Event] = []
    async with container.uow() as uow:
        run = uow.session.execute
        for (at,) in await run(text("SELECT submitted_at FROM applications")):
            out.append((_day(at), OWNER, "applications", 1, 0))
        officer: list[tuple[str, str, datetime]] = []
        for task, at, dept, kind, given in await run(
            text(
                "SELECT id, completed_at, department, kind, input "
                "FROM application_tasks WHERE state = 'completed'"
            )
        ):
            if kind == "payment":
                amount = round(float(str(_json(given)["amount"])) * 100)
                out.append((_day(at), OWNER, "payments", 1, amount))
                out.append((_day(at), OWNER, "provider-fees", 1, 0))
            elif kind == "officer_review":
                out.append((_day(at), dept or OWNER, "officer-tasks", 1, 0))
                officer.append((str(task), dept or OWNER, _ts(at)))
            else:
                out.append((_day(at), dept or OWNER, "steps", 1, 0))
        for dept, at in await run(
            text(
                "SELECT department, min(completed_at) FROM application_tasks "
                "WHERE state = 'completed' GROUP BY application_id, department"
            )
        ):
            out.append((_day(at), dept or OWNER, "applications-handled", 1, 0))
        claimed: dict[str, datetime] = {}
        for details, at in await run(
            text(
                "SELECT details, occurred_at FROM audit_entries WHERE action IN "
                "('task.claimed', 'task.assigned', 'task.taken_over')"
            )
        ):
            task = str(_json(details)["task"])
            claimed[task] = min(claimed.get(task, _ts(at)), _ts(at))
        seconds: dict[tuple[date, str], int] = defaultdict(int)
        for task, dept, at in officer:
            if task in claimed:
                seconds[(at.date(), dept)] += int((at - claimed[task]).total_seconds())
        for (day, dept), total in seconds.items():
            out.append((day, dept, "officer-minutes", total // 60, 0))
        for at, channel, body in await run(
            text(
                "SELECT sent_at, channel, body_text FROM notification_deliveries "
                "WHERE sent_at IS NOT NULL AND application_id IS NOT NULL"
            )
        ):
            out.append((_day(at), OWNER, str(channel), 1, 0))
            if channel == "sms":
                out.append((_day(at), OWNER, "sms-fragments", _fragments(str(body)), 0))
        for at, dept in await run(text("SELECT issued_at, issuing_department FROM licences")):
            out.append((_day(at), str(dept), "letters", 1, 0))
        for at, reader in await run(text("SELECT read_at, reader FROM registry_data_use")):
            out.append((_day(at), str(reader), "register-reads", 1, 0))
        for at, client in await run(
            text(
                "SELECT a.occurred_at, c.department FROM audit_entries a JOIN identity_api_clients"
                " c ON a.actor_subject = 'client:' || c.prefix"
            )
        ):
            out.append((_day(at), str(client), "api-calls", 1, 0))
        stored: dict[date, int] = defaultdict(int)  # bytes at each day's end (all local-admin's)
        for size, at, purged in await run(
            text("SELECT size_bytes, uploaded_at, purged_at FROM documents")
        ):
            day = max(_day(at), first)
            while day <= last and (purged is None or day < _day(purged)):
                stored[day] += int(size)
                day = date.fromordinal(day.toordinal() + 1)
        for day, total in stored.items():
            out.append((day, OWNER, "storage-mb-days", total // 1_000_000, 0))
    return out


SMS_BODIES = (
    "a" * 160,  # one GSM-7 message
    "b" * 161,  # two parts of 153
    "€" * 80,  # 160 septets (the euro sign takes two): one message
    "汉" * 71,  # UCS-2: two parts of 67
)


async def _receipts(container: Container, funded: Funded) -> None:
    """The load generator does not relay the outbox, so the providers' receipts are written
    here: four SMS, an e-mail and a portal message on days of the load, and a 5 MB upload kept
    for three days (bytes at each day's end: storage)."""
    app = funded.report.application_ids[0]
    async with container.uow() as uow:
        (submitted,) = (
            await uow.session.execute(
                text("SELECT submitted_at FROM applications WHERE id = :id"), {"id": app}
            )
        ).one()
        at = _ts(submitted)
        rows = [("sms", body) for body in SMS_BODIES] + [("email", "e"), ("portal", "p")]
        for i, (channel, body) in enumerate(rows):
            sent = at + timedelta(days=i % 3, hours=1)
            await uow.session.execute(
                text(
                    "INSERT INTO notification_deliveries (id, source_key, application_id, "
                    "recipient_id, channel, address, template, template_version, locale, "
                    "subject, body_text, body_html, status, attempts, created_at, sent_at) "
                    "VALUES (:id, :id, :app, 'alice', :channel, 'x', 't', '1', 'en', "
                    "'s', :body, '', 'sent', 1, :sent, :sent)"
                ),
                {"id": f"receipt-{i}", "app": app, "channel": channel, "body": body, "sent": sent},
            )
        await uow.session.execute(
            text(
                "INSERT INTO documents (id, application_id, document_type, filename, media_type, "
                "size_bytes, sha256, storage, storage_key, uploaded_by, uploaded_at, "
                "retain_until, purged_at) VALUES ('plan-1', :app, 'floor_plan', 'plan.pdf', "
                "'application/pdf', 5000000, :sha, 'local', 'funding-test-plan', 'alice', :at, "
                ":until, :purged)"
            ),
            {
                "app": app,
                "sha": "0" * 64,
                "at": at,
                "until": at + timedelta(days=3),
                "purged": at + timedelta(days=3),
            },
        )
        await uow.commit()


def _year_of(month: date) -> tuple[date, date]:
    start = date(month.year if month.month >= 4 else month.year - 1, 4, 1)
    return start, date(start.year + 1, 3, 31)


def _after(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _expected(events: list[Event], dept: str, month: date) -> dict[str, dict[str, int]]:
    """Per meter: month/ytd quantities and charges, the forecast; plus totals and avoided."""
    fy_start, fy_end = _year_of(month)
    after = _after(month)
    days = (fy_end - fy_start).days + 1
    today = datetime.now(UTC).date()
    elapsed = (min(after, date.fromordinal(today.toordinal() + 1)) - fy_start).days
    allowance = LABOUR_ALLOWANCE if dept == "labour" else DEFAULT_ALLOWANCE
    ytd: dict[str, int] = defaultdict(int)
    inm: dict[str, int] = defaultdict(int)
    value: dict[str, int] = defaultdict(int)
    for day, d, meter, quantity, amount in events:
        if d != dept or not fy_start <= day < after:
            continue
        ytd[meter] += quantity
        if day >= month:
            inm[meter] += quantity
            value[meter] += amount
    lines: dict[str, dict[str, int]] = {}
    used: dict[str, int] = defaultdict(int)
    for meter, rate in RATES.items():
        free = allowance.get(meter, 0)
        forecast_q = ytd[meter] * days // elapsed
        lines[meter] = {
            "month_quantity": inm[meter],
            "ytd_quantity": ytd[meter],
            "allowance": free,
            "month_charge_minor": rate
            * (max(0, ytd[meter] - free) - max(0, ytd[meter] - inm[meter] - free)),
            "ytd_charge_minor": rate * max(0, ytd[meter] - free),
            "forecast_quantity": forecast_q,
            "forecast_charge_minor": rate * max(0, forecast_q - free),
            "month_value_minor": value[meter],
        }
        if ytd[meter]:
            used[COMPONENT[meter]] += lines[meter]["forecast_charge_minor"]
    monthly = 2_400_000 * DOCUMENT_SHARE[dept] // 1200
    months = (month.year - fy_start.year) * 12 + month.month - 4 + 1
    lines["documents"] = {
        "month_charge_minor": monthly,
        "ytd_charge_minor": monthly * months,
        "forecast_charge_minor": monthly * 12,
    }
    used["documents"] = monthly * 12
    used["identity"] = 0
    avoided = sum(DUPLICATE[c] - charge for c, charge in used.items())
    lines["total"] = {
        "month": sum(x["month_charge_minor"] for x in lines.values()),
        "ytd": sum(x["ytd_charge_minor"] for x in lines.values()),
        "forecast": sum(x["forecast_charge_minor"] for x in lines.values()),
        "avoided": avoided,
    }
    return lines


def _money(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    return f"EUR {sign}{abs(minor) // 100:,}.{abs(minor) % 100:02d}"


def _months(first: date, last: date) -> list[date]:
    out, at = [], date(first.year, first.month, 1)
    while at <= last:
        out.append(at)
        at = _after(at)
    return out


async def test_every_statement_matches_the_raw_tables(
    container: Container, client: httpx.AsyncClient, funded_200: Funded
) -> None:
    """Issue 21's done-when: after ``civicloom demo loadgen 200`` (the same run through the real
    engine, in-process departments) every figure of every statement, every meter included."""
    funded = funded_200
    # A department's machine client reads an application through the API (an audited call).
    issued = await create_api_key(
        container.uow(),
        container.clock,
        name="Tax case system",
        department="tax",
        scopes=["tasks:read"],
    )
    async with container.uow() as uow:
        (task,) = (
            await uow.session.execute(
                text("SELECT id FROM application_tasks WHERE department = 'tax' LIMIT 1")
            )
        ).one()
    read = await client.get(
        f"/api/v1/tasks/{task}", headers={"Authorization": f"Bearer {issued.key}"}
    )
    assert read.status_code == 200, read.text
    await _receipts(container, funded)
    await rebuild_days(container.uow(), funded.first, funded.last)
    events = await _raw_events(container, funded.first, funded.last)
    used = {meter for _, _, meter, quantity, _ in events if quantity}
    assert used == set(RATES), "every meter was used"
    assert sum(q for _, _, m, q, _ in events if m == "sms-fragments") == 1 + 2 + 1 + 2
    assert sum(q for _, _, m, q, _ in events if m == "storage-mb-days") >= 5 * 3
    days = sorted(e[0] for e in events)
    months = _months(days[0], days[-1])
    omar = as_persona("omar")
    seen_charge = False
    for month in months:
        label = f"{month.year:04d}-{month.month:02d}"
        for dept in DEPARTMENTS:
            want = _expected(events, dept, month)
            base = f"/backoffice/funding/{dept}/{label}"
            # CSV
            answer = await client.get(f"{base}/statement.csv", headers=omar)
            assert answer.status_code == 200, answer.text
            rows = list(csv.DictReader(io.StringIO(answer.text)))
            by_meter = {r["meter"] or r["component"]: r for r in rows}
            for meter in RATES:
                got = by_meter[meter]
                for key, expected in want[meter].items():
                    assert int(got[key]) == expected, (dept, label, meter, key)
            assert (
                int(by_meter["documents"]["month_charge_minor"])
                == (want["documents"]["month_charge_minor"])
            )
            total = by_meter["total"]
            assert int(total["month_charge_minor"]) == want["total"]["month"]
            assert int(total["ytd_charge_minor"]) == want["total"]["ytd"]
            assert int(total["forecast_charge_minor"]) == want["total"]["forecast"]
            assert (
                int(by_meter["cost-avoided"]["forecast_charge_minor"]) == (want["total"]["avoided"])
            )
            seen_charge = (
                seen_charge or want["total"]["ytd"] > want["documents"]["ytd_charge_minor"]
            )
            # page
            page = await client.get(base, headers={**omar, **HTML})
            assert page.status_code == 200
            totals = re.findall(r'data-total="\d">([^<]+)<', page.text)
            assert totals == [
                _money(want["total"]["month"]),
                _money(want["total"]["ytd"]),
                _money(want["total"]["forecast"]),
                _money(want["total"]["avoided"]),
            ]
            for meter in RATES:
                row = re.search(rf'data-meter="{meter}">(.*?)</tr>', page.text, re.S)
                assert row is not None
                cells = re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row.group(1))
                assert cells[3:] == [
                    str(want[meter]["month_quantity"]),
                    str(want[meter]["ytd_quantity"]),
                    str(want[meter]["allowance"]),
                    _money(want[meter]["month_charge_minor"]),
                    _money(want[meter]["ytd_charge_minor"]),
                    _money(want[meter]["forecast_charge_minor"]),
                ], (dept, label, meter)
            # PDF
            pdf = await client.get(f"{base}/statement.pdf", headers=omar)
            assert pdf.status_code == 200
            assert pdf.headers["content-type"] == "application/pdf"
            body = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
            assert f"Department: {dept}" in body
            assert f"Month: {label}" in body
            assert f"Charged this month: {_money(want['total']['month'])}" in body
            assert f"Charged year to date: {_money(want['total']['ytd'])}" in body
            assert f"Forecast for the year: {_money(want['total']['forecast'])}" in body
            assert f"Cost avoided this year: {_money(want['total']['avoided'])}" in body
            cells = body.splitlines()  # one text run per table cell, row by row
            for meter in RATES:
                funding = FUNDING.get(COMPONENT[meter], "per-use")
                at = next(
                    i for i, c in enumerate(cells) if c == LABEL[meter] and cells[i - 1] == funding
                )
                assert cells[at + 1 : at + 7] == [
                    str(want[meter]["month_quantity"]),
                    str(want[meter]["ytd_quantity"]),
                    str(want[meter]["allowance"]),
                    _money(want[meter]["month_charge_minor"]),
                    _money(want[meter]["ytd_charge_minor"]),
                    _money(want[meter]["forecast_charge_minor"]),
                ], (dept, label, meter)
    assert seen_charge, "the load went past some allowance"
    # Every read was audited, as whom and how.
    async with container.uow() as uow:
        audited = list(
            await uow.session.execute(
                text(
                    "SELECT actor, subject_id, count(*) FROM audit_entries "
                    "WHERE action = 'funding.statement_read' GROUP BY actor, subject_id"
                )
            )
        )
    assert len(audited) == len(months) * len(DEPARTMENTS)
    assert {row[0] for row in audited} == {"omar"}
    assert {row[2] for row in audited} == {3}


async def test_cost_avoided_on_the_public_performance_page(
    container: Container, client: httpx.AsyncClient, funded: Funded
) -> None:
    events = await _raw_events(container, funded.first, funded.last)
    today = datetime.now(UTC).date()
    month = date(today.year, today.month, 1)
    avoided = {d: _expected(events, d, month)["total"]["avoided"] for d in DEPARTMENTS}
    await run_kpi_jobs(container)  # the worker stores the report (ADR 0082)
    page = await client.get("/performance/open-a-restaurant", headers=HTML)
    assert page.status_code == 200
    assert "Cost avoided by sharing the platform" in page.text
    for dept, amount in avoided.items():
        name = NAMES[dept]  # departments by name, not id (h-labels)
        assert re.search(rf">{name}</th><td[^>]*>{re.escape(_money(amount))}</td>", page.text), dept
    assert f'id="cost-avoided-total">{_money(sum(avoided.values()))}<' in page.text
    # The public page reads no statement as anyone: nothing audited.
    async with container.uow() as uow:
        (count,) = (
            await uow.session.execute(
                text("SELECT count(*) FROM audit_entries WHERE action = 'funding.statement_read'")
            )
        ).one()
    assert count == 0


async def test_statement_in_chinese(client: httpx.AsyncClient, funded: Funded) -> None:
    today = datetime.now(UTC).date()
    zh = {"Accept": "text/html", "Accept-Language": "zh-Hans", **as_persona("farah")}
    page = await client.get(f"/backoffice/funding/labour/{today:%Y-%m}", headers=zh)
    assert page.status_code == 200
    assert "本月收费" in page.text
    assert "全年预测" in page.text
    assert "Charged this month" not in page.text
    assert "短信分段" in page.text  # the meters by their Chinese names
    pdf = await client.get(f"/backoffice/funding/labour/{today:%Y-%m}/statement.pdf", headers=zh)
    assert pdf.status_code == 200
    body = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "本月收费" in body
    assert "短信分段" in body
