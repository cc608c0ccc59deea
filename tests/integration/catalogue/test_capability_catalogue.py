"""The capability catalogue (ADR 0051): who may read it (API and back-office page), what it
shows, and a department change that would break a published service refused at load."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from civicloom.audit.tables import AuditEntryRow
from civicloom.catalogue import register_department_contracts
from civicloom.cli import app
from civicloom.departments import load_departments
from civicloom.departments.tables import DepartmentRow
from civicloom.kernel import FieldError, ValidationFailed
from civicloom.runtime import Container
from civicloom.settings import PROJECT_ROOT, get_settings
from tests.conftest import as_persona

HTML = {"Accept": "text/html"}
ZH = {"Accept": "text/html", "Accept-Language": "zh-Hans"}


# -- who may not -----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["olivia", "grace", "fiona", "alice", "mei"])
async def test_officers_finance_officers_and_applicants_may_not_read_the_catalogue(
    client: httpx.AsyncClient, persona: str
) -> None:
    listed = await client.get("/api/v1/capabilities", headers=as_persona(persona))
    one = await client.get("/api/v1/capabilities/tax.clearance_check", headers=as_persona(persona))
    page = await client.get("/backoffice/capabilities", headers={**HTML, **as_persona(persona)})
    detail = await client.get(
        "/backoffice/capabilities/tax.clearance_check", headers={**HTML, **as_persona(persona)}
    )

    assert (listed.status_code, one.status_code) == (403, 403)
    assert listed.headers["content-type"] == "application/problem+json"
    assert listed.json()["type"].endswith("/problems/forbidden")
    # Nothing of a contract is shown (the problem's ``instance`` names the path asked for).
    assert "registration_number" not in listed.text + one.text
    assert (page.status_code, detail.status_code) == (403, 403)
    assert "registration_number" not in page.text + detail.text


async def test_nobody_signed_in_is_asked_to_sign_in(client: httpx.AsyncClient) -> None:
    api = await client.get("/api/v1/capabilities")
    page = await client.get("/backoffice/capabilities", headers=HTML)
    assert api.status_code == 401
    assert api.headers["content-type"] == "application/problem+json"
    assert page.status_code == 303
    assert page.headers["location"].startswith("/auth/")


# -- who may ---------------------------------------------------------------------------------

CLEARANCE: dict[str, Any] = {
    "id": "tax.clearance_check",
    "department": "tax",
    "department_name": {"en": "Tax Authority", "zh-Hans": "税务局"},
    "description": "Tax clearance of a business (POST /api/v1/clearance-checks).",
    "connector": "rest",
    "asynchronous": False,
    "version": 1,
    "sla": {"response_seconds": 10.0, "answer_within_hours": None, "availability_percent": 99.9},
    "input_schema": {
        "type": "object",
        "required": ["registration_number"],
        "properties": {
            "registration_number": {"type": "string", "pattern": "^BR-[0-9]{4}-[0-9]{6}$"}
        },
    },
    "output_schema": {
        "type": "object",
        "required": ["registration_number", "status", "checked_at"],
        "properties": {
            "registration_number": {"type": "string"},
            "status": {"type": "string", "enum": ["cleared", "arrears", "unknown"]},
            "certificate_number": {"type": ["string", "null"]},
            "checked_at": {"type": "string"},
        },
    },
    "used_by": [{"service": "open-a-restaurant", "version": 5, "kind": "step", "name": "tax"}],
}


@pytest.mark.parametrize("persona", ["sam", "priya", "ada", "omar", "hana"])
async def test_the_catalogue_lists_every_capability_with_its_terms_and_users(
    client: httpx.AsyncClient, persona: str
) -> None:
    listed = await client.get("/api/v1/capabilities", headers=as_persona(persona))
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()] == [
        "environment.screening",
        "labour.register_employer",
        "labour.update_employer_address",
        "local-admin.business_lookup",
        "local-admin.parcel_lookup",
        "local-admin.register_activity",
        "local-admin.update_business_address",
        "local-admin.zoning_check",
        "tax.clearance_check",
        "tax.taxpayer_lookup",
        "tax.update_address",
    ]
    one = await client.get("/api/v1/capabilities/tax.clearance_check", headers=as_persona(persona))
    assert one.status_code == 200
    assert one.json() == CLEARANCE


async def test_shared_capabilities_name_every_service_and_prefill(
    client: httpx.AsyncClient,
) -> None:
    zoning = await client.get(
        "/api/v1/capabilities/local-admin.zoning_check", headers=as_persona("sam")
    )
    lookup = await client.get(
        "/api/v1/capabilities/local-admin.business_lookup", headers=as_persona("sam")
    )
    screening = await client.get(
        "/api/v1/capabilities/environment.screening", headers=as_persona("sam")
    )
    assert zoning.json()["used_by"] == [
        {"service": "change-of-business-address", "version": 3, "kind": "step", "name": "zoning"},
        {"service": "open-a-restaurant", "version": 5, "kind": "step", "name": "zoning"},
    ]
    assert zoning.json()["connector"] == "soap"
    assert lookup.json()["used_by"] == [
        {"service": "open-a-restaurant", "version": 5, "kind": "prefill", "name": "business_name"},
        {"service": "open-a-restaurant", "version": 5, "kind": "prefill", "name": "director_name"},
        {"service": "open-a-restaurant", "version": 5, "kind": "step", "name": "business"},
    ]
    assert (screening.json()["asynchronous"], screening.json()["sla"]) == (
        True,
        {"response_seconds": 10.0, "answer_within_hours": 48.0, "availability_percent": 99.0},
    )


async def test_an_unknown_capability_is_a_problem(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/capabilities/tax.refund_vat", headers=as_persona("sam"))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["detail"] == "no department declares the capability 'tax.refund_vat'"
    page = await client.get(
        "/backoffice/capabilities/tax.refund_vat", headers={**HTML, **as_persona("sam")}
    )
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]


async def test_the_page_in_english_and_chinese(client: httpx.AsyncClient) -> None:
    english = await client.get("/backoffice/capabilities", headers={**HTML, **as_persona("priya")})
    chinese = await client.get("/backoffice/capabilities", headers={**ZH, **as_persona("priya")})
    assert english.status_code == chinese.status_code == 200
    assert '<h1 class="govuk-heading-l">Capability catalogue</h1>' in english.text
    assert '<a class="govuk-link" href="/backoffice/capabilities/tax.clearance_check">' in (
        english.text
    )
    assert '<h1 class="govuk-heading-l">能力目录</h1>' in chinese.text
    assert "税务局" in chinese.text
    assert "Capability catalogue" not in chinese.text

    detail = await client.get(
        "/backoffice/capabilities/environment.screening", headers={**ZH, **as_persona("priya")}
    )
    assert detail.status_code == 200
    for text in ("环境局", "10 秒内", "48 小时内", "输入契约", "输出契约", "使用该能力的服务"):
        assert text in detail.text, text
    assert '<td class="govuk-table__cell"><code>grease_trap</code></td>' in detail.text
    english_detail = await client.get(
        "/backoffice/capabilities/environment.screening", headers={**HTML, **as_persona("priya")}
    )
    assert "Within 10 seconds" in english_detail.text
    assert "Within 48 hours" in english_detail.text
    assert "Step screening" in english_detail.text


# -- a contract change that would break a published service ----------------------------------


def _copy_with(tmp_path: Path, department: str, change: Any) -> Path:
    """A copy of the demo blueprints with one department's capabilities changed."""
    target = tmp_path / "blueprints"
    shutil.copytree(PROJECT_ROOT / "blueprints", target)
    path = target / "departments" / f"{department}.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    change({c["id"]: c for c in raw["capabilities"]})
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return target


