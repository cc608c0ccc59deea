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
from datetime import UTC, date, datetime

import httpx
from pypdf import PdfReader
from sqlalchemy import text

from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.funding.conftest import Funded

HTML = {"Accept": "text/html"}
OWNER = "local-admin"  # owns open-a-restaurant: applications, messages and payments are its
DEPARTMENTS = ("local-admin", "environment", "labour", "tax")
# blueprints/tariffs/2026-27.yaml and 2027-28.yaml, by hand
RATES = {
    "applications": 40,
    "steps": 5,
    "officer-tasks": 20,
    "email": 1,
    "sms": 4,
    "portal": 0,
    "payments": 25,
}
COMPONENT = {
    "applications": "orchestration",
    "steps": "orchestration",
    "officer-tasks": "orchestration",
    "email": "notifications",
    "sms": "notifications",
    "portal": "notifications",
    "payments": "payments",
}
DEFAULT_ALLOWANCE = {
    "applications": 10,
    "steps": 20,
    "officer-tasks": 10,
    "email": 20,
    "sms": 5,
    "payments": 5,
}
LABOUR_ALLOWANCE = {
    "applications": 5,
    "steps": 10,
    "officer-tasks": 5,
    "email": 10,
    "sms": 2,
    "payments": 2,
}
DUPLICATE = {
    "orchestration": 12_000_000,
    "notifications": 1_500_000,
    "payments": 3_000_000,
    "identity": 2_500_000,
    "documents": 1_800_000,
}
DOCUMENT_SHARE = {"local-admin": 40, "environment": 20, "labour": 20, "tax": 20}


def _ts(value: object) -> date:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    at = value if value.tzinfo else value.replace(tzinfo=UTC)
    return at.astimezone(UTC).date()


def _json(value: object) -> dict[str, object]:
    return json.loads(value) if isinstance(value, str) else value  # type: ignore[return-value]


async def _raw_events(container: Container) -> list[tuple[date, str, str, int]]:
    """Every metered event from the raw tables: (day, department, meter, amount)."""
    out: list[tuple[date, str, str, int]] = []
    async with container.uow() as uow:
        run = uow.session.execute
        for (at,) in await run(text("SELECT submitted_at FROM applications")):
            out.append((_ts(at), OWNER, "applications", 0))
        for at, dept, kind, given in await run(
            text(
                "SELECT completed_at, department, kind, input FROM application_tasks "
                "WHERE state = 'completed'"
            )
        ):
            if kind == "payment":
                amount = round(float(str(_json(given)["amount"])) * 100)
                out.append((_ts(at), OWNER, "payments", amount))
            elif kind == "officer_review":
                out.append((_ts(at), dept or OWNER, "officer-tasks", 0))
            else:
                out.append((_ts(at), dept or OWNER, "steps", 0))
        for at, channel in await run(
            text(
                "SELECT sent_at, channel FROM notification_deliveries "
                "WHERE sent_at IS NOT NULL AND application_id IS NOT NULL"
            )
        ):
            out.append((_ts(at), OWNER, str(channel), 0))
    return out


def _year_of(month: date) -> tuple[date, date]:
    start = date(month.year if month.month >= 4 else month.year - 1, 4, 1)
    return start, date(start.year + 1, 3, 31)


def _after(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _expected(
    events: list[tuple[date, str, str, int]], dept: str, month: date
) -> dict[str, dict[str, int]]:
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
    for day, d, meter, amount in events:
        if d != dept or not fy_start <= day < after:
            continue
        ytd[meter] += 1
        if day >= month:
            inm[meter] += 1
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
    container: Container, client: httpx.AsyncClient, funded: Funded
) -> None:
    events = await _raw_events(container)
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
                at = next(
                    i for i, c in enumerate(cells) if c == meter and cells[i - 1] == "per-use"
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
    events = await _raw_events(container)
    today = datetime.now(UTC).date()
    month = date(today.year, today.month, 1)
    avoided = {d: _expected(events, d, month)["total"]["avoided"] for d in DEPARTMENTS}
    page = await client.get("/performance/open-a-restaurant", headers=HTML)
    assert page.status_code == 200
    assert "Cost avoided by sharing the platform" in page.text
    for dept, amount in avoided.items():
        assert re.search(rf">{dept}</th><td[^>]*>{re.escape(_money(amount))}</td>", page.text), dept
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
    pdf = await client.get(f"/backoffice/funding/labour/{today:%Y-%m}/statement.pdf", headers=zh)
    assert pdf.status_code == 200
    assert "本月收费" in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
