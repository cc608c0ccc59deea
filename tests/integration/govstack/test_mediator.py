"""Information Mediator metaservices on the listener, from the departments' capability catalogue
and the callers' grants (scopes, data-sharing agreements)."""

from __future__ import annotations

import json

import httpx
import pytest

from civicloom.app import create_app
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.govstack.conftest import MachineKey

TAX = "/civicloom/GOV/tax/capabilities"


async def test_list_clients_is_public_and_names_subsystems_only(
    gs_client: httpx.AsyncClient,
) -> None:
    listed = await gs_client.get("/listClients")
    assert listed.status_code == 200
    assert listed.json()["member"][5:] == [
        {
            "objectType": {"object_type": "SUBSYSTEM"},
            "GovStackInstance": "civicloom",
            "memberClass": "GOV",
            "memberCode": department,
            "applicationCode": "capabilities",
        }
        for department in ("environment", "labour", "local-admin", "tax")
    ]


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("alice", 403), ("bob", 403), ("tariq", 200), ("priya", 200)],
)
async def test_who_may_list_a_departments_methods(
    gs_client: httpx.AsyncClient, who: str, status: int
) -> None:
    headers = {} if who == "anonymous" else as_persona(who)
    listed = await gs_client.get(f"{TAX}/listMethods", headers=headers)
    assert listed.status_code == status


async def test_allowed_methods_follow_agreements_and_scopes(
    gs_client: httpx.AsyncClient, machine_key: MachineKey
) -> None:
    local_admin = await machine_key("messaging:send", department="local-admin")
    labour = await machine_key("applications:read", department="labour")

    async def codes(key: str, provider: str) -> list[str]:
        got = await gs_client.get(f"{provider}/allowedMethods", headers={"api_key": key})
        assert got.status_code == 200, got.text
        return [s["serviceCode"] for s in got.json()["member"]]

    # DSA-2025-102: local-admin reads the taxpayer register; labour has no agreement with tax
    assert await codes(local_admin, TAX) == ["tax.taxpayer_lookup"]
    assert await codes(labour, TAX) == []
    assert await codes(local_admin, "/civicloom/GOV/local-admin/capabilities") == [
        "local-admin.business_lookup",
        "local-admin.parcel_lookup",
    ]
    assert await codes(local_admin, "/civicloom/GOV/civicloom/messaging") == ["messaging"]
    assert await codes(labour, "/civicloom/GOV/civicloom/messaging") == []


async def test_get_open_api_builds_the_capabilitys_contract(
    gs_client: httpx.AsyncClient, machine_key: MachineKey
) -> None:
    key = await machine_key("applications:read")
    got = await gs_client.get(
        f"{TAX}/getOpenAPI",
        params={"serviceCode": "tax.taxpayer_lookup"},
        headers={"api_key": key},
    )
    assert got.status_code == 200, got.text
    contract = json.loads(got.json())
    operation = contract["paths"]["/api/v1/taxpayers/{registration_number}"]["get"]
    assert operation["parameters"] == [
        {
            "name": "registration_number",
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
        }
    ]
    assert "requestBody" not in operation
    refused = await gs_client.get(
        f"{TAX}/getOpenAPI",
        params={"serviceCode": "tax.taxpayer_lookup"},
        headers=as_persona("alice"),
    )
    assert refused.status_code == 403


async def test_a_facades_contract_lists_its_routes(
    gs_client: httpx.AsyncClient, machine_key: MachineKey
) -> None:
    key = await machine_key("payments:p2g")
    got = await gs_client.get(
        "/civicloom/GOV/civicloom/payments/getOpenAPI",
        params={"serviceCode": "payments"},
        headers={"api_key": key},
    )
    assert got.status_code == 200, got.text
    assert sorted(json.loads(got.json())["paths"]) == ["/billTransferRequests", "/bills/{billId}"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/other/GOV/tax/capabilities/listMethods", 404),
        ("/civicloom/GOV/tax/registers/listMethods", 404),
        ("/civicloom/GOV/nowhere/capabilities/listMethods", 404),
        ("/civicloom/GOV/_tax/capabilities/listMethods", 400),
    ],
)
async def test_unknown_or_malformed_providers(
    gs_client: httpx.AsyncClient, machine_key: MachineKey, path: str, status: int
) -> None:
    key = await machine_key("applications:read")
    got = await gs_client.get(path, headers={"api_key": key})
    assert got.status_code == status


async def test_the_facades_under_a_base_path_of_the_main_app(
    container: Container, machine_key: MachineKey
) -> None:
    """``govstack_base_path``: the same facades on the main app, with its native statuses."""
    container.settings = container.settings.model_copy(update={"govstack_base_path": "/govstack"})
    key = await machine_key("messaging:send")
    app = create_app(container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as main:
        listed = await main.get("/govstack/listClients")
        methods = await main.get(f"/govstack{TAX}/listMethods", headers={"api_key": key})
        anonymous = await main.post("/govstack/send/email/single", json={})
    assert (listed.status_code, methods.status_code, anonymous.status_code) == (200, 200, 401)