async def _registered(container: Container) -> tuple[dict[str, Any], int]:
    async with container.uow() as uow:
        definitions = {r.id: r.definition for r in await uow.session.scalars(select(DepartmentRow))}
        audited = await uow.session.scalar(
            select(func.count())
            .select_from(AuditEntryRow)
            .where(AuditEntryRow.action == "department.registered")
        )
    return definitions, int(audited or 0)


def _require_tax_office(caps: dict[str, Any]) -> None:
    schema = caps["tax.clearance_check"]["input_schema"]
    schema["required"].append("tax_office")
    schema["properties"]["tax_office"] = {"type": "string"}


def _staff_count_as_text(caps: dict[str, Any]) -> None:
    caps["labour.register_employer"]["input_schema"]["properties"]["staff_count"] = {
        "type": "string"
    }


def _no_allowed_flag(caps: dict[str, Any]) -> None:
    schema = caps["local-admin.zoning_check"]["output_schema"]
    del schema["properties"]["allowed"]
    schema["required"].remove("allowed")


def _no_parcel_input(caps: dict[str, Any]) -> None:
    schema = caps["tax.update_address"]["input_schema"]
    del schema["properties"]["parcel_id"]
    schema["required"].remove("parcel_id")


@pytest.mark.parametrize(
    ("department", "change", "expected"),
    [
        (
            "tax",
            _require_tax_office,
            [
                FieldError(
                    "tax.clearance_check.tax_office",
                    "breaks-published-service",
                    "'tax_office' is now required but open-a-restaurant v5 (step tax) "
                    "does not map it",
                )
            ],
        ),
        (
            "labour",
            _staff_count_as_text,
            [
                FieldError(
                    "labour.register_employer.staff_count",
                    "breaks-published-service",
                    "'staff_count' takes string but open-a-restaurant v5 (step employer) "
                    "maps integer",
                )
            ],
        ),
        (
            "local-admin",
            _no_allowed_flag,
            [
                FieldError(
                    "local-admin.zoning_check.allowed",
                    "breaks-published-service",
                    "change-of-business-address v3 (step zoning) reads the output 'allowed', "
                    "which is no longer produced",
                ),
                FieldError(
                    "local-admin.zoning_check.allowed",
                    "breaks-published-service",
                    "open-a-restaurant v5 (step zoning) reads the output 'allowed', "
                    "which is no longer produced",
                ),
            ],
        ),
        (
            "tax",
            _no_parcel_input,
            [
                FieldError(
                    "tax.update_address.parcel_id",
                    "breaks-published-service",
                    "change-of-business-address v3 (step tax_address) maps 'parcel_id', "
                    "which is no longer an input",
                )
            ],
        ),
    ],
)
async def test_a_contract_change_that_breaks_a_published_service_is_refused(
    container: Container,
    tmp_path: Path,
    department: str,
    change: Any,
    expected: list[FieldError],
) -> None:
    before = await _registered(container)
    changed = load_departments(_copy_with(tmp_path, department, change))

    with pytest.raises(ValidationFailed) as refused:
        await register_department_contracts(container.uow(), container.clock, changed)

    assert refused.value.detail == "a capability contract change would break published services"
    assert refused.value.errors == expected
    assert await _registered(container) == before


