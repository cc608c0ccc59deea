"""Information Mediator metaservices conformance (specs/govstack/information-mediator and what
the published bb-information-mediator suite checks): ``listClients``, ``listMethods``,
``allowedMethods``, ``getOpenAPI``, identifiers ``INSTANCE/CLASS/MEMBER/SUBSYSTEM``."""

from __future__ import annotations

import json

import httpx
import pytest

JSON_UTF8 = "application/json; charset=utf-8"
SUBSYSTEM_KEYS = {"objectType", "GovStackInstance", "memberClass", "memberCode", "applicationCode"}
SERVICE_KEYS = SUBSYSTEM_KEYS | {"serviceType", "serviceCode", "serviceVersion", "endpointList"}


def test_list_clients_names_every_subsystem(gs: httpx.Client) -> None:
    answer = gs.get("/listClients", params={"serviceId": "serviceId1", "instanceId": "civicloom"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == JSON_UTF8
    members = answer.json()["member"]
    assert all(set(m) == SUBSYSTEM_KEYS for m in members)
    assert all(m["objectType"] == {"object_type": "SUBSYSTEM"} for m in members)
    assert [(m["memberCode"], m["applicationCode"]) for m in members] == [
        ("civicloom", "mediator"),
        ("civicloom", "messaging"),
        ("civicloom", "payments"),
        ("civicloom", "registration"),
        ("civicloom", "registries"),
        ("environment", "capabilities"),
        ("labour", "capabilities"),
        ("local-admin", "capabilities"),
        ("tax", "capabilities"),
    ]
    assert {(m["GovStackInstance"], m["memberClass"]) for m in members} == {("civicloom", "GOV")}


def test_list_clients_of_another_instance_is_empty(gs: httpx.Client) -> None:
    answer = gs.get("/listClients", params={"instanceId": "instanceId1"})
    assert answer.status_code == 200
    assert answer.json() == {"member": []}


@pytest.mark.parametrize("prefix", ["", "/r1"])
def test_list_methods_of_a_department(
    gs: httpx.Client, im_headers: dict[str, str], prefix: str
) -> None:
    answer = gs.get(f"{prefix}/civicloom/GOV/tax/capabilities/listMethods", headers=im_headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == JSON_UTF8
    services = answer.json()["member"]
    assert all(set(s) == SERVICE_KEYS for s in services)
    assert [(s["serviceCode"], s["endpointList"]["member"]) for s in services] == [
        ("tax.clearance_check", [{"method": "POST", "path": "/api/v1/clearance-checks"}]),
        (
            "tax.taxpayer_lookup",
            [{"method": "GET", "path": "/api/v1/taxpayers/{registration_number}"}],
        ),
        (
            "tax.update_address",
            [
                {
                    "method": "POST",
                    "path": "/api/v1/taxpayers/{registration_number}/address-changes",
                }
            ],
        ),
    ]


def test_list_methods_needs_a_caller(gs: httpx.Client) -> None:
    answer = gs.get("/civicloom/GOV/tax/capabilities/listMethods")
    assert answer.status_code == 401


def test_allowed_methods_are_the_callers_grants(
    gs: httpx.Client, im_headers: dict[str, str]
) -> None:
    # the conformance subsystem is a local-admin client: DSA-2025-102 lets it read the taxpayer
    tax = gs.get("/civicloom/GOV/tax/capabilities/allowedMethods", headers=im_headers)
    assert tax.status_code == 200, tax.text
    assert tax.headers["content-type"] == JSON_UTF8
    assert [s["serviceCode"] for s in tax.json()["member"]] == ["tax.taxpayer_lookup"]
    # its key holds mediator:read, not messaging:send
    messaging = gs.get("/civicloom/GOV/civicloom/messaging/allowedMethods", headers=im_headers)
    assert messaging.json() == {"member": []}


def test_allowed_methods_of_the_messaging_client(gs: httpx.Client, api_key: str) -> None:
    answer = gs.get(
        "/civicloom/GOV/civicloom/messaging/allowedMethods", headers={"api_key": api_key}
    )
    assert answer.status_code == 200
    [service] = answer.json()["member"]
    assert service["serviceCode"] == "messaging"
    assert sorted((e["method"], e["path"]) for e in service["endpointList"]["member"]) == [
        ("GET", "/status/email"),
        ("POST", "/callback/email"),
        ("POST", "/send/email/batch"),
        ("POST", "/send/email/single"),
    ]


@pytest.mark.parametrize(
    "provider",
    ["identifier/identifier/alp4aNum3r1c/alp4aNum3r1c", "civicloom/GOV/tax/capabilities"],
)
def test_an_anonymous_caller_is_allowed_nothing(gs: httpx.Client, provider: str) -> None:
    answer = gs.get(f"/{provider}/allowedMethods", params={"serviceId": "serviceId1"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == JSON_UTF8
    assert answer.json() == {"member": []}


@pytest.mark.parametrize("prefix", ["", "/r1"])
def test_get_open_api_of_a_capability(
    gs: httpx.Client, im_headers: dict[str, str], prefix: str
) -> None:
    answer = gs.get(
        f"{prefix}/civicloom/GOV/tax/capabilities/getOpenAPI",
        params={"serviceCode": "tax.clearance_check"},
        headers=im_headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == JSON_UTF8
    assert isinstance(answer.json(), str)
    contract = json.loads(answer.json())
    assert contract["openapi"] == "3.0.3"
    operation = contract["paths"]["/api/v1/clearance-checks"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["registration_number"]
    answer_schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer_schema["properties"]["status"]["enum"] == ["cleared", "arrears", "unknown"]


@pytest.mark.parametrize(
    ("provider", "field"),
    [
        ("1nval1d/GOV/tax/capabilities", "instanceId"),
        ("civicloom/1nval1d/tax/capabilities", "memberClass"),
        ("civicloom/GOV/_invalid/capabilities", "memberCode"),
        ("civicloom/GOV/tax/_invalid", "applicationCode"),
    ],
)
def test_get_open_api_of_a_malformed_provider_is_400(
    gs: httpx.Client, im_headers: dict[str, str], provider: str, field: str
) -> None:
    answer = gs.get(
        f"/{provider}/getOpenAPI", params={"serviceCode": "alp4aNum3r1c"}, headers=im_headers
    )
    assert answer.status_code == 400
    assert [e["field"] for e in answer.json()["errors"]] == [field]


@pytest.mark.parametrize("params", [{"serviceCode": "_invalid"}, {"serviceCode": ""}, {}])
def test_get_open_api_without_a_valid_service_code_is_400(
    gs: httpx.Client, im_headers: dict[str, str], params: dict[str, str]
) -> None:
    answer = gs.get("/civicloom/GOV/tax/capabilities/getOpenAPI", params=params, headers=im_headers)
    assert answer.status_code == 400
    assert [e["field"] for e in answer.json()["errors"]] == ["serviceCode"]


def test_get_open_api_of_an_unknown_provider_or_service_is_404(
    gs: httpx.Client, im_headers: dict[str, str]
) -> None:
    unknown_provider = gs.get(
        "/identifier/identifier/alp4aNum3r1c/alp4aNum3r1c/getOpenAPI",
        params={"serviceCode": "alp4aNum3r1c"},
        headers=im_headers,
    )
    unknown_service = gs.get(
        "/civicloom/GOV/tax/capabilities/getOpenAPI",
        params={"serviceCode": "tax.nothing"},
        headers=im_headers,
    )
    assert (unknown_provider.status_code, unknown_service.status_code) == (404, 404)


def test_get_open_api_needs_a_caller(gs: httpx.Client) -> None:
    answer = gs.get(
        "/civicloom/GOV/tax/capabilities/getOpenAPI", params={"serviceCode": "tax.clearance_check"}
    )
    assert answer.status_code == 401


def test_a_malformed_im_client_header_is_named(gs: httpx.Client) -> None:
    answer = gs.get(
        "/civicloom/GOV/tax/capabilities/listMethods",
        headers={"Information-Mediator-Client": "eGovStack/GOV"},
    )
    assert answer.status_code == 400
    assert [e["field"] for e in answer.json()["errors"]] == ["Information-Mediator-Client"]


def test_an_unregistered_im_client_is_nobody(gs: httpx.Client) -> None:
    answer = gs.get(
        "/civicloom/GOV/tax/capabilities/listMethods",
        headers={"Information-Mediator-Client": "civicloom/GOV/nobody/unknown"},
    )
    assert answer.status_code == 401