async def test_an_additive_contract_change_is_registered(
    container: Container, tmp_path: Path
) -> None:
    def add_office(caps: dict[str, Any]) -> None:
        cap = caps["tax.clearance_check"]
        cap["version"] = 2
        cap["input_schema"]["properties"]["tax_office"] = {"type": "string"}
        cap["output_schema"]["properties"]["valid_until"] = {"type": "string"}

    definitions, audited = await _registered(container)
    changed = load_departments(_copy_with(tmp_path, "tax", add_office))

    count = await register_department_contracts(container.uow(), container.clock, changed)

    after, audited_after = await _registered(container)
    assert count == 1
    assert audited_after == audited + 1
    (clearance,) = [c for c in after["tax"]["capabilities"] if c["id"] == "tax.clearance_check"]
    assert clearance["version"] == 2
    assert {k: v for k, v in after.items() if k != "tax"} == {
        k: v for k, v in definitions.items() if k != "tax"
    }


async def test_departments_sync_explains_the_refusal(
    container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blueprints = _copy_with(tmp_path, "tax", _require_tax_office)
    before = await _registered(container)
    monkeypatch.setenv("CIVICLOOM_PROFILE", "test")
    monkeypatch.setenv("CIVICLOOM_DATABASE_URL", container.settings.effective_database_url)
    monkeypatch.setenv("CIVICLOOM_VAR_DIR", str(container.settings.var_dir))
    monkeypatch.setenv("CIVICLOOM_BLUEPRINTS_DIR", str(blueprints))
    get_settings.cache_clear()
    try:  # the command runs its own event loop, so not on the test's loop
        result = await asyncio.to_thread(CliRunner().invoke, app, ["departments", "sync"])
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "a capability contract change would break published services",
        "  tax.clearance_check.tax_office: breaks-published-service 'tax_office' is now "
        "required but open-a-restaurant v5 (step tax) does not map it",
    ]
    assert await _registered(container) == before
